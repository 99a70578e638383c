import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConsentBroker, type ConsentDecision } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { Gatehouse } from '../../src/core/gatehouse';
import { Gateway } from '../../src/core/gateway/gateway';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { answerConsent, browseAuthorization } from '../helpers/oauthTestKit';

// What the human sees when a sign-in to an upstream goes wrong, tried for real: the README's
// "When it goes wrong" table is written from these. The upstream is a second Gatehouse (its own
// authorization server); `gatehouse login` is the real CLI; the test plays the browser.
const CLI = path.join(REPO_ROOT, 'dist/cli.js');

interface LoginRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `gatehouse login`, hands the printed URL to `browse` (the browser), and waits for the CLI
 * to exit; when `browse` answers "stop", the human gave up and presses Ctrl-C.
 */
async function login(home: string, port: number, server: string, browse: (url: string) => Promise<'stop' | void>): Promise<LoginRun> {
  const child = spawn(process.execPath, [CLI, 'login', server], { env: { ...process.env, GATEHOUSE_HOME: home, GATEHOUSE_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close', not 'exit': the output is complete only when the pipes have closed.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string | undefined>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = new RegExp(`^Open this URL to sign in to ${server}: (\\S+)$`, 'm').exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => resolve(undefined));
  });
  if (!url || (await browse(url)) === 'stop') child.kill('SIGINT');
  return { code: await exited, stdout, stderr };
}

async function status(client: Client, name: string): Promise<{ status: string; error?: string }> {
  const result = (await client.callTool({ name: 'list_integrations', arguments: {} })) as CallToolResult;
  return (result.structuredContent as { integrations: { name: string; status: string; error?: string }[] }).integrations.find((i) => i.name === name)!;
}

async function statusBecomes(client: Client, name: string, wanted: string): Promise<{ status: string; error?: string }> {
  let found: { status: string; error?: string } | undefined;
  await until(async () => (found = await status(client, name)).status === wanted, 50);
  return found!;
}

async function startUpstream(decision: ConsentDecision, lifetimes: { accessTokenLifetimeSeconds?: number; refreshTokenLifetimeMs?: number } = {}): Promise<{ gateway: Gateway; stop(): Promise<void> }> {
  const home = tempDir('gatehouse-upstream-');
  const broker = new ConsentBroker();
  const gateway = new Gateway({ home, port: 0, ...oauthGatewayOptions(new OAuthService({ home, consent: broker, ...lifetimes })) });
  await gateway.start();
  const consent = answerConsent(broker, decision);
  return {
    gateway,
    stop: async () => {
      consent.stop();
      await gateway.stop();
    },
  };
}

describe('what the human sees when a sign-in to an upstream fails', function () {
  this.timeout(60_000);
  const cleanups: Array<() => Promise<void>> = [];

  before(() => assert.ok(fs.existsSync(CLI), 'run `npm run build` first: the test runs dist/cli.js'));

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(upstreamUrl: string, oauth?: Record<string, unknown>): Promise<{ th: TestGatehouse; agent: Client }> {
    const th = await startTestGatehouse({ servers: { up: { type: 'http', url: upstreamUrl, ...(oauth ? { oauth } : {}) } }, policy: { rules: [{ tool: 'up__*', decision: 'allow' }] } });
    const agent = await connectClient(th.url, th.key, 'agent');
    // A test that restarts the gateway has closed these already.
    cleanups.push(async () => {
      await agent.close().catch(() => undefined);
      await th.close().catch(() => undefined);
    });
    return { th, agent };
  }

  it('denied consent: the page and `gatehouse login` say so, and the server stays needs sign-in', async () => {
    const upstream = await startUpstream('deny');
    cleanups.push(upstream.stop);
    const { th, agent } = await setUp(upstream.gateway.url);
    await statusBecomes(agent, 'up', 'needs-sign-in');
    let page = '';
    const run = await login(th.home, th.gatehouse.gateway.port, 'up', async (url) => {
      const landing = await fetch(await browseAuthorization(url));
      page = await landing.text();
    });
    assert.match(page, /Sign-in did not complete/);
    assert.match(page, /The sign-in to up did not complete \(consent was denied\)/);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /The sign-in to up did not complete \(consent was denied\)/);
    assert.equal((await status(agent, 'up')).status, 'needs-sign-in');
  });

  it('a wrong client id: the provider shows its own error page and never sends the browser back', async () => {
    const upstream = await startUpstream('allow');
    cleanups.push(upstream.stop);
    const { th } = await setUp(upstream.gateway.url, { clientId: 'not-registered-here' });
    let providerPage = '';
    const run = await login(th.home, th.gatehouse.gateway.port, 'up', async (url) => {
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, 400);
      providerPage = await response.text();
      return 'stop';
    });
    assert.match(run.stdout, /Waiting for the browser/, `login says what it waits for, and how to stop: ${JSON.stringify(run)}`);
    assert.match(providerPage, /Unknown client/);
    assert.equal(run.code, null, 'gatehouse login was still waiting for the browser when the human stopped it');
  });

  it('an expired refresh token (Gatehouse was off longer than it lives): back to needs sign-in, and a call says who must do what', async () => {
    // Refresh tokens that live three seconds; a running gateway keeps rotating them, so they
    // expire only while no gateway runs (a laptop closed for longer than the provider allows).
    const upstream = await startUpstream('allow', { accessTokenLifetimeSeconds: 1, refreshTokenLifetimeMs: 3_000 });
    cleanups.push(upstream.stop);
    const { th, agent } = await setUp(upstream.gateway.url);
    await statusBecomes(agent, 'up', 'needs-sign-in');
    const run = await login(th.home, th.gatehouse.gateway.port, 'up', async (url) => {
      await (await fetch(await browseAuthorization(url))).text();
    });
    assert.equal(run.code, 0, run.stderr);
    await statusBecomes(agent, 'up', 'ready');
    await agent.close();
    await th.close();
    const stoppedAt = Date.now();
    await until(() => Date.now() > stoppedAt + 3_500, 100);
    const later = new Gatehouse({ home: th.home, port: 0 });
    await later.start();
    const again = await connectClient(later.gateway.url, th.key, 'agent');
    cleanups.push(async () => {
      await again.close();
      await later.stop();
    });
    const back = await statusBecomes(again, 'up', 'needs-sign-in');
    assert.match(back.error!, /refused the stored sign-in \(it expired or was revoked\)/);
    const refused = (await again.callTool({ name: 'up__demo__echo', arguments: { text: 'x' } })) as CallToolResult;
    const content = refused.structuredContent as { status: string; message: string };
    assert.equal(content.status, 'needs_sign_in');
    assert.match(content.message, /The human must sign in to up in the editor .* or with `gatehouse login up`; this call was not run/);
  });
});
