import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ElicitRequestSchema, ListToolsResultSchema, McpError, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema, type CallToolResult, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, REPO_ROOT, startTestGatehouse, until, type TestGatehouse } from '../helpers/gatewayHarness';

// An old client (SDK 1.x, MCP 2025-11-25) → Gatehouse → a new upstream (SDK 2.x McpServer, MCP
// 2026-07-28). Nothing is mocked: the upstream is test/fixtures/upstreams/modernServer.mjs, a
// real server built with @modelcontextprotocol/server, over stdio and over streamable HTTP.
const MODERN = path.join(REPO_ROOT, 'test/fixtures/upstreams/modernServer.mjs');
const GROWING = path.join(REPO_ROOT, 'test/fixtures/upstreams/growing.mjs');

function modernStdio(extra: { args?: string[]; env?: Record<string, string>; protocol?: string } = {}): Record<string, unknown> {
  return { type: 'stdio', command: process.execPath, args: [MODERN, ...(extra.args ?? [])], env: extra.env ?? {}, ...(extra.protocol ? { protocol: extra.protocol } : {}) };
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 60_000 })) as CallToolResult;
}

/** A 2025-era client that declares form elicitation and accepts every one by itself, as some clients do. */
async function elicitingClient(th: TestGatehouse): Promise<{ client: Client; asked: ElicitRequest['params'][] }> {
  const client = new Client({ name: 'old-client', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  const asked: ElicitRequest['params'][] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params);
    return { action: 'accept', content: { confirm: true, who: 'Ada' } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(th.url), { requestInit: { headers: { Authorization: `Bearer ${th.key}` } } }));
  return { client, asked };
}

