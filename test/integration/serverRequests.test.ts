import * as assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMessageRequest,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { connectClient, everythingServer, startTestGatehouse, until, writeServers, type TestGatehouse } from '../helpers/gatewayHarness';

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

interface CapableClient {
  readonly client: Client;
  readonly elicitations: ElicitRequest['params'][];
  readonly samplings: CreateMessageRequest['params'][];
}

/** An SDK client that declares elicitation (form and URL), sampling and roots, and answers them as a user's client would. */
async function capableClient(th: TestGatehouse, options: { capabilities?: ClientCapabilities; roots?: { uri: string; name?: string }[] } = {}): Promise<CapableClient> {
  const capabilities = options.capabilities ?? { elicitation: { form: {}, url: {} }, sampling: {}, roots: { listChanged: true } };
  const client = new Client({ name: 'capable', version: '1.0.0' }, { capabilities });
  const elicitations: ElicitRequest['params'][] = [];
  const samplings: CreateMessageRequest['params'][] = [];
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push(request.params);
      // Some clients accept elicitations by themselves; this one does too.
      return request.params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { name: 'Ada Lovelace', check: true } };
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      samplings.push(request.params);
      return { model: 'scripted-model', role: 'assistant', content: { type: 'text', text: 'a haiku from the client model' } };
    });
  }
  if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: options.roots ?? [{ uri: 'file:///work/project', name: 'project' }] }));
  await client.connect(new StreamableHTTPClientTransport(new URL(th.url), { requestInit: { headers: { Authorization: `Bearer ${th.key}` } } }));
  return { client, elicitations, samplings };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 60_000 })) as CallToolResult;
}

function nextHeld(th: TestGatehouse): Promise<ApprovalRequest> {
  return new Promise((resolve) => th.gatehouse.approvals.once('requested', resolve));
}

const ALLOW_TRIGGERS = {
  rules: [
    { tool: 'everything__trigger-elicitation-request', decision: 'allow' },
    { tool: 'everything__trigger-url-elicitation', decision: 'allow' },
    { tool: 'everything__trigger-sampling-request', decision: 'allow' },
  ],
};

