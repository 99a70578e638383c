import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import type { Principal } from '../../src/core/auth/principal';
import { Gateway } from '../../src/core/gateway/gateway';
import { assistantMessage, functionCall, functionOutputs, MockModel } from '../helpers/mockModel';
import { answerConsent, browseAuthorization, tempHome } from '../helpers/oauthTestKit';

const CODEX = path.resolve(__dirname, '../../node_modules/.bin/codex');

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

function runCodex(args: string[], env: NodeJS.ProcessEnv, cwd: string): Run {
  const child = spawn(CODEX, args, { env, cwd, stdio: 'pipe' });
  // `codex exec` would otherwise wait for a prompt on an open stdin.
  child.stdin.end();
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForOutput(run: Run, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(run.output());
    if (match) return match;
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`codex did not print ${pattern}; it printed:\n${run.output()}`);
}

describe('the real Codex CLI signs in to Gatehouse with OAuth', function () {
  this.timeout(180_000);
  const home = tempHome('gatehouse-codex-oauth-');
  const codexHome = path.join(home, 'codex-home');
  const userHome = path.join(home, 'user-home');
  const workdir = path.join(home, 'work');
  const env: NodeJS.ProcessEnv = { ...process.env, CODEX_HOME: codexHome, HOME: userHome, RUST_LOG: 'error', NO_COLOR: '1' };
  delete env.OPENAI_API_KEY;
  let gateway: Gateway;
  let broker: ConsentBroker;
  let service: OAuthService;
  let model: MockModel | undefined;
  const principals: Principal[] = [];

  before(async () => {
    for (const dir of [codexHome, userHome, workdir]) fs.mkdirSync(dir, { recursive: true });
    broker = new ConsentBroker();
    // Short-lived access tokens, so the exec below has to refresh first, as Codex would an hour later.
    service = new OAuthService({ home: path.join(home, 'gatehouse'), consent: broker, accessTokenLifetimeSeconds: 2 });
    gateway = new Gateway({ home: path.join(home, 'gatehouse'), port: 0, ...oauthGatewayOptions(service) });
    gateway.on('sessionOpened', (session) => principals.push(session.principal));
    await gateway.start();
  });

  after(async () => {
    await gateway.stop();
    await model?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('runs `codex mcp login gatehouse` headless: URL, consent in the editor channel, "Successfully logged in"', async () => {
    // Only the url: Codex discovers everything else from the gateway's 401 and metadata.
    fs.writeFileSync(path.join(codexHome, 'config.toml'), `[mcp_servers.gatehouse]\nurl = "${gateway.url}"\n`);
    const consent = answerConsent(broker, 'allow');
    const login = runCodex(['mcp', 'login', 'gatehouse', '-c', 'mcp_oauth_credentials_store="file"'], env, workdir);
    try {
      const printed = await waitForOutput(login, /^(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m);
      const callback = await browseAuthorization(printed[1]!);
      assert.match(callback.href, /^http:\/\/127\.0\.0\.1:\d+\/callback/);
      assert.ok(callback.searchParams.get('code'));
      const landing = await fetch(callback);
      assert.equal(landing.status, 200);
      assert.equal(await login.exited, 0, login.output());
    } finally {
      login.child.kill();
      consent.stop();
    }
    assert.match(login.output(), /Successfully logged in/);
    assert.equal(consent.requests.length, 1);
    assert.equal(consent.requests[0]!.clientName, 'Codex');
    const credentials = path.join(codexHome, '.credentials.json');
    assert.ok(fs.existsSync(credentials), 'Codex stored the token in its file store');
  });

  it('lets `codex exec` refresh the expired token and call list_integrations through the gateway', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const tokensBefore = fs.readFileSync(path.join(home, 'gatehouse', 'oauth-tokens.json'), 'utf8');
    model = new MockModel([
      [functionCall('mcp__gatehouse', 'list_integrations', {}, 'call_1')],
      (request) => {
        const output = functionOutputs(request).get('call_1');
        return [assistantMessage(`list_integrations answered: ${JSON.stringify(output).slice(0, 200)}`)];
      },
    ]);
    await model.start();
    fs.writeFileSync(
      path.join(codexHome, 'config.toml'),
      `${model.codexConfig()}\n[mcp_servers.gatehouse]\nurl = "${gateway.url}"\ndefault_tools_approval_mode = "approve"\n`,
    );
    // No consent hook now: a prompt here would mean the stored token was not used.
    const exec = runCodex(
      ['exec', '--json', '--skip-git-repo-check', '-c', 'mcp_oauth_credentials_store="file"', 'List my integrations through Gatehouse.'],
      env,
      workdir,
    );
    const code = await Promise.race([exec.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 120_000))]);
    if (code === 'timeout') exec.child.kill();
    assert.equal(code, 0, exec.output());
    const events = exec
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; item?: Record<string, unknown> });
    const toolCall = events.find((event) => event.type === 'item.completed' && event.item?.type === 'mcp_tool_call');
    assert.ok(toolCall, `no mcp_tool_call in:\n${exec.output()}`);
    assert.equal(toolCall.item!.server, 'gatehouse');
    assert.equal(toolCall.item!.tool, 'list_integrations');
    assert.equal(toolCall.item!.status, 'completed', JSON.stringify(toolCall.item));
    assert.ok(functionOutputs(model.requests[1]!).has('call_1'), 'the tool result went back to the model');
    assert.ok(principals.some((principal) => principal.kind === 'oauth' && principal.clientName === 'Codex'), 'the session belongs to the OAuth client Codex');
    assert.equal(broker.pending().length, 0);
    const ledger = JSON.parse(fs.readFileSync(path.join(home, 'gatehouse', 'oauth-tokens.json'), 'utf8')) as {
      refreshTokens: { usedAt?: number }[];
      revokedFamilies: unknown[];
    };
    assert.notEqual(JSON.stringify(ledger), tokensBefore);
    assert.ok(ledger.refreshTokens.some((token) => token.usedAt !== undefined), 'Codex rotated its refresh token');
    // With 2-second tokens Codex refreshes before most requests; none of that may look like a replay.
    assert.ok(ledger.refreshTokens.length >= 2);
    assert.deepEqual(ledger.revokedFamilies, [], 'rotation never tripped reuse detection');
    assert.ok(service.listClients()[0]?.lastUsedAt);
  });
});