/** The fixture as a streamable HTTP server of its own, on an ephemeral loopback port. */
async function startModernHttp(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [MODERN, '--http', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the modern HTTP fixture exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

describe('a 2025-11-25 client through Gatehouse to 2026-07-28 upstreams (SDK 2.x McpServer)', function () {
  this.timeout(60_000);
  let th: TestGatehouse;
  let http: { url: string; child: ChildProcess };
  let old: { client: Client; asked: ElicitRequest['params'][] };

  before(async function () {
    http = await startModernHttp(['--modern-only']);
    th = await startTestGatehouse({
      servers: {
        // Pinned in servers.json.
        modern: modernStdio({ protocol: '2026-07-28' }),
        // Not pinned: these refuse 2025-11-25, and Gatehouse finds that out.
        strict: modernStdio({ args: ['--modern-only'], env: { MODERN_TOOLS: '520' } }),
        web: { type: 'http', url: http.url },
        // A 2025-era server beside them stays on 2025-11-25.
        growing: { type: 'stdio', command: process.execPath, args: [GROWING] },
      },
      policy: {
        rules: [
          { tool: 'modern__echo', decision: 'allow' },
          { tool: 'web__echo', decision: 'allow' },
          { tool: 'modern__confirm_deploy', decision: 'allow' },
          { tool: 'modern__ask_model', decision: 'allow' },
          { tool: 'modern__grow*', decision: 'allow' },
          { tool: 'modern__count', decision: 'allow' },
          { tool: 'modern__touch_readme', decision: 'allow' },
          { tool: 'web__confirm_deploy', decision: 'allow' },
          { tool: 'modern__write_note', decision: 'ask' },
        ],
      },
    });
    old = await elicitingClient(th);
  });

  after(async function () {
    await old?.client.close();
    await th?.close();
    http?.child.kill();
  });

  it('speaks 2026-07-28 to the upstreams that need it, pinned or detected, and 2025-11-25 to the one that does not', function () {
    const versions = Object.fromEntries(th.gatehouse.gateway.upstreams.states().map((s) => [s.name, `${s.status} ${s.protocolVersion ?? ''}`]));
    assert.deepEqual(versions, { growing: 'ready 2025-11-25', modern: 'ready 2026-07-28', strict: 'ready 2026-07-28', web: 'ready 2026-07-28' });
  });

  it('lists the new upstream tools under <server>__<name> and runs an allowed call on the 2026-07-28 wire', async function () {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await old.client.listTools(cursor ? { cursor } : {});
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor);
    for (const name of ['modern__echo', 'modern__write_note', 'modern__confirm_deploy', 'web__echo', 'strict__tool_0000']) assert.ok(names.includes(name), `${name} in ${names.length} tools`);
    const result = await call(old.client, 'modern__echo', { text: 'hi' });
    assert.equal(text(result), 'echo: hi');
    // The fixture reports the revision of the request envelope it received.
    assert.deepEqual(result.structuredContent, { echoed: 'hi', era: '2026-07-28' });
    const overHttp = await call(old.client, 'web__echo', { text: 'over http' });
    assert.deepEqual(overHttp.structuredContent, { echoed: 'over http', era: '2026-07-28' });
  });

  it('pages the tools of a new upstream that lists more than one page (520 tools, pages of 500)', async function () {
    const first = await old.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema);
    assert.ok(first.nextCursor, 'a first page with a cursor');
    const second = await old.client.request({ method: 'tools/list', params: { cursor: first.nextCursor } }, ListToolsResultSchema);
    const all = [...first.tools, ...second.tools].map((t) => t.name);
    assert.equal(all.filter((n) => n.startsWith('strict__tool_')).length, 520);
  });

  it('holds a call of a new upstream, and await_approval returns the real result once the human approves', async function () {
    const held = await call(old.client, 'modern__write_note', { text: 'from an old client' });
    const pending = held.structuredContent as { status: string; request_id: string };
    assert.equal(pending.status, 'approval_required');
    assert.equal(th.gatehouse.decide(pending.request_id, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
    const approved = await call(old.client, 'await_approval', { request_id: pending.request_id });
    const outcome = approved.structuredContent as { status: string; result: { text: string; structured_content?: unknown; is_error: boolean } };
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.result.is_error, false);
    assert.equal(outcome.result.text, 'wrote: from an old client');
    assert.deepEqual(outcome.result.structured_content, { written: 'from an old client' });
  });

  it("turns the upstream's input-required result into an elicitation for the calling client, then retries the call with the answer and the state", async function () {
    const before = old.asked.length;
    const result = await call(old.client, 'modern__confirm_deploy', { env: 'prod' });
    assert.equal(old.asked.length, before + 1);
    assert.equal(old.asked.at(-1)?.message, 'Deploy to prod?');
    assert.equal(text(result), 'deployed to prod for Ada');
    // The server checks that its opaque requestState came back verbatim.
    assert.deepEqual(result.structuredContent, { deployed: true, env: 'prod', who: 'Ada', state: 'deploy:prod' });
  });

  it('does the same input-required round trip with a new upstream over streamable HTTP', async function () {
    const before = old.asked.length;
    const result = await call(old.client, 'web__confirm_deploy', { env: 'edge' });
    assert.equal(old.asked.length, before + 1);
    assert.equal(old.asked.at(-1)?.message, 'Deploy to edge?');
    assert.deepEqual(result.structuredContent, { deployed: true, env: 'edge', who: 'Ada', state: 'deploy:edge' });
  });

  it("relays a new upstream's progress to the calling client under the client's own token", async function () {
    const reports: number[] = [];
    const result = (await old.client.callTool({ name: 'modern__count', arguments: { n: 3 } }, CallToolResultSchema, { onprogress: (p) => reports.push(p.progress) })) as CallToolResult;
    assert.equal(text(result), 'counted to 3');
    assert.deepEqual(reports, [1, 2, 3]);
  });

  it('never counts an elicitation answer as the approval of a held call', async function () {
    const held = await call(old.client, 'modern__write_note', { text: 'still held' });
    const requestId = (held.structuredContent as { request_id: string }).request_id;
    // The client accepts the elicitation by itself while the call is held.
    await call(old.client, 'modern__confirm_deploy', { env: 'staging' });
    assert.equal(th.gatehouse.approvals.get(requestId)?.status, 'pending');
  });

  it("follows a new upstream's tools/list_changed, which 2026-07-28 delivers on a subscriptions/listen stream", async function () {
    const listed = async (): Promise<string[]> => (await old.client.listTools()).tools.map((t) => t.name);
    assert.equal((await listed()).includes('modern__grown_1'), false);
    const changed = new Promise<void>((resolve) => old.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    assert.equal(text(await call(old.client, 'modern__grow')), 'grew grown_1');
    await changed;
    await until(async () => (await listed()).includes('modern__grown_1'));
    assert.equal(text(await call(old.client, 'modern__grown_1')), 'grown 1');
  });

  it("passes a new upstream's resources/updated to a subscribed client (the subscription is a subscriptions/listen stream for the URI)", async function () {
    const updated = new Promise<string>((resolve) => old.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
    await old.client.subscribeResource({ uri: 'gatehouse://modern/note://readme' });
    assert.equal(text(await call(old.client, 'modern__touch_readme')), 'touched');
    assert.equal(await updated, 'gatehouse://modern/note://readme');
    await old.client.unsubscribeResource({ uri: 'gatehouse://modern/note://readme' });
  });

  it('reads resources and templates, gets prompts and completes arguments of a new upstream', async function () {
    const resources = (await old.client.listResources()).resources.map((r) => r.uri);
    assert.ok(resources.includes('gatehouse://modern/note://readme'), resources.join(', '));
    const read = await old.client.readResource({ uri: 'gatehouse://modern/note://readme' });
    assert.deepEqual(read.contents.map((c) => ('text' in c ? c.text : '')), ['modern readme']);
    const templates = (await old.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    assert.ok(templates.includes('gatehouse://modern/note://notes/{name}'), templates.join(', '));
    const note = await old.client.readResource({ uri: 'gatehouse://modern/note://notes/beta' });
    assert.deepEqual(note.contents.map((c) => ('text' in c ? c.text : '')), ['note beta']);
    const prompt = await old.client.getPrompt({ name: 'modern__greet', arguments: { name: 'Grace' } });
    assert.deepEqual(prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')), ['Hello Grace']);
    const completion = await old.client.complete({ ref: { type: 'ref/prompt', name: 'modern__greet' }, argument: { name: 'name', value: 'A' } });
    assert.deepEqual(completion.completion.values, ['Ada', 'Alan']);
  });

  it('tells a client without elicitation that it lacks what the new upstream asks for, and runs nothing further', async function () {
    const plain = await connectClient(th.url, th.key, 'no-elicitation');
    try {
      const result = await call(plain, 'modern__confirm_deploy', { env: 'prod' });
      assert.equal(result.isError, true);
      assert.match(text(result), /The client \(test\) does not support elicitation/);
    } finally {
      await plain.close();
    }
  });

  it('says which side lacks sampling when the new upstream asks for the client model', async function () {
    const result = await call(old.client, 'modern__ask_model');
    assert.equal(result.isError, true);
    assert.match(text(result), /"modern" speaks MCP 2026-07-28 and asked for sampling\/createMessage .*no client connected to Gatehouse has declared/);
  });

  it('refuses a task-augmented call through a new upstream with what is missing', async function () {
    await assert.rejects(old.client.request({ method: 'tools/call', params: { name: 'modern__echo', arguments: { text: 'x' }, task: { ttl: 1000 } } }, CallToolResultSchema), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.match(error.message, /does not support task creation/);
      return true;
    });
  });
});
