import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { TokenLedger } from '../../src/core/auth/oauthTokens';
import type { Principal } from '../../src/core/auth/principal';
import { Gatehouse } from '../../src/core/gatehouse';
import { Gateway } from '../../src/core/gateway/gateway';
import { UpstreamOAuthStore } from '../../src/core/upstreams/upstreamAuth';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { answerConsent, browseAuthorization } from '../helpers/oauthTestKit';
import { freePort } from '../helpers/ports';

const CLI = path.join(REPO_ROOT, 'dist/cli.js');

interface Integration {
  name: string;
  status: string;
  error?: string;
  tools: string[];
}

async function integration(client: Client, name: string): Promise<Integration | undefined> {
  const result = (await client.callTool({ name: 'list_integrations', arguments: {} })) as CallToolResult;
  return (result.structuredContent as { integrations: Integration[] }).integrations.find((i) => i.name === name);
}

async function statusBecomes(client: Client, name: string, status: string): Promise<Integration> {
  let found: Integration | undefined;
  await until(async () => (found = await integration(client, name))?.status === status, 50);
  return found!;
}

/**
 * Runs the real `gatehouse login <server>` against the gateway on `port`, and plays the human's
 * browser: opens the printed URL, lets `browse` get through the provider's pages, and follows the
 * redirect back to the gateway's callback.
 */
async function login(home: string, port: number, server: string, browse: (url: string) => Promise<URL>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'login', server], { env: { ...process.env, GATEHOUSE_HOME: home, GATEHOUSE_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = new RegExp(`^Open this URL to sign in to ${server}: (\\S+)$`, 'm').exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`gatehouse login exited ${code} before printing a URL: ${stderr}`)));
  });
  const callback = await browse(url);
  assert.equal(callback.origin, `http://127.0.0.1:${port}`, 'the provider sends the browser back to the gateway itself');
  const landing = await fetch(callback);
  assert.match(await landing.text(), new RegExp(`Signed in to ${server}`));
  return { code: await exited, stdout, stderr };
}

