import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ApiKeyStore } from '../../src/core/auth/apiKeys';
import { Gateway, PortInUseError } from '../../src/core/gateway/gateway';
import { ConfigFileError } from '../../src/core/store/files';
import {
  connectClient,
  crashyServer,
  everythingServer,
  fileAppears,
  startHttpUpstream,
  rawRequest,
  startTestGatehouse,
  startTestGateway,
  tempDir,
  until,
  writeServers,
  type TestGateway,
} from '../helpers/gatewayHarness';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema)) as CallToolResult;
}

describe('gateway: upstreams and the tool catalog', function () {
  let http: Awaited<ReturnType<typeof startHttpUpstream>>;
  let gw: TestGateway;
  let client: Client;

  before(async function () {
    http = await startHttpUpstream((server) => {
      server.registerTool('fails', { description: 'Always fails', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'upstream said no' }], isError: true }));
      server.registerTool(
        'weather',
        { description: 'Weather for a city', inputSchema: { city: z.string() }, outputSchema: { city: z.string(), celsius: z.number() }, annotations: { readOnlyHint: true } },
        async ({ city }) => ({ content: [{ type: 'text', text: `${city}: 21C` }], structuredContent: { city, celsius: 21 } }),
      );
    });
    gw = await startTestGateway({ servers: { everything: everythingServer(), web: { type: 'http', url: http.url }, demo: { type: 'stdio', command: process.execPath, args: ['-e', ''] }, ghost: { type: 'stdio', command: '/nonexistent/mcp-server' } } });
    client = await connectClient(gw.url, gw.key);
  });

  after(async function () {
    await client?.close();
    await gw?.close();
    await http?.close();
  });

  it('lists upstream tools as <server>__<tool>, keeping schemas, annotations and descriptions', async function () {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('list_integrations'));
    assert.ok(names.includes('everything__echo'), names.join(','));
    const weather = tools.find((t) => t.name === 'web__weather');
    assert.ok(weather, 'web__weather is listed');
    assert.equal(weather.description, 'Weather for a city');
    assert.deepEqual(weather.annotations, { readOnlyHint: true });
    assert.deepEqual(Object.keys(weather.inputSchema.properties ?? {}), ['city']);
    assert.ok(weather.outputSchema, 'outputSchema is preserved');
    for (const name of names) assert.match(name, /^[A-Za-z0-9_-]{1,64}$/);
  });

  it('routes a call to its upstream under the original name and passes structuredContent through', async function () {
    const result = await call(client, 'web__weather', { city: 'Lisbon' });
    assert.deepEqual(result.structuredContent, { city: 'Lisbon', celsius: 21 });
    assert.equal(text(result), 'Lisbon: 21C');
    const echo = await call(client, 'everything__echo', { message: 'hello through the gateway' });
    assert.match(text(echo), /hello through the gateway/);
  });

  it('passes an upstream isError result through unchanged', async function () {
    const result = await call(client, 'web__fails');
    assert.equal(result.isError, true);
    assert.equal(text(result), 'upstream said no');
  });

  it('answers an unknown tool with an isError result that says what to do', async function () {
    const result = await call(client, 'nope__nothing');
    assert.equal(result.isError, true);
    assert.match(text(result), /no tool named "nope__nothing".*list_integrations/);
  });

  it('reports an upstream whose command does not exist, or that exits at once, as an error while the others keep working', async function () {
    const listing = await call(client, 'list_integrations');
    const integrations = (listing.structuredContent as { integrations: { name: string; status: string; toolCount: number }[] }).integrations;
    const byName = Object.fromEntries(integrations.map((i) => [i.name, i]));
    assert.equal(byName.demo.status, 'error');
    assert.equal(byName.ghost.status, 'error');
    assert.match((byName.ghost as unknown as { error: string }).error, /command not found: \/nonexistent\/mcp-server/);
    assert.equal(byName.web.status, 'ready');
    assert.equal(byName.everything.status, 'ready');
    assert.ok(byName.everything.toolCount > 5);
  });
});

