import * as assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, CallToolResultSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { getRequestListener } from '@hono/node-server';
import { connectClient, listenOnLoopback, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';

/**
 * A real HTTP MCP upstream that lists exactly the tools given, raw (names with spaces or dots, a
 * malformed schema), which the SDK's McpServer would refuse to build. Each call answers "ran <name>".
 */
async function rawToolsUpstream(tools: Record<string, unknown>[]): Promise<{ url: string; close(): Promise<void> }> {
  const listener = getRequestListener(async (request) => {
    const server = new Server({ name: 'raw', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }) as never);
    server.setRequestHandler(CallToolRequestSchema, async (call) => ({ content: [{ type: 'text', text: `ran ${call.params.name}` }] }));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(request);
  });
  return listenOnLoopback(listener);
}

const tool = (name: string, inputSchema: unknown = { type: 'object', properties: {} }): Record<string, unknown> => ({ name, description: `the tool ${name}`, inputSchema });

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function call(client: Client, name: string): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: {} }, CallToolResultSchema)) as CallToolResult;
}

describe('names the policy can trust: rules speak of the tool the agent called', function () {
  const upstreams: Awaited<ReturnType<typeof rawToolsUpstream>>[] = [];
  let th: TestGatehouse;
  let client: Client;

  before(async function () {
    const s01 = await rawToolsUpstream([tool('read file'), tool('read_file')]);
    const alphaDot = await rawToolsUpstream([tool('x'), tool('y')]);
    const alphaUnderscore = await rawToolsUpstream([tool('x')]);
    const broken = await rawToolsUpstream([tool('fine'), tool('bad', { type: 'string' }), tool('also_fine')]);
    upstreams.push(s01, alphaDot, alphaUnderscore, broken);
    th = await startTestGatehouse({
      servers: {
        s01: { type: 'http', url: s01.url },
        'team.alpha': { type: 'http', url: alphaDot.url },
        team_alpha: { type: 'http', url: alphaUnderscore.url },
        broken: { type: 'http', url: broken.url },
      },
      policy: {
        defaults: { other: 'allow' },
        rules: [
          // The names the agent sees, as the panel and list_integrations show them.
          { tool: 's01__read_file', decision: 'deny', reason: 'not this one' },
          { tool: 'team_alpha__x', decision: 'deny', reason: 'visible name' },
          // Written for a raw name that cleaning changed, before names were exposed.
          { tool: 'team.alpha__y', decision: 'deny', reason: 'raw name' },
        ],
      },
    });
    client = await connectClient(th.url, th.key);
  });

  after(async function () {
    await client?.close();
    await th?.close();
    for (const upstream of upstreams) await upstream.close();
  });

  it('exposes names that clean to the same string as _2 in byte order', async function () {
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const name of ['s01__read_file', 's01__read_file_2', 'team_alpha__x', 'team_alpha__x_2', 'team_alpha__y']) assert.ok(names.includes(name), names.join(', '));
    assert.equal(th.gatehouse.gateway.upstreams.catalog.get('s01__read_file')?.originalName, 'read file');
    assert.equal(th.gatehouse.gateway.upstreams.catalog.get('s01__read_file_2')?.originalName, 'read_file');
  });

  it('blocks the tool the agent sees under the denied name, and only that one', async function () {
    const blocked = await call(client, 's01__read_file');
    assert.equal((blocked.structuredContent as { status?: string }).status, 'blocked');
    assert.match(text(blocked), /not this one/);
    const other = await call(client, 's01__read_file_2');
    assert.equal(text(other), 'ran read_file', 'the differently named tool is not caught by a rule about another');
  });

  it('tells apart servers whose names clean alike', async function () {
    const blocked = await call(client, 'team_alpha__x');
    assert.equal((blocked.structuredContent as { status?: string }).status, 'blocked');
    assert.equal(text(await call(client, 'team_alpha__x_2')), 'ran x', 'team_alpha\u2019s x runs: the rule named team.alpha\u2019s');
  });

  it('keeps a deny rule written for the raw name restricting the tool it named', async function () {
    const blocked = await call(client, 'team_alpha__y');
    assert.equal((blocked.structuredContent as { status?: string }).status, 'blocked');
    assert.match(text(blocked), /raw name/);
  });

  it('records held calls, grants and "always" decisions under the exposed name', async function () {
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: [...policy.rules, { id: 'ask-2', tool: 's01__read_file_2', decision: 'ask' }] }));
    const held = await call(client, 's01__read_file_2');
    const requestId = String((held.structuredContent as { request_id?: string }).request_id);
    assert.equal(th.gatehouse.approvals.get(requestId)?.tool, 's01__read_file_2');
    th.gatehouse.decide(requestId, { kind: 'approve', scope: 'arguments', channel: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      th.gatehouse.policy.current().grants.map((g) => g.tool),
      ['s01__read_file_2'],
    );
  });

  it('skips a tool with a malformed inputSchema, keeps the rest of its server, and says why', async function () {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('broken__fine') && names.includes('broken__also_fine'), names.join(', '));
    assert.ok(!names.includes('broken__bad'));
    const state = th.gatehouse.gateway.upstreams.states().find((s) => s.name === 'broken');
    assert.equal(state?.status, 'ready');
    assert.deepEqual(
      state?.skipped?.map((s) => s.name),
      ['bad'],
    );
    const listed = await call(client, 'list_integrations');
    assert.match(text(listed), /skipped \(cannot be served\): bad: inputSchema/);
  });
});
