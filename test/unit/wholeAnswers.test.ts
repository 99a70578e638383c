import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, LATEST_PROTOCOL_VERSION, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { isUnchanging, keptPage, PAGE_SIZE } from '../../src/core/gateway/endpointBasics';
import { oneRequestId, WholeAnswers } from '../../src/core/gateway/wholeAnswers';

// The SDK's own server and streamable HTTP transport, driven with web Requests as Gatehouse drives
// them; only the HTTP socket is left out, which the gateway tests (passThrough.test.ts) cover.

const WINDOW_MS = 50;
const BIG = 'x'.repeat(1024 * 1024);
const toolList = (count: number, prefix: string): Tool[] => Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i}`, inputSchema: { type: 'object' } }));
/** What the test server lists; a change is a new array, as the gateway's catalog makes one. */
let listed: Tool[] = toolList(PAGE_SIZE + 200, 't');

interface Served {
  call(body: unknown): Promise<Response>;
  transport: WebStandardStreamableHTTPServerTransport;
  close(): Promise<void>;
}

async function served(): Promise<Served> {
  const server = new Server({ name: 'test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    if (name === 'quick') return { content: [{ type: 'text', text: 'done' }] };
    if (name === 'big') return { content: [{ type: 'text', text: BIG }] };
    if (name === 'progress') {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: 'p', progress: 1, total: 2 } });
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { content: [{ type: 'text', text: 'after progress' }] };
    }
    if (name === 'slow') {
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 4));
      return { content: [{ type: 'text', text: 'slow' }] };
    }
    throw new McpError(ErrorCode.InvalidParams, `no tool ${name}`);
  });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => keptPage('tools', listed, request.params?.cursor));
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => crypto.randomUUID(), enableJsonResponse: false });
  const answers = new WholeAnswers(transport);
  await server.connect(transport);
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> => {
    const request = new Request('http://127.0.0.1/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    });
    const handle = (): Promise<Response> => transport.handleRequest(request, { parsedBody: body });
    const id = oneRequestId(body);
    return id === undefined ? handle() : answers.answer(id, handle, () => transport.sessionId, WINDOW_MS);
  };
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 't', version: '1' } } });
  assert.equal(init.headers.get('content-type'), 'application/json', 'initialize is answered as JSON too');
  const sessionHeaders = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionHeaders);
  return {
    call: (body) => post(body, sessionHeaders),
    transport,
    close: () => server.close(),
  };
}

const callTool = (id: number, name: string): unknown => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, _meta: { progressToken: 'p' } } });

/** The JSON-RPC messages of an event stream, in order. */
async function events(response: Response): Promise<unknown[]> {
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as unknown);
}

/** The SDK's own record of requests it still has to answer (private; a leak would show here). */
function requestsOpen(transport: WebStandardStreamableHTTPServerTransport): number {
  const internals = transport as unknown as { _requestToStreamMapping: Map<unknown, unknown>; _requestResponseMap: Map<unknown, unknown> };
  return internals._requestToStreamMapping.size + internals._requestResponseMap.size;
}

describe('WholeAnswers: a POST of one request whose first message is its response is answered as JSON', () => {
  let server: Served;
  beforeEach(async () => {
    server = await served();
  });
  afterEach(async () => {
    await server.close();
  });

  it('answers a quick call as JSON with the session header, and the SDK forgets the request as it would have', async () => {
    const answer = await server.call(callTool(1, 'quick'));
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.ok(answer.headers.get('mcp-session-id'));
    assert.deepEqual(await answer.json(), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'done' }] } });
    assert.equal(requestsOpen(server.transport), 0);
  });

  it('answers a large result whole, as JSON', async () => {
    const answer = await server.call(callTool(2, 'big'));
    assert.equal(answer.headers.get('content-type'), 'application/json');
    const body = (await answer.json()) as { result: { content: Array<{ text: string }> } };
    assert.equal(body.result.content[0].text, BIG);
  });

  it('answers an error of the server as JSON', async () => {
    const answer = await server.call(callTool(3, 'missing'));
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.deepEqual(await answer.json(), { jsonrpc: '2.0', id: 3, error: { code: ErrorCode.InvalidParams, message: 'MCP error -32602: no tool missing' } });
  });

  it('streams a call that reports progress before its result: the client gets both, in order', async () => {
    const answer = await server.call(callTool(4, 'progress'));
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    assert.deepEqual(await events(answer), [
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1, total: 2 } },
      { jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'after progress' }] } },
    ]);
  });

  it('streams a call that says nothing within the window, and its result arrives on the stream', async () => {
    const answer = await server.call(callTool(5, 'slow'));
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    assert.deepEqual(await events(answer), [{ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'slow' }] } }]);
    assert.equal(requestsOpen(server.transport), 0);
  });

  it('leaves what the SDK refuses before running anything as the SDK answered it', async () => {
    const refused = await server.call({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: 'not an object' });
    assert.equal(refused.status, 400);
    assert.equal(requestsOpen(server.transport), 0);
  });

  it('answers an id used again after its request was answered on its own', async () => {
    const streamed = await server.call(callTool(7, 'slow'));
    assert.equal(streamed.headers.get('content-type'), 'text/event-stream');
    await events(streamed);
    const again = await server.call(callTool(7, 'quick'));
    assert.equal(again.headers.get('content-type'), 'application/json');
    assert.deepEqual(await again.json(), { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'done' }] } });
    assert.equal(requestsOpen(server.transport), 0);
  });

  it('serialises a page of an unchanged list once, answers each read under its own id, and a changed list anew', async () => {
    const list = (id: number, cursor?: string): unknown => ({ jsonrpc: '2.0', id, method: 'tools/list', params: cursor ? { cursor } : {} });
    const stringify = JSON.stringify;
    const stringified: unknown[] = [];
    JSON.stringify = ((value: unknown, ...rest: never[]) => {
      stringified.push(value);
      return stringify(value, ...rest);
    }) as typeof JSON.stringify;
    let first: { id: number; result: { tools: Tool[]; nextCursor?: string } };
    let again: typeof first;
    let second: typeof first;
    try {
      first = (await (await server.call(list(20))).json()) as typeof first;
      again = (await (await server.call(list(21))).json()) as typeof first;
      second = (await (await server.call(list(22, first.result.nextCursor))).json()) as typeof first;
    } finally {
      JSON.stringify = stringify;
    }
    assert.equal(first.id, 20);
    assert.equal(again.id, 21);
    assert.deepEqual(again.result, first.result);
    assert.equal(first.result.tools.length, PAGE_SIZE);
    assert.equal(second.id, 22);
    assert.deepEqual(second.result.tools.map((tool) => tool.name), listed.slice(PAGE_SIZE).map((tool) => tool.name));
    assert.equal(second.result.nextCursor, undefined);
    const page = keptPage('tools', listed, undefined);
    assert.equal(stringified.filter((value) => value === page).length, 1, 'the first page was serialised once for two reads');
    listed = toolList(3, 'changed');
    const changed = (await (await server.call(list(23))).json()) as typeof first;
    assert.deepEqual(changed.result.tools.map((tool) => tool.name), ['changed0', 'changed1', 'changed2']);
    assert.equal(requestsOpen(server.transport), 0);
  });

  it('keeps only the pages it hands out, so made-up cursors do not grow the cache', () => {
    const items = toolList(PAGE_SIZE + 10, 'k');
    const cursor = (offset: number): string => Buffer.from(String(offset), 'utf8').toString('base64url');
    assert.equal(keptPage('tools', items, undefined), keptPage('tools', items, undefined));
    assert.equal(keptPage('tools', items, cursor(PAGE_SIZE)), keptPage('tools', items, cursor(PAGE_SIZE)));
    assert.ok(Object.isFrozen(keptPage('tools', items, undefined)));
    const madeUp = keptPage('tools', items, cursor(3));
    assert.equal(madeUp.tools[0].name, 'k3');
    assert.notEqual(madeUp, keptPage('tools', items, cursor(3)));
    assert.equal(isUnchanging(madeUp), false);
    assert.equal(isUnchanging(keptPage('tools', items, cursor(PAGE_SIZE * 7))), false);
    assert.notEqual(keptPage('tools', [...items], undefined), keptPage('tools', items, undefined), 'a new list is a new page');
    assert.throws(() => keptPage('tools', items, 'not-a-cursor'), /Invalid cursor/);
  });

  it('passes batches, notifications and responses by', () => {
    assert.equal(oneRequestId([callTool(1, 'quick')]), undefined);
    assert.equal(oneRequestId({ jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
    assert.equal(oneRequestId({ jsonrpc: '2.0', id: 1, result: {} }), undefined);
    assert.equal(oneRequestId(callTool(8, 'quick')), 8);
  });
});