describe('gateway: reloading servers.json', function () {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('sends tools/list_changed to a connected client when servers.json changes, and lists the new tools', async function () {
    gw = await startTestGateway();
    const client = await connectClient(gw.url, gw.key);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['demo__echo', 'demo__get_time', 'demo__write_note', 'list_integrations']);
    let notified = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      notified++;
    });
    writeServers(gw.home, { demo: crashyServer() });
    await until(() => notified > 0 && gw!.gateway.upstreams.states()[0]?.status === 'ready');
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['demo__pid', 'demo__sleep', 'list_integrations']);
    await client.close();
  });

  it('lists the tools as the current call gate shows them, after listing them under another', async function () {
    // The tool list is kept between listings; a new gate must still change what is listed.
    const th = await startTestGatehouse();
    const client = await connectClient(th.url, th.key);
    try {
      const echo = async (): Promise<Record<string, unknown>> => (await client.listTools()).tools.find((t) => t.name === 'demo__echo')?.inputSchema.properties ?? {};
      assert.ok('additional_info' in (await echo()), 'the approval gate adds additional_info');
      assert.ok('additional_info' in (await echo()), 'and still does on a second listing');
      th.gatehouse.gateway.setCallGate(undefined);
      assert.deepEqual(Object.keys(await echo()), ['text']);
    } finally {
      await client.close();
      await th.close();
    }
  });

  it('keeps the running servers and reports the file, line and problem when servers.json turns invalid', async function () {
    gw = await startTestGateway();
    const file = path.join(gw.home, 'servers.json');
    const broken = '{\n  "servers": {\n    "demo": { "type": "stdio", "command": }\n  }\n}\n';
    const errors: ConfigFileError[] = [];
    gw.gateway.upstreams.on('configError', (e) => errors.push(e));
    fs.writeFileSync(file, broken);
    await until(() => errors.length > 0);
    assert.match(errors[0].message, /servers\.json: not valid JSON at line 3, column \d+/);
    assert.equal(fs.readFileSync(file, 'utf8'), broken, 'the file is untouched');
    const client = await connectClient(gw.url, gw.key);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'demo__echo'), 'the demo keeps running');
    await client.close();
  });

  it('refuses to start on a servers.json that does not fit the schema, naming the field, and leaves it untouched', async function () {
    const home = tempDir();
    const bad = JSON.stringify({ servers: { github: { type: 'http', url: 'not a url' } } });
    fs.writeFileSync(path.join(home, 'servers.json'), bad);
    const gateway = new Gateway({ home, port: 0 });
    await assert.rejects(gateway.start(), (error: Error) => error instanceof ConfigFileError && /servers\.github/.test(error.message) && /servers\.json/.test(error.message));
    assert.equal(fs.readFileSync(path.join(home, 'servers.json'), 'utf8'), bad);
    await gateway.stop();
  });

  it('accepts the mcpServers alias that other clients use', async function () {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'servers.json'), JSON.stringify({ mcpServers: { crashy: crashyServer() } }));
    gw = await startTestGateway({ home });
    const client = await connectClient(gw.url, gw.key);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'crashy__pid'));
    await client.close();
  });
});

describe('gateway: name collisions', function () {
  it('makes colliding names unique in a deterministic way', async function () {
    const gw = await startTestGateway({ servers: { 'my.srv': crashyServer(), my_srv: crashyServer() } });
    try {
      const names = [...gw.gateway.upstreams.catalog.values()].map((e) => `${e.server}:${e.originalName}=>${e.name}`).sort();
      assert.deepEqual(names, ['my.srv:pid=>my_srv__pid', 'my.srv:sleep=>my_srv__sleep', 'my_srv:pid=>my_srv__pid_2', 'my_srv:sleep=>my_srv__sleep_2']);
      const client = await connectClient(gw.url, gw.key);
      assert.match(text(await call(client, 'my_srv__pid_2')), /^\d+$/);
      await client.close();
    } finally {
      await gw.close();
    }
  });
});

describe('gateway: a client that cancels', function () {
  it('ends the upstream call when the client cancels it, and the upstream keeps serving', async function () {
    const gw = await startTestGateway({ servers: { crashy: crashyServer() } });
    const client = await connectClient(gw.url, gw.key);
    try {
      const upstream = gw.gateway.upstreams.get('crashy');
      assert.ok(upstream);
      const started = path.join(gw.home, 'sleep-started');
      const cancel = new AbortController();
      const inFlight = client.callTool({ name: 'crashy__sleep', arguments: { ms: 600_000, started } }, CallToolResultSchema, { signal: cancel.signal });
      await fileAppears(started);
      // The upstream goes idle only once its call ended: without the cancellation reaching it,
      // that is ten minutes away (this test would time out).
      const idle = new Promise<void>((resolve) => upstream.once('idle', () => resolve()));
      cancel.abort();
      await assert.rejects(inFlight);
      await idle;
      assert.equal(text(await call(client, 'crashy__pid')).length > 0, true);
    } finally {
      await client.close();
      await gw.close();
    }
  });
});