/** Runs the CLI without blocking this process, which also serves the upstream the CLI may talk to. */
function cli(home: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, GATEHOUSE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** A new Gatehouse on the same home (a restart): the key on disk still works. */
async function restartGatehouse(home: string, key: string, previous?: TestGatehouse): Promise<TestGatehouse> {
  await previous?.close();
  const gatehouse = new Gatehouse({ home, port: 0 });
  await gatehouse.start();
  return { gatehouse, home, key, url: gatehouse.gateway.url, close: () => gatehouse.stop() };
}

function callResult(result: unknown): { status?: string; message?: string; reason?: string } & Record<string, unknown> {
  return ((result as CallToolResult).structuredContent ?? {}) as { status?: string; message?: string };
}

describe('Gatehouse signs in to an OAuth-protected upstream: a second Gatehouse (its own authorization server)', function () {
  this.timeout(60_000);
  let upstreamHome: string;
  let upstream: Gateway;
  let broker: ConsentBroker;
  let consent: ReturnType<typeof answerConsent>;
  const upstreamPrincipals: Principal[] = [];
  let th: TestGatehouse;
  let agentA: Client;
  let agentB: Client;

  before(async () => {
    assert.ok(fs.existsSync(CLI), 'run `npm run build` first: the test runs dist/cli.js');
    upstreamHome = tempDir('gatehouse-upstream-');
    broker = new ConsentBroker();
    // Two-second access tokens, so that the downstream gateway must refresh within the test.
    const service = new OAuthService({ home: upstreamHome, consent: broker, accessTokenLifetimeSeconds: 2 });
    upstream = new Gateway({ home: upstreamHome, port: 0, ...oauthGatewayOptions(service) });
    upstream.on('sessionOpened', (session) => upstreamPrincipals.push(session.principal));
    await upstream.start();
    // The upstream's human: allows the sign-in when its consent prompt appears.
    consent = answerConsent(broker, 'allow');
    th = await startTestGatehouse({ servers: { up: { type: 'http', url: upstream.url } }, policy: { rules: [{ tool: 'up__*', decision: 'allow' }] } });
    agentA = await connectClient(th.url, th.key, 'agent-a');
    agentB = await connectClient(th.url, th.gatehouse.gateway.apiKeys.create('agent-b'), 'agent-b');
  });

  after(async () => {
    consent.stop();
    await agentA?.close();
    await agentB?.close();
    await th?.close();
    await upstream?.stop();
  });

  it('shows the upstream as needs sign-in, and refuses a call of its tools with the reason in structuredContent', async () => {
    const state = await statusBecomes(agentA, 'up', 'needs-sign-in');
    assert.deepEqual(state.tools, []);
    const refused = await agentA.callTool({ name: 'up__demo__echo', arguments: { text: 'hi' } });
    assert.equal(refused.isError, true);
    const content = callResult(refused);
    assert.equal(content.status, 'needs_sign_in');
    assert.match(content.message!, /The human must sign in to up in the editor .* or with `gatehouse login up`; this call was not run/);
    assert.doesNotMatch(JSON.stringify(refused), /authorize|https?:\/\//, 'the agent never gets a sign-in URL');
    const listed = await cli(th.home, ['servers', 'list']);
    assert.match(listed.stdout, /^up\thttp\thttp:\/\/127\.0\.0\.1:\d+\/mcp\tneeds sign-in \(gatehouse login up\)$/m);
  });

  it('signs in with `gatehouse login` (a running gateway gets the callback), lists the tools, and both agents share the one sign-in', async () => {
    const result = await login(th.home, th.gatehouse.gateway.port, 'up', (url) => browseAuthorization(url));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Signed in to up\. The running gateway is connecting to it\.$/m);
    const state = await statusBecomes(agentA, 'up', 'ready');
    assert.ok(state.tools.includes('up__demo__echo'));
    for (const [agent, text] of [
      [agentA, 'from a'],
      [agentB, 'from b'],
    ] as const) {
      const echoed = (await agent.callTool({ name: 'up__demo__echo', arguments: { text } })) as CallToolResult;
      assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
      assert.match(JSON.stringify(echoed.content), new RegExp(text));
    }
    assert.equal(consent.requests.length, 1, 'one sign-in, asked once, for every agent');
    assert.equal(consent.requests[0]!.clientName, 'Gatehouse');
    // Token passthrough rule: the upstream only ever saw Gatehouse's own OAuth client, never an agent's key.
    assert.ok(upstreamPrincipals.length > 0);
    for (const principal of upstreamPrincipals) assert.equal(principal.kind, 'oauth', JSON.stringify(principal));
    const store = new UpstreamOAuthStore(th.home, 'up', upstream.url);
    assert.equal(fs.statSync(store.path).mode & 0o777, 0o600);
    const servers = fs.readFileSync(path.join(th.home, 'servers.json'), 'utf8');
    const stored = store.read().tokens as { access_token: string; refresh_token: string };
    assert.ok(!servers.includes(stored.access_token) && !servers.includes(stored.refresh_token), 'no token in servers.json');
    assert.ok(!JSON.stringify(await agentA.callTool({ name: 'list_integrations', arguments: {} })).includes(stored.access_token), 'no token reaches an agent');
  });

  it('refreshes the access token before it expires, rotating the refresh token, and keeps serving calls', async () => {
    const store = new UpstreamOAuthStore(th.home, 'up', upstream.url);
    const first = (store.read().tokens as { refresh_token: string }).refresh_token;
    await until(() => (store.read().tokens as { refresh_token?: string } | undefined)?.refresh_token !== first, 100);
    const second = (store.read().tokens as { refresh_token: string }).refresh_token;
    assert.ok(second && second !== first, 'the refresh token was rotated');
    // The first access token has expired by now (two seconds), yet the call runs.
    await until(() => Date.now() > Date.parse(store.read().tokensExpireAt!) - 1000, 100);
    const echoed = (await agentA.callTool({ name: 'up__demo__echo', arguments: { text: 'after refresh' } })) as CallToolResult;
    assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
  });

  it('goes back to needs sign-in when the provider revokes the sign-in (the refresh is refused)', async () => {
    const clientId = (new UpstreamOAuthStore(th.home, 'up', upstream.url).read().client as { client_id: string }).client_id;
    new TokenLedger(upstreamHome).revokeClient(clientId);
    const state = await statusBecomes(agentA, 'up', 'needs-sign-in');
    // The provider's invalid_grant, not a generic "asks for a sign-in": the refusal was understood.
    assert.match(state.error!, /the provider refused the stored sign-in/);
    const refused = await agentB.callTool({ name: 'up__demo__echo', arguments: { text: 'x' } });
    assert.equal(callResult(refused).status, 'needs_sign_in');
  });

  it('keeps a new sign-in across a gateway restart, without asking again', async () => {
    const result = await login(th.home, th.gatehouse.gateway.port, 'up', (url) => browseAuthorization(url));
    assert.equal(result.code, 0, result.stderr);
    await statusBecomes(agentA, 'up', 'ready');
    const asked = consent.requests.length;
    const home = th.home;
    await agentA.close();
    await agentB.close();
    await th.close();
    th = await restartGatehouse(home, th.key);
    agentA = await connectClient(th.url, th.key, 'agent-a');
    agentB = await connectClient(th.url, th.key, 'agent-b');
    await statusBecomes(agentA, 'up', 'ready');
    const echoed = (await agentA.callTool({ name: 'up__demo__echo', arguments: { text: 'after restart' } })) as CallToolResult;
    assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
    assert.equal(consent.requests.length, asked, 'no new consent');
  });

  it('`gatehouse logout` revokes the tokens at the provider (RFC 7009) and forgets them', async () => {
    const store = new UpstreamOAuthStore(th.home, 'up', upstream.url);
    const refreshToken = (store.read().tokens as { refresh_token: string }).refresh_token;
    const record = new TokenLedger(upstreamHome).findRefreshToken(refreshToken);
    assert.ok(record, 'the upstream knows the refresh token');
    const out = await cli(th.home, ['logout', 'up']);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^Signed out of up: the provider revoked the tokens\.$/m);
    // Forgotten, even if a refresh of the running gateway was under way at that moment.
    assert.equal(store.read().tokens, undefined);
    assert.equal(store.read().client, undefined);
    // Rotation keeps a family's records; only revocation removes them all.
    const ledger = JSON.parse(fs.readFileSync(path.join(upstreamHome, 'oauth-tokens.json'), 'utf8')) as { refreshTokens: { familyId: string }[] };
    assert.equal(ledger.refreshTokens.filter((r) => r.familyId === record.familyId).length, 0, 'the sign-in is revoked at the provider');
    await statusBecomes(agentA, 'up', 'needs-sign-in');
    assert.equal(store.read().tokens, undefined);
  });
});

