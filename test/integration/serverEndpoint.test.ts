import * as assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, everythingServer, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('/mcp/<server>: one upstream under its own names', function () {
  let th: TestGatehouse;
  let client: Client;

  before(async function () {
    th = await startTestGatehouse({ servers: { everything: everythingServer() }, policy: { rules: [{ tool: 'everything__echo', decision: 'ask' }] } });
    client = await connectClient(th.gatehouse.gateway.endpointUrl('everything'), th.key);
  });

  after(async function () {
    await client?.close();
    await th?.close();
  });

  it('lists the upstream\u2019s tools without a prefix, plus await_approval and nothing else of Gatehouse\u2019s', async function () {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('echo'), names.join(', '));
    assert.ok(names.includes('get-sum'));
    assert.ok(names.includes('await_approval'));
    assert.ok(!names.includes('list_integrations'));
    assert.ok(!names.some((n) => n.startsWith('everything__')));
  });

  it('runs allowed calls under the upstream\u2019s own names', async function () {
    const sum = (await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }, CallToolResultSchema)) as CallToolResult;
    assert.match(text(sum), /5/);
  });

  it('holds a call the policy asks about, under the rule for the aggregate name, and await_approval runs it', async function () {
    const held = (await client.callTool({ name: 'echo', arguments: { message: 'through the server endpoint' } }, CallToolResultSchema)) as CallToolResult;
    const s = held.structuredContent as { status?: string; request_id?: string };
    assert.equal(s.status, 'approval_required');
    const request = th.gatehouse.approvals.get(String(s.request_id));
    assert.equal(request?.tool, 'everything__echo', 'policy, grants and the audit log name the same tool on both endpoints');
    th.gatehouse.decide(String(s.request_id), { kind: 'approve', scope: 'once', channel: 'test' });
    const approved = (await client.callTool({ name: 'await_approval', arguments: { request_id: s.request_id } }, CallToolResultSchema)) as CallToolResult;
    assert.match(text(approved), /through the server endpoint/);
  });

  it('serves resources and prompts under their own URIs and names', async function () {
    const { resources } = await client.listResources();
    assert.ok(resources.some((r) => r.uri === 'demo://resource/static/document/architecture.md'));
    const read = await client.readResource({ uri: 'demo://resource/static/document/architecture.md' });
    assert.equal(read.contents[0].uri, 'demo://resource/static/document/architecture.md');
    assert.ok((await client.listPrompts()).prompts.some((p) => p.name === 'simple-prompt'));
  });

  it('needs the same credentials, answers an unknown server with a JSON 404, and keeps sessions to their endpoint', async function () {
    const url = th.gatehouse.gateway.endpointUrl('everything');
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    assert.equal((await fetch(url, { method: 'POST', headers, body: initialize })).status, 401);
    const unknown = await fetch(th.gatehouse.gateway.endpointUrl('nobody'), { method: 'POST', headers: { ...headers, authorization: `Bearer ${th.key}` }, body: initialize });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error?: string }).error, 'not_found');
    const aggregate = await connectClient(th.url, th.key);
    try {
      const sessionId = (aggregate.transport as { sessionId?: string }).sessionId ?? '';
      const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const crossed = await fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${th.key}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body: list });
      assert.equal(crossed.status, 404, 'a session opened on /mcp is not one of /mcp/everything');
    } finally {
      await aggregate.close();
    }
  });
});