describe('server-to-client requests: elicitation, sampling and roots reach the client whose call caused them', function () {
  let th: TestGatehouse;
  let capable: CapableClient;

  before(async function () {
    th = await startTestGatehouse({ servers: { everything: everythingServer() }, policy: ALLOW_TRIGGERS });
    capable = await capableClient(th);
  });

  after(async function () {
    await capable?.client.close();
    await th?.close();
  });

  it('tells the upstream what the connected client can do, so capability-dependent tools appear', async function () {
    const names = (await capable.client.listTools()).tools.map((t) => t.name);
    for (const tool of ['everything__trigger-elicitation-request', 'everything__trigger-url-elicitation', 'everything__trigger-sampling-request', 'everything__get-roots-list']) {
      assert.ok(names.includes(tool), `${tool} is listed: ${names.join(', ')}`);
    }
  });

  it('relays a form elicitation to the calling client and its answer back to the upstream', async function () {
    const result = await call(capable.client, 'everything__trigger-elicitation-request');
    assert.equal(capable.elicitations.length, 1);
    assert.equal(capable.elicitations[0].message, 'Please provide inputs for the following fields:');
    assert.match(text(result), /User provided the requested information/);
    assert.match(text(result), /Ada Lovelace/);
  });

  it('relays a URL elicitation', async function () {
    const result = await call(capable.client, 'everything__trigger-url-elicitation', { url: 'https://example.com/connect', message: 'Connect your account' });
    const asked = capable.elicitations.at(-1);
    assert.equal(asked?.mode, 'url');
    assert.equal((asked as { url?: string }).url, 'https://example.com/connect');
    assert.match(text(result), /User completed the URL elicitation flow/);
  });

  it("passes the upstream's URL-elicitation-required error to the client as the protocol error it is", async function () {
    await assert.rejects(call(capable.client, 'everything__trigger-url-elicitation', { url: 'https://example.com/first', errorPath: true }), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.UrlElicitationRequired);
      return true;
    });
  });

  it('holds sampling for the human, and relays it to the client only once approved', async function () {
    const held = nextHeld(th);
    const running = call(capable.client, 'everything__trigger-sampling-request', { prompt: 'write a haiku', maxTokens: 50 });
    const request = await held;
    assert.equal(request.tool, 'everything__sampling/createMessage');
    assert.equal(capable.samplings.length, 0, 'nothing reaches the client model before the human decides');
    assert.match(JSON.stringify(request.arguments), /write a haiku/, 'the human sees the messages');
    assert.equal(th.gatehouse.decide(request.id, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
    const result = await running;
    assert.equal(capable.samplings.length, 1);
    assert.equal(capable.samplings[0].systemPrompt, 'You are a helpful test server.');
    assert.match(text(result), /a haiku from the client model/);
  });

  it('answers the upstream with a rejection when the human denies sampling, and the client model is never asked', async function () {
    const before = capable.samplings.length;
    const held = nextHeld(th);
    const running = call(capable.client, 'everything__trigger-sampling-request', { prompt: 'spend tokens' });
    const request = await held;
    th.gatehouse.decide(request.id, { kind: 'deny', reason: 'not now', channel: 'test' });
    const result = await running;
    assert.equal(capable.samplings.length, before);
    assert.equal(result.isError, true);
    assert.match(text(result), /not now/);
  });

  it("shows the upstream the calling client's roots", async function () {
    const result = await call(capable.client, 'everything__get-roots-list');
    assert.match(text(result), /file:\/\/\/work\/project/);
  });

  it('never counts an elicitation answer as an approval of a held call', async function () {
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: [...policy.rules, { id: 'hold-echo', tool: 'everything__echo', decision: 'ask' }] }));
    const held = await call(capable.client, 'everything__echo', { message: 'held' });
    const requestId = String((held.structuredContent as { request_id?: string }).request_id);
    const answered = capable.elicitations.length;
    // The client accepts every elicitation by itself; the upstream asks while the call is held.
    await call(capable.client, 'everything__trigger-elicitation-request');
    assert.equal(capable.elicitations.length, answered + 1);
    assert.equal(th.gatehouse.approvals.get(requestId)?.status, 'pending');
  });
});

describe('server-to-client requests: clients without the capability, and roots from servers.json', function () {
  let th: TestGatehouse;

  before(async function () {
    th = await startTestGatehouse({ servers: { everything: everythingServer() }, policy: ALLOW_TRIGGERS });
  });

  after(async function () {
    await th?.close();
  });

  it('answers an elicitation with an error when the calling client did not declare elicitation', async function () {
    // A capable client first, so the upstream offers the elicitation tool at all.
    const capable = await capableClient(th);
    const plain = await connectClient(th.url, th.key, 'plain');
    try {
      const result = await call(plain, 'everything__trigger-elicitation-request');
      assert.equal(result.isError, true);
      assert.match(text(result), /does not support elicitation/);
      assert.equal(capable.elicitations.length, 0, "another session's client is never asked");
    } finally {
      await plain.close();
      await capable.client.close();
    }
  });

  it('shows an upstream the roots servers.json gives it instead of the clients\u2019 roots', async function () {
    writeServers(th.home, { everything: { ...everythingServer(), roots: [{ uri: 'file:///srv/only-this', name: 'configured' }] } });
    // A changed entry waits for the human; the test confirms it as the human would.
    await until(() => th.gatehouse.servers.pendingChange() !== undefined);
    th.gatehouse.confirmServers();
    await until(() => th.gatehouse.gateway.upstreams.get('everything')?.config.type === 'stdio' && Boolean((th.gatehouse.gateway.upstreams.get('everything')?.config as { roots?: unknown }).roots));
    await th.gatehouse.gateway.upstreams.settled();
    const capable = await capableClient(th, { roots: [{ uri: 'file:///home/client-root' }] });
    try {
      await until(async () => (await capable.client.listTools()).tools.some((t) => t.name === 'everything__get-roots-list'));
      const result = await call(capable.client, 'everything__get-roots-list');
      assert.match(text(result), /file:\/\/\/srv\/only-this/);
      assert.doesNotMatch(text(result), /client-root/);
    } finally {
      await capable.client.close();
    }
  });
});