describe("Gatehouse signs in to the SDK's own OAuth example server (simpleStreamableHttp --oauth)", function () {
  this.timeout(60_000);
  let server: ChildProcess;
  let url: string;
  let th: TestGatehouse;

  before(async () => {
    const mcpPort = await freePort();
    const authPort = await freePort();
    url = `http://localhost:${mcpPort}/mcp`;
    const example = path.join(REPO_ROOT, 'node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js');
    server = spawn(process.execPath, [example, '--oauth'], { env: { ...process.env, MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('MCP Streamable HTTP Server listening') && output.includes('OAuth Authorization Server listening')) resolve();
      };
      server.stdout!.on('data', onData);
      server.stderr!.on('data', onData);
      server.on('exit', (code) => reject(new Error(`the example exited ${code}: ${output}`)));
    });
  });

  after(async () => {
    await th?.close();
    server?.kill();
  });

  it('signs in once (dynamic registration, PKCE), serves its tools, and keeps the sign-in across a restart', async () => {
    th = await startTestGatehouse({ servers: { sdk: { type: 'http', url } }, policy: { rules: [{ tool: 'sdk__*', decision: 'allow' }] } });
    let agent = await connectClient(th.url, th.key);
    await statusBecomes(agent, 'sdk', 'needs-sign-in');
    // The demo provider signs the "user" in at once and redirects straight back.
    const result = await login(th.home, th.gatehouse.gateway.port, 'sdk', async (authorizationUrl) => {
      const response = await fetch(authorizationUrl, { redirect: 'manual' });
      assert.equal(response.status, 302);
      return new URL(response.headers.get('location')!);
    });
    assert.equal(result.code, 0, result.stderr);
    const state = await statusBecomes(agent, 'sdk', 'ready');
    assert.ok(state.tools.includes('sdk__greet'), JSON.stringify(state));
    const greeted = (await agent.callTool({ name: 'sdk__greet', arguments: { name: 'Ada' } })) as CallToolResult;
    assert.match(JSON.stringify(greeted.content), /Hello, Ada!/);
    await agent.close();
    th = await restartGatehouse(th.home, th.key, th);
    agent = await connectClient(th.url, th.key);
    await statusBecomes(agent, 'sdk', 'ready');
    const again = (await agent.callTool({ name: 'sdk__greet', arguments: { name: 'Grace' } })) as CallToolResult;
    assert.match(JSON.stringify(again.content), /Hello, Grace!/);
    await agent.close();
  });
});
