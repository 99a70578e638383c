import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  ListToolsResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { APPROVAL_REQUIRED_ERROR } from '../../src/core/gateway/featureRouter';
import { PAGE_SIZE } from '../../src/core/gateway/endpointBasics';
import { REPO_ROOT, connectClient, everythingServer, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';

function growingServer(tools = 0): { type: 'stdio'; command: string; args: string[]; env: Record<string, string> } {
  return { type: 'stdio', command: process.execPath, args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/growing.mjs')], env: { GROWING_TOOLS: String(tools) } };
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Resolves with the first notification of `schema` that `accept` takes. */
function next<T>(client: Client, schema: Parameters<Client['setNotificationHandler']>[0], accept: (n: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    client.setNotificationHandler(schema, (notification) => {
      if (accept(notification as T)) resolve(notification as T);
    });
  });
}

describe('features: resources, prompts, completion and logging through /mcp', function () {
  let th: TestGatehouse;
  let client: Client;

  before(async function () {
    th = await startTestGatehouse({
      servers: { everything: everythingServer(), growing: growingServer() },
      policy: {
        rules: [
          { tool: 'growing__add-item', decision: 'allow' },
          { tool: 'everything__toggle-*', decision: 'allow' },
        ],
      },
    });
    client = await connectClient(th.url, th.key);
  });

  after(async function () {
    await client?.close();
    await th?.close();
  });

  it('lists every upstream\u2019s resources and templates under URIs that name the server, and reads route back', async function () {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes('gatehouse://everything/demo://resource/static/document/architecture.md'), uris.join(', '));
    assert.ok(uris.includes('gatehouse://growing/memo://item/0'), uris.join(', '));
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'gatehouse://everything/demo://resource/dynamic/text/{resourceId}'));
    const read = await client.readResource({ uri: 'gatehouse://growing/memo://item/0' });
    assert.deepEqual(read.contents, [{ uri: 'gatehouse://growing/memo://item/0', text: 'item 0' }]);
    const fromTemplate = await client.readResource({ uri: 'gatehouse://everything/demo://resource/dynamic/text/7' });
    assert.match(String((fromTemplate.contents[0] as { text?: string }).text), /7/);
  });

  it('keeps resource_link items in tool results readable through the gateway', async function () {
    const result = (await client.callTool({ name: 'everything__get-resource-links', arguments: { count: 2 } }, CallToolResultSchema)) as CallToolResult;
    const links = result.content.filter((c) => c.type === 'resource_link');
    assert.equal(links.length, 2);
    for (const link of links) {
      assert.match(link.uri, /^gatehouse:\/\/everything\//);
      const read = await client.readResource({ uri: link.uri });
      assert.equal(read.contents[0].uri, link.uri);
    }
  });

  it('answers an unknown resource with MCP\u2019s "resource not found"', async function () {
    await assert.rejects(client.readResource({ uri: 'gatehouse://nobody/x://y' }), (error: unknown) => error instanceof McpError && error.code === -32002);
  });

  it('passes resources/list_changed and prompts/list_changed on when an upstream\u2019s lists change', async function () {
    const resourcesChanged = next(client, ResourceListChangedNotificationSchema);
    const promptsChanged = next(client, PromptListChangedNotificationSchema);
    await client.callTool({ name: 'growing__add-item', arguments: {} });
    await Promise.all([resourcesChanged, promptsChanged]);
    assert.ok((await client.listResources()).resources.some((r) => r.uri === 'gatehouse://growing/memo://item/1'));
    assert.ok((await client.listPrompts()).prompts.some((p) => p.name === 'growing__item-1'));
  });

  it('subscribes through the gateway and relays notifications/resources/updated under the client\u2019s URI', async function () {
    const uri = 'gatehouse://everything/demo://resource/dynamic/text/1';
    const updated = next<{ params: { uri: string } }>(client, ResourceUpdatedNotificationSchema, (n) => n.params.uri === uri);
    await client.subscribeResource({ uri });
    await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    assert.equal((await updated).params.uri, uri);
    await client.unsubscribeResource({ uri });
    await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
  });

  it('lists prompts as <server>__<prompt> and gets one with its arguments from its upstream', async function () {
    const { prompts } = await client.listPrompts();
    const names = prompts.map((p) => p.name);
    for (const name of ['everything__args-prompt', 'everything__simple-prompt', 'growing__item-0']) assert.ok(names.includes(name), names.join(', '));
    const got = await client.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'Lisbon', state: 'Lisboa' } });
    assert.match(JSON.stringify(got.messages), /Lisbon/);
  });

  it('routes completion by the prompt it completes', async function () {
    const completed = await client.complete({ ref: { type: 'ref/prompt', name: 'everything__completable-prompt' }, argument: { name: 'department', value: 'S' } });
    assert.deepEqual(completed.completion.values.sort(), ['Sales', 'Support']);
  });

  it('fans logging/setLevel out to the upstreams and relays their log messages with the server in logger', async function () {
    const message = next<LoggingMessageNotification>(client, LoggingMessageNotificationSchema, (n) => String(n.params.logger).startsWith('everything'));
    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
    const received = await message;
    assert.match(String(received.params.logger), /^everything(\/|$)/);
    await client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
  });

  it('holds a resource read that the policy asks about, and await_approval returns the contents once approved', async function () {
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: [...policy.rules, { id: 'ask-reads', tool: 'growing__resources/read', decision: 'ask' }] }));
    let requestId = '';
    await assert.rejects(client.readResource({ uri: 'gatehouse://growing/memo://item/0' }), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, APPROVAL_REQUIRED_ERROR);
      const data = error.data as { status: string; request_id: string; approval_url: string };
      assert.equal(data.status, 'approval_required');
      assert.match(data.approval_url, /\/approvals\/apr_/);
      requestId = data.request_id;
      return true;
    });
    assert.equal(th.gatehouse.approvals.get(requestId)?.tool, 'growing__resources/read');
    assert.equal(th.gatehouse.decide(requestId, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
    const approved = (await client.callTool({ name: 'await_approval', arguments: { request_id: requestId } }, CallToolResultSchema)) as CallToolResult;
    assert.notEqual(approved.isError, true, text(approved));
    assert.match(JSON.stringify(approved), /item 0/);
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: policy.rules.filter((r) => r.id !== 'ask-reads') }));
  });

  it('refuses a resource read that the policy denies', async function () {
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: [...policy.rules, { id: 'deny-reads', tool: 'growing__resources/read', decision: 'deny' }] }));
    await assert.rejects(client.readResource({ uri: 'gatehouse://growing/memo://item/0' }), /Blocked by Gatehouse policy/);
    await th.gatehouse.policy.update((policy) => ({ ...policy, rules: policy.rules.filter((r) => r.id !== 'deny-reads') }));
  });
});

describe('features: pagination of tools/list', function () {
  let th: TestGatehouse;
  let client: Client;

  before(async function () {
    th = await startTestGatehouse({ servers: { many: growingServer(1200) } });
    client = await connectClient(th.url, th.key);
  });

  after(async function () {
    await client?.close();
    await th?.close();
  });

  it(`returns tools in pages of ${PAGE_SIZE} with nextCursor, and every page together is the whole list`, async function () {
    const seen: Tool[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ListToolsResultSchema);
      assert.ok(page.tools.length <= PAGE_SIZE);
      seen.push(...page.tools);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    const upstreamTools = seen.filter((t) => t.name.startsWith('many__tool_'));
    assert.equal(upstreamTools.length, 1200);
    assert.equal(new Set(seen.map((t) => t.name)).size, seen.length, 'no tool twice');
    assert.equal(pages, Math.ceil(seen.length / PAGE_SIZE));
  });

  it('refuses a cursor it did not make', async function () {
    await assert.rejects(client.request({ method: 'tools/list', params: { cursor: 'not-a-cursor' } }, ListToolsResultSchema), /Invalid cursor/);
  });
});
