import * as assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { connectClient, everythingServer, startHttpUpstream, startTestGatehouse, startTestGateway, type TestGatehouse, type TestGateway } from '../helpers/gatewayHarness';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function callWithProgress(client: Client, name: string, args: Record<string, unknown>): Promise<{ result: CallToolResult; progress: Progress[] }> {
  const progress: Progress[] = [];
  const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema, { onprogress: (p) => progress.push(p), timeout: 60_000 })) as CallToolResult;
  return { result, progress };
}

describe('pass-through: request _meta and progress', function () {
  let meta: Record<string, unknown>[];
  let http: Awaited<ReturnType<typeof startHttpUpstream>>;
  let gw: TestGateway;
  let client: Client;

  before(async function () {
    meta = [];
    http = await startHttpUpstream((server) => {
      server.registerTool('whoami', { description: 'Echoes the request _meta it received', inputSchema: {} }, async (_args, extra) => {
        meta.push({ ...extra._meta });
        return { content: [{ type: 'text', text: 'ok' }] };
      });
      server.registerTool('slow', { description: 'Runs 6 steps of 150 ms, reporting progress after each', inputSchema: { report: z.boolean() } }, async ({ report }, extra) => {
        for (let step = 1; step <= 6; step++) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          const token = extra._meta?.progressToken;
          if (report && token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: step, total: 6 } });
        }
        return { content: [{ type: 'text', text: 'done' }] };
      });
    }, { stream: true });
    // A short silence limit makes "not cut by a fixed timeout" observable: the same call that
    // reports progress completes, and the silent one is cut.
    gw = await startTestGateway({ servers: { everything: everythingServer(), web: { type: 'http', url: http.url } }, upstreamCallTimeoutMs: 400 });
    client = await connectClient(gw.url, gw.key);
  });

  after(async function () {
    await client?.close();
    await gw?.close();
    await http?.close();
  });

  it("relays server-everything's progress to the client under the client's own progressToken", async function () {
    const { result, progress } = await callWithProgress(client, 'everything__trigger-long-running-operation', { duration: 0.3, steps: 3 });
    assert.match(text(result), /Long running operation completed/);
    assert.deepEqual(
      progress.map((p) => [p.progress, p.total]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );
  });

  it('answers a call that finishes at once as JSON, and one that reports progress as an event stream, progress first', async function () {
    const post = (body: unknown, session?: string): Promise<Response> =>
      fetch(gw.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } : {}) },
        body: JSON.stringify(body),
      });
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const session = init.headers.get('mcp-session-id') ?? '';
    assert.equal(init.headers.get('content-type'), 'application/json');
    assert.equal(((await init.json()) as { result: { protocolVersion: string } }).result.protocolVersion, '2025-11-25');
    await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).body?.cancel();

    const quick = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'at once' } } }, session);
    assert.equal(quick.headers.get('content-type'), 'application/json');
    const answer = (await quick.json()) as { id: number; result: CallToolResult };
    assert.equal(answer.id, 2);
    assert.match(text(answer.result), /at once/);

    const reporting = await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: 'p' } } }, session);
    assert.equal(reporting.headers.get('content-type'), 'text/event-stream');
    const events = (await reporting.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { id?: number; method?: string });
    assert.deepEqual(
      events.map((e) => e.method ?? `response ${e.id}`),
      ['notifications/progress', 'notifications/progress', 'notifications/progress', 'response 3'],
    );
    await fetch(gw.url, { method: 'DELETE', headers: { authorization: `Bearer ${gw.key}`, 'mcp-session-id': session } });
  });

  it("passes the client's request _meta to the upstream, with a progress token of the gateway's own", async function () {
    await client.callTool({ name: 'web__whoami', arguments: {}, _meta: { 'example.com/trace': 'abc-123' } });
    const seen = meta.at(-1) ?? {};
    assert.equal(seen['example.com/trace'], 'abc-123');
    assert.ok(seen.progressToken !== undefined, 'the upstream is always offered a progress token, so reporting progress keeps a long call alive');
  });

  it('lets a call that reports progress outlive the silence limit, and cuts one that stays silent', async function () {
    const { result, progress } = await callWithProgress(client, 'web__slow', { report: true });
    assert.equal(text(result), 'done');
    assert.equal(progress.length, 6);
    const silent = (await client.callTool({ name: 'web__slow', arguments: { report: false } })) as CallToolResult;
    assert.equal(silent.isError, true);
    assert.match(text(silent), /timed out/i);
  });
});

describe('pass-through: progress of an approved call reaches the client that awaits it', function () {
  let th: TestGatehouse;
  let client: Client;

  before(async function () {
    th = await startTestGatehouse({
      servers: { everything: everythingServer() },
      policy: { rules: [{ tool: 'everything__trigger-long-running-operation', decision: 'ask' }] },
    });
    client = await connectClient(th.url, th.key);
  });

  after(async function () {
    await client?.close();
    await th?.close();
  });

  it('sends the executed call’s progress on the await_approval request', async function () {
    const held = (await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } })) as CallToolResult;
    const requestId = String((held.structuredContent as { request_id?: string }).request_id);
    assert.equal(th.gatehouse.decide(requestId, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
    const { result, progress } = await callWithProgress(client, 'await_approval', { request_id: requestId });
    assert.match(text(result), /Long running operation completed/);
    assert.deepEqual(
      progress.map((p) => p.progress),
      [1, 2, 3],
    );
  });
});