describe('gateway: an upstream that dies', function () {
  it('fails the call in flight within 1 s with a clear error, then reconnects', async function () {
    const gw = await startTestGateway({ servers: { crashy: crashyServer() } });
    const client = await connectClient(gw.url, gw.key);
    try {
      const pid = Number(text(await call(client, 'crashy__pid')));
      const started = path.join(gw.home, 'sleep-started');
      const inFlight = call(client, 'crashy__sleep', { ms: 30_000, started });
      await fileAppears(started);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const result = await inFlight;
      const elapsed = Date.now() - killedAt;
      assert.equal(result.isError, true);
      assert.match(text(result), /Upstream "crashy" stopped while running sleep/);
      assert.ok(elapsed < 1000, `the error arrived after ${elapsed} ms`);
      await until(() => gw.gateway.upstreams.get('crashy')?.state.status === 'ready');
      const newPid = Number(text(await call(client, 'crashy__pid')));
      assert.notEqual(newPid, pid, 'a new process serves calls after the reconnect');
    } finally {
      await client.close();
      await gw.close();
    }
  });
});

describe('gateway: HTTP guards and authentication', function () {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra });

  it('refuses a forged Host header with a JSON 403', async function () {
    const response = await rawRequest(gw.gateway.port, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, host: 'evil.example:80' }), body: initialize });
    assert.equal(response.status, 403);
    assert.equal(JSON.parse(response.body).error, 'forbidden_host');
    const rebinding = await rawRequest(gw.gateway.port, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, host: `attacker.example:${gw.gateway.port}` }), body: initialize });
    assert.equal(rebinding.status, 403);
  });

  it('refuses a Host with the right name but another port', async function () {
    const response = await rawRequest(gw.gateway.port, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, host: `127.0.0.1:${gw.gateway.port + 1}` }), body: initialize });
    assert.equal(response.status, 403);
    const missing = await rawRequest(gw.gateway.port, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, host: '' }), body: initialize });
    // Node's HTTP server itself answers 400 to an HTTP/1.1 request without Host; either way it is refused.
    assert.ok([400, 403].includes(missing.status), `status ${missing.status}`);
  });

  it('refuses a foreign Origin with a JSON 403', async function () {
    const response = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, origin: 'https://evil.example' }), body: initialize });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: string }).error, 'forbidden_origin');
  });

  it('accepts a loopback Origin and localhost as Host', async function () {
    const url = `http://localhost:${gw.gateway.port}/mcp`;
    const response = await fetch(url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, origin: 'http://localhost:6274' }), body: initialize });
    assert.equal(response.status, 200);
    assert.ok(response.headers.get('mcp-session-id'));
  });

  it('answers a missing key with a JSON 401', async function () {
    const response = await fetch(gw.url, { method: 'POST', headers: headers(), body: initialize });
    assert.equal(response.status, 401);
    const body = (await response.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_token');
    assert.match(body.error_description, /gatehouse key create/);
  });

  it('answers a wrong key with a JSON 401, in both header forms', async function () {
    const attempts: Record<string, string>[] = [{ authorization: 'Bearer gh_wrongwrongwrong' }, { 'x-api-key': 'gh_wrongwrongwrong' }, { authorization: 'Bearer something-else' }];
    for (const extra of attempts) {
      const response = await fetch(gw.url, { method: 'POST', headers: headers(extra), body: initialize });
      assert.equal(response.status, 401, JSON.stringify(extra));
      assert.ok(((await response.json()) as { error?: string }).error);
    }
  });

  it('refuses a key on the first request after another process revokes it, though it was just accepted', async function () {
    // `gatehouse key revoke` is another process: it writes api-keys.json, the gateway re-reads it.
    const key = gw.gateway.apiKeys.create('revoked-soon');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${key}` }), body: initialize })).status, 200);
    const used = new ApiKeyStore(gw.gateway.home).list().find((record) => record.label === 'revoked-soon');
    assert.equal(used?.lastUsedAt, undefined, 'use is written to the file at most once a minute');
    assert.ok(!Number.isNaN(Date.parse(gw.gateway.apiKeys.list().find((record) => record.label === 'revoked-soon')?.lastUsedAt ?? '')), 'but the running gateway reports it');
    assert.equal(new ApiKeyStore(gw.gateway.home).revoke('revoked-soon'), true);
    const response = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${key}` }), body: initialize });
    assert.equal(response.status, 401);
  });

  it('accepts the key as X-API-Key', async function () {
    const response = await fetch(gw.url, { method: 'POST', headers: headers({ 'x-api-key': gw.key }), body: initialize });
    assert.equal(response.status, 200);
  });

  it('requires a key on GET and DELETE too', async function () {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(gw.url, { method, headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } });
      assert.equal(response.status, 401, method);
    }
  });

  it('answers 400 when a non-initialize request has no session, and 404 for an unknown session', async function () {
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const missing = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}` }), body: list });
    assert.equal(missing.status, 400);
    // JSON-RPC: the error carries the id of the request it answers.
    assert.deepEqual(((await missing.json()) as { id: unknown }).id, 2);
    const unknown = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, 'mcp-session-id': 'f00d' }), body: list });
    assert.equal(unknown.status, 404);
    const answer = (await unknown.json()) as { error: { code: number }; id: unknown };
    assert.equal(answer.error.code, -32001);
    assert.equal(answer.id, 2);
  });

  it('does not let another key use a session it did not open', async function () {
    const other = gw.gateway.apiKeys.create('other');
    const opened = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}` }), body: initialize });
    const sessionId = opened.headers.get('mcp-session-id')!;
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const stolen = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${other}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }), body: list });
    assert.equal(stolen.status, 404);
  });

  it('answers unknown paths with a JSON 404 and oversized bodies with a 413', async function () {
    const notFound = await fetch(`http://127.0.0.1:${gw.gateway.port}/nothing-here`);
    assert.equal(notFound.status, 404);
    assert.equal(((await notFound.json()) as { error: string }).error, 'not_found');
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const tooBig = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}` }), body: huge });
    assert.equal(tooBig.status, 413);
  });

  it('serves /mcp/ like /mcp', async function () {
    const response = await fetch(`${gw.url}/`, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}` }), body: initialize });
    assert.equal(response.status, 200);
  });

  it('closes a session on DELETE, after which it is unknown', async function () {
    const opened = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}` }), body: initialize });
    const sessionId = opened.headers.get('mcp-session-id')!;
    const deleted = await fetch(gw.url, { method: 'DELETE', headers: { authorization: `Bearer ${gw.key}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } });
    assert.equal(deleted.status, 200);
    const after = await fetch(gw.url, { method: 'POST', headers: headers({ authorization: `Bearer ${gw.key}`, 'mcp-session-id': sessionId }), body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }) });
    assert.equal(after.status, 404);
  });

  it('says that another Gatehouse holds the port when it is taken by one', async function () {
    const second = new Gateway({ home: tempDir(), port: gw.gateway.port });
    await assert.rejects(second.start(), (error: Error) => error instanceof PortInUseError && /Another Gatehouse \(pid \d+/.test(error.message) && error.message.includes(String(gw.gateway.port)));
  });

  it('names the port when another program holds it', async function () {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const gateway = new Gateway({ home: tempDir(), port });
      await assert.rejects(gateway.start(), (error: Error) => error instanceof PortInUseError && error.message.includes(`Port ${port}`) && /another program/.test(error.message));
    } finally {
      blocker.close();
    }
  });
});

describe('gateway: concurrency', function () {
  it('serves 20 concurrent sessions, each getting its own answers', async function () {
    const gw = await startTestGateway();
    try {
      const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => connectClient(gw.url, gw.key, `client-${i}`)));
      assert.equal(gw.gateway.sessions.size, 20);
      const results = await Promise.all(clients.map((client, i) => call(client, 'demo__echo', { text: `session ${i}` })));
      results.forEach((result, i) => assert.deepEqual(result.structuredContent, { text: `session ${i}` }));
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await gw.close();
    }
  });
});
