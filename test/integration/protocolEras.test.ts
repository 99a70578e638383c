import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { connectClient, everythingServer, REPO_ROOT, startTestGatehouse, until, type TestGatehouse } from '../helpers/gatewayHarness';

// A 2026-07-28 client (the SDK 2.x client, pinned to that revision: no initialize, no session)
// beside a 2025-era client, on the same Gatehouse URL, in front of 2025-era upstreams (the built-in
// demo and server-everything over stdio).

interface CallResult {
  readonly content: { type: string; text?: string }[];
  readonly structuredContent?: Record<string, unknown>;
  readonly isError?: boolean;
}

type Elicited = { readonly mode?: string; readonly message: string; readonly url?: string };

/** A 2026-07-28 client; it answers every elicitation by itself ("accept"), as some clients do. */
async function modernClient(url: string, key: string, options: { elicitation?: boolean } = {}): Promise<{ client: Client; elicited: Elicited[] }> {
  const elicited: Elicited[] = [];
  const client = new Client(
    { name: 'modern-agent', version: '1.0.0' },
    { capabilities: options.elicitation === false ? {} : { elicitation: { form: {}, url: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  if (options.elicitation !== false) {
    client.setRequestHandler('elicitation/create', async (request) => {
      elicited.push(request.params as Elicited);
      if (request.params.mode === 'url') return { action: 'accept' };
      const asks = Object.keys((request.params as { requestedSchema?: { properties?: object } }).requestedSchema?.properties ?? {});
      const content: Record<string, string | boolean> = asks.includes('confirm') ? { confirm: true, who: 'Ada Lovelace' } : { name: 'Ada Lovelace', check: true };
      return { action: 'accept', content };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return { client, elicited };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
  return (await client.callTool({ name, arguments: args }, { timeout: 120_000 })) as unknown as CallResult;
}

function text(result: CallResult): string {
  return result.content.map((c) => c.text ?? '').join('\n');
}

function nextHeld(th: TestGatehouse): Promise<ApprovalRequest> {
  return new Promise((resolve) => th.gatehouse.approvals.once('requested', resolve));
}

/** One raw JSON-RPC POST, for what no SDK client sends. */
async function post(th: TestGatehouse, body: unknown, headers: Record<string, string> = {}, endpoint = th.url): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${th.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const raw = await response.text();
  const data = raw.startsWith('{') ? raw : (/^data: (.*)$/m.exec(raw)?.[1] ?? '{}');
  return { status: response.status, json: JSON.parse(data) as Record<string, unknown> };
}

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe('protocol eras: a 2026-07-28 client and a 2025-era client on the same URL', function () {
  this.timeout(120_000);
  let th: TestGatehouse;
  /** The built-in demo alone, whose write_note is held and leaves a file when it runs. */
  let demo: TestGatehouse;
  /** The demo again, with held calls offered as URL elicitations to clients that can open URLs. */
  let prompting: TestGatehouse;

  before(async function () {
    demo = await startTestGatehouse();
    prompting = await startTestGatehouse({ approvalPrompt: 'url-elicitation' });
    th = await startTestGatehouse({
      servers: {
        everything: everythingServer(),
        growing: { type: 'stdio', command: process.execPath, args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/growing.mjs')], env: { GROWING_TOOLS: '0' } },
      },
      policy: {
        rules: [
          { tool: 'everything__trigger-elicitation-request', decision: 'allow' },
          { tool: 'everything__trigger-url-elicitation', decision: 'allow' },
          { tool: 'growing__add-item', decision: 'allow' },
        ],
      },
    });
  });
  after(async function () {
    await th?.close();
    await demo?.close();
    await prompting?.close();
  });

  it('answers server/discover and lists the same tools to both eras, without a session for the new one', async function () {
    const { client } = await modernClient(demo.url, demo.key);
    const legacy = await connectClient(demo.url, demo.key, 'legacy-agent');
    try {
      const modern = (await client.listTools()).tools.map((t) => t.name).sort();
      const old = (await legacy.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(modern, old);
      assert.ok(modern.includes('demo__write_note') && modern.includes('await_approval'), modern.join(', '));
      assert.equal(demo.gatehouse.gateway.sessions.size, 1, 'only the 2025 client opened a session');
      const discovered = await post(demo, { jsonrpc: '2.0', id: 'd1', method: 'server/discover', params: { _meta: ENVELOPE } }, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' });
      assert.equal(discovered.json.id, 'd1', JSON.stringify(discovered.json));
      const result = discovered.json.result as { supportedVersions?: string[]; capabilities?: Record<string, unknown> };
      assert.ok(result?.supportedVersions?.includes('2026-07-28'), JSON.stringify(discovered.json));
      assert.ok(result.capabilities?.tools);
    } finally {
      await client.close();
      await legacy.close();
    }
  });

  it('answers every error with the id of the request it answers', async function () {
    const noSession = await post(th, { jsonrpc: '2.0', id: 41, method: 'tools/list', params: {} });
    assert.equal(noSession.status, 400);
    assert.equal(noSession.json.id, 41);
    const unknownMethod = await post(th, { jsonrpc: '2.0', id: 'm-7', method: 'no/such', params: { _meta: ENVELOPE } }, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'no/such' });
    assert.equal(unknownMethod.json.id, 'm-7');
    assert.ok(unknownMethod.json.error, JSON.stringify(unknownMethod.json));
    const staleSession = await post(th, { jsonrpc: '2.0', id: 'x', method: 'tools/list', params: {} }, { 'mcp-session-id': 'gone' });
    assert.equal(staleSession.status, 404);
    assert.equal(staleSession.json.id, 'x');
  });

  it('holds a call for a 2026-07-28 client and returns the approved result through await_approval', async function () {
    const { client } = await modernClient(demo.url, demo.key, { elicitation: false });
    try {
      const held = await call(client, 'demo__write_note', { name: 'era.txt', content: 'new era' });
      const structured = held.structuredContent as { status: string; request_id: string; approval_url: string };
      assert.equal(structured.status, 'approval_required');
      assert.match(structured.approval_url, /\/approvals\/apr_/);
      const waiting = call(client, 'await_approval', { request_id: structured.request_id });
      await until(() => demo.gatehouse.approvals.waitingCount() > 0);
      assert.equal(demo.gatehouse.decide(structured.request_id, { kind: 'approve', scope: 'once', channel: 'editor' }).ok, true);
      const result = await waiting;
      assert.equal(result.isError, undefined);
      assert.equal((result.structuredContent as { status?: string }).status, 'approved');
      assert.match(JSON.stringify(result.structuredContent), /era\.txt/, 'the approved result is inside structuredContent');
      assert.equal(fs.readFileSync(path.join(demo.home, 'demo', 'era.txt'), 'utf8'), 'new era');
    } finally {
      await client.close();
    }
  });

  it('finds a held call from another request of the same client without a session, and not from another client', async function () {
    const first = await modernClient(demo.url, demo.key, { elicitation: false });
    const held = (await call(first.client, 'demo__write_note', { name: 'later.txt', content: 'x' })).structuredContent as { request_id: string };
    await first.client.close();
    const second = await modernClient(demo.url, demo.key, { elicitation: false });
    const otherKey = demo.gatehouse.gateway.apiKeys.create('intruder');
    const intruder = await modernClient(demo.url, otherKey, { elicitation: false });
    try {
      const stolen = await call(intruder.client, 'await_approval', { request_id: held.request_id });
      assert.equal(stolen.isError, true);
      const waiting = call(second.client, 'await_approval', { request_id: held.request_id });
      await until(() => demo.gatehouse.approvals.waitingCount() > 0);
      demo.gatehouse.decide(held.request_id, { kind: 'deny', reason: 'not today', channel: 'editor' });
      assert.match(JSON.stringify((await waiting).structuredContent), /not today/);
    } finally {
      await second.client.close();
      await intruder.client.close();
    }
  });

  it('scopes "approve for this session" to the client on one endpoint when there is no session', async function () {
    const first = await modernClient(demo.url, demo.key, { elicitation: false });
    const other = await modernClient(`${demo.url}/demo`, demo.key, { elicitation: false });
    try {
      const held = (await call(first.client, 'demo__write_note', { name: 's1.txt', content: 'one' })).structuredContent as { request_id: string };
      const waiting = call(first.client, 'await_approval', { request_id: held.request_id });
      await until(() => demo.gatehouse.approvals.waitingCount() > 0);
      demo.gatehouse.decide(held.request_id, { kind: 'approve', scope: 'session', channel: 'editor' });
      assert.equal(((await waiting).structuredContent as { status: string }).status, 'approved');
      // A new connection of the same client on the same endpoint is the same conversation.
      const again = await modernClient(demo.url, demo.key, { elicitation: false });
      const allowed = await call(again.client, 'demo__write_note', { name: 's2.txt', content: 'two' });
      await again.client.close();
      assert.notEqual((allowed.structuredContent as { status?: string } | undefined)?.status, 'approval_required', JSON.stringify(allowed));
      assert.equal(fs.readFileSync(path.join(demo.home, 'demo', 's2.txt'), 'utf8'), 'two');
      // The same tool on another endpoint is another conversation: held again.
      const elsewhere = await call(other.client, 'write_note', { name: 's3.txt', content: 'three' });
      assert.equal((elsewhere.structuredContent as { status: string }).status, 'approval_required');
    } finally {
      await first.client.close();
      await other.client.close();
    }
  });

  it('gives a URL-eliciting client the approval_required result unless URL prompts are turned on', async function () {
    // A key of its own: the session-grant test above approved write_note for demo.key's conversation.
    const { client, elicited } = await modernClient(demo.url, demo.gatehouse.gateway.apiKeys.create('plain'));
    try {
      const held = await call(client, 'demo__write_note', { name: 'plain.txt', content: 'x' });
      assert.equal((held.structuredContent as { status: string }).status, 'approval_required');
      assert.equal(elicited.length, 0);
    } finally {
      await client.close();
    }
  });

  it("shows a URL-eliciting client the approval page natively, and its own answer approves nothing", async function () {
    const { client, elicited } = await modernClient(prompting.url, prompting.key);
    try {
      const heldNow = nextHeld(prompting);
      // The client accepts the URL elicitation at once and retries; the retry waits on the human.
      const running = call(client, 'demo__write_note', { name: 'attack.txt', content: 'self-approved?' });
      const request = await heldNow;
      await until(() => elicited.length > 0);
      assert.equal(elicited[0].mode, 'url');
      assert.match(elicited[0].url ?? '', new RegExp(`/approvals/${request.id}$`));
      assert.match(elicited[0].message, /Answering this prompt decides nothing/);
      await until(() => prompting.gatehouse.approvals.waitingCount() > 0);
      assert.equal(prompting.gatehouse.approvals.get(request.id)?.status, 'pending', "the client's accept decided nothing");
      assert.equal(fs.existsSync(path.join(prompting.home, 'demo', 'attack.txt')), false);
      prompting.gatehouse.decide(request.id, { kind: 'approve', scope: 'once', channel: 'editor' });
      const result = await running;
      // The retry is the call the client made, so it answers with write_note's own structured result.
      assert.match(JSON.stringify(result.structuredContent), /attack\.txt/);
      assert.match(text(result), /Approved by the human \(editor\)/);
      assert.equal(fs.readFileSync(path.join(prompting.home, 'demo', 'attack.txt'), 'utf8'), 'self-approved?');
    } finally {
      await client.close();
    }
  });

  it("refuses a forged or another client's requestState", async function () {
    const forged = await post(
      demo,
      { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'demo__write_note', arguments: { name: 'f.txt', content: 'x' }, requestState: 'v1.eyJwIjp7ImFwcHJvdmFsIjoiYXByX3gifX0.AAAA', inputResponses: {}, _meta: ENVELOPE } },
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'demo__write_note' },
    );
    assert.equal(forged.json.id, 9);
    assert.match(JSON.stringify(forged.json.error), /Invalid or expired requestState/);
    assert.ok(forged.json.error, JSON.stringify(forged.json));
  });

  it("turns a 2025-era upstream's elicitation into input-required rounds for a 2026-07-28 client", async function () {
    const { client, elicited } = await modernClient(th.url, th.key);
    try {
      const form = await call(client, 'everything__trigger-elicitation-request');
      assert.equal(elicited.at(-1)?.message, 'Please provide inputs for the following fields:');
      assert.match(text(form), /Ada Lovelace/);
      const url = await call(client, 'everything__trigger-url-elicitation', { url: 'https://example.com/connect', message: 'Connect your account' });
      assert.equal(elicited.at(-1)?.mode, 'url');
      assert.equal(elicited.at(-1)?.url, 'https://example.com/connect');
      assert.match(text(url), /User completed the URL elicitation flow/);
    } finally {
      await client.close();
    }
  });

  it('tells a client without elicitation which side lacks what', async function () {
    const { client } = await modernClient(th.url, th.key, { elicitation: false });
    try {
      const result = await call(client, 'everything__trigger-elicitation-request');
      assert.equal(result.isError, true);
      assert.match(text(result), /does not support elicitation/);
    } finally {
      await client.close();
    }
  });

  it('reads a resource of a 2025-era upstream for a 2026-07-28 client', async function () {
    const { client } = await modernClient(th.url, th.key);
    try {
      const listed = await client.listResources();
      const first = listed.resources.find((r) => r.uri.startsWith('gatehouse://everything/'));
      assert.ok(first, JSON.stringify(listed.resources.slice(0, 3)));
      const read = await client.readResource({ uri: first.uri });
      assert.equal(read.contents[0].uri, first.uri);
    } finally {
      await client.close();
    }
  });

  it('tells a 2026-07-28 client on subscriptions/listen that the prompt list changed', async function () {
    const changes: string[][] = [];
    const client = new Client(
      { name: 'listening-agent', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } }, listChanged: { prompts: { onChanged: (_error, prompts) => changes.push((prompts ?? []).map((p) => p.name)) } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(th.url), { requestInit: { headers: { Authorization: `Bearer ${th.key}` } } }));
    try {
      assert.ok(!(await client.listPrompts()).prompts.some((p) => p.name === 'growing__item-1'));
      // The growing upstream registers prompt item-1 and sends prompts/list_changed (2025 wire);
      // Gatehouse passes it on to the open listen stream, and the client re-lists.
      assert.match(text(await call(client, 'growing__add-item')), /added item 1/);
      await until(() => changes.some((names) => names.includes('growing__item-1')));
    } finally {
      await client.close();
    }
  });

  it('sends resources/updated to a 2026-07-28 client listening for that resource, from a 2025 and a 2026-07-28 upstream, and to nobody once it stops listening', async function () {
    const fixture = path.join(REPO_ROOT, 'test/fixtures/upstreams/modernServer.mjs');
    const both = await startTestGatehouse({
      servers: {
        modern: { type: 'stdio', command: process.execPath, args: [fixture], env: {}, protocol: '2026-07-28' },
        older: { type: 'stdio', command: process.execPath, args: [fixture], env: {}, protocol: '2025-11-25' },
      },
      policy: { rules: [{ tool: '*__touch_readme', decision: 'allow' }] },
    });
    const { client } = await modernClient(both.url, both.key);
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (notification) => void updates.push(notification.params.uri));
    try {
      const listening = await client.listen({ resourceSubscriptions: ['gatehouse://modern/note://readme', 'gatehouse://older/note://readme'] });
      for (const server of ['modern', 'older']) {
        assert.equal(text(await call(client, `${server}__touch_readme`)), 'touched');
        await until(() => updates.includes(`gatehouse://${server}/note://readme`));
      }
      assert.deepEqual(updates.sort(), ['gatehouse://modern/note://readme', 'gatehouse://older/note://readme'], 'one update per change, for the URIs the stream named');
      await listening.close();
      // The upstream subscriptions end with the stream: a 2025 session subscribing afterwards is
      // the only subscriber, and a later change reaches it alone.
      const legacy = await connectClient(both.url, both.key, 'legacy-agent');
      try {
        const legacyUpdates: string[] = [];
        legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void legacyUpdates.push(n.params.uri));
        await legacy.subscribeResource({ uri: 'gatehouse://older/note://readme' });
        updates.length = 0;
        assert.equal(text(await call(client, 'older__touch_readme')), 'touched');
        await until(() => legacyUpdates.length > 0);
        assert.deepEqual(updates, [], 'a closed listen stream gets nothing');
      } finally {
        await legacy.close();
      }
    } finally {
      await client.close();
      await both.close();
    }
  });

  it('carries a 2026-07-28 upstream\'s input-required round to a 2026-07-28 client, and holds its destructive tool like any other', async function () {
    const modern = await startTestGatehouse({
      servers: { modern: { type: 'stdio', command: process.execPath, args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/modernServer.mjs')], env: {}, protocol: '2026-07-28' } },
      policy: { rules: [{ tool: 'modern__confirm_deploy', decision: 'allow' }] },
    });
    const { client, elicited } = await modernClient(modern.url, modern.key);
    try {
      // The upstream asks with an input-required result; Gatehouse relays it as a round of its own.
      elicited.length = 0;
      const deployed = await call(client, 'modern__confirm_deploy', { env: 'prod' });
      assert.equal(elicited.at(-1)?.message, 'Deploy to prod?');
      assert.match(text(deployed), /deployed to prod for Ada Lovelace/, JSON.stringify(deployed));
      const held = await call(client, 'modern__write_note', { text: 'from the new era' });
      const request = (held.structuredContent as { status: string; request_id: string });
      assert.equal(request.status, 'approval_required');
      const waiting = call(client, 'await_approval', { request_id: request.request_id });
      await until(() => modern.gatehouse.approvals.waitingCount() > 0);
      modern.gatehouse.decide(request.request_id, { kind: 'approve', scope: 'once', channel: 'editor' });
      assert.match(JSON.stringify((await waiting).structuredContent), /from the new era/);
    } finally {
      await client.close();
      await modern.close();
    }
  });
});
