import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { CODEX_SERVER_NAME } from '../../src/core/clients/codex';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { Gateway } from '../../src/core/gateway/gateway';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { mentionedProtocolTerms } from '../helpers/skillTerms';

/**
 * The skills never drift from the product. The truth is what a live gatehouse with
 * the built-in demo says: its tools/list, and the results of real calls for every outcome.
 */

type Json = Record<string, unknown>;

const SKILL_FILES = ['gatehouse-overview/SKILL.md', 'gatehouse-approvals/SKILL.md', 'gatehouse-approvals/references/responses.md'];
const RESPONSES_FILE = 'gatehouse-approvals/references/responses.md';

/** Words the skills put in backticks that are not part of Gatehouse's protocol. */
const NOT_PROTOCOL = new Set(['curl']);
/** The keys of an MCP CallToolResult and its text content (MCP spec, tools/call). */
const RESULT_KEYS = ['content', 'structuredContent', 'isError', 'type', 'text'];
/** `<server>__<tool>`: how the gateway names an upstream tool, also for integrations the demo lacks. */
const GATEWAY_TOOL_NAME = /^[a-z0-9][a-z0-9_-]*__[a-z0-9][a-z0-9_]*$/;

function readSkillFile(relative: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, 'skills', relative), 'utf8');
}

async function call(client: Client, name: string, args: Json = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 30_000 })) as CallToolResult;
}

function structured(result: CallToolResult): Json {
  return (result.structuredContent ?? {}) as Json;
}

/** Every property name in a JSON schema, nested ones included, and every enum value. */
function schemaVocabulary(schema: unknown, names: Set<string>, enums: Set<string>): void {
  if (!schema || typeof schema !== 'object') return;
  const node = schema as { properties?: Record<string, unknown>; items?: unknown; enum?: unknown[] };
  for (const value of node.enum ?? []) if (typeof value === 'string') enums.add(value);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    names.add(name);
    schemaVocabulary(child, names, enums);
  }
  schemaVocabulary(node.items, names, enums);
}

function sortedKeys(value: unknown): string[] {
  return value && typeof value === 'object' ? Object.keys(value).sort() : [];
}

/** The parts of a result a skill may show: top-level keys, content item keys, structuredContent keys. */
function resultShape(result: Json): { top: string[]; content: string[][]; structured: string[] } {
  const top = sortedKeys(result).filter((key) => RESULT_KEYS.includes(key));
  const content = ((result.content as unknown[]) ?? []).map(sortedKeys);
  return { top, content, structured: sortedKeys(result.structuredContent) };
}

describe('skills never drift from the live gateway', function () {
  this.timeout(60_000);
  let th: TestGatehouse;
  let client: Client;
  let tools: Tool[];
  /** What a result of each kind really looks like, by the name the reference gives it. */
  const real = new Map<string, CallToolResult>();
  const toolNames = new Set<string>();
  const inputNames = new Set<string>();
  const outputNames = new Set<string>();
  const statuses = new Set<string>();
  const responseKeys = new Set<string>();
  let locked: Gateway | undefined;
  let signInTh: TestGatehouse | undefined;
  let signInClient: Client | undefined;

  before(async function () {
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'drift-test');
    // The same client lists the tools first, so the SDK validates every result below against the
    // output schemas it listed, as a strict client would.
    tools = (await client.listTools()).tools;
    for (const tool of tools) {
      toolNames.add(tool.name);
      schemaVocabulary(tool.inputSchema, inputNames, new Set());
      schemaVocabulary(tool.outputSchema, outputNames, statuses);
    }

    real.set('allowed', await call(client, 'demo__echo', { text: 'hello' }));
    real.set('list_integrations', await call(client, 'list_integrations'));

    const heldForApproval = await call(client, 'demo__write_note', { name: 'approved.txt', content: 'yes', additional_info: 'drift test' });
    real.set('approval_required', heldForApproval);
    const approvedId = String(structured(heldForApproval).request_id);
    const waiting = call(client, 'await_approval', { request_id: approvedId });
    await until(() => th.gatehouse.approvals.waitingCount() > 0);
    assert.equal(th.gatehouse.decide(approvedId, { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' }).ok, true);
    real.set('approved', await waiting);

    // Approved with changes: the human edited the content before approving.
    const editedId = String(structured(await call(client, 'demo__write_note', { name: 'notes.md', content: 'draft' })).request_id);
    assert.equal(th.gatehouse.decide(editedId, { kind: 'approve', scope: 'once', arguments: { name: 'notes.md', content: 'final' }, channel: 'editor', by: 'Ada' }).ok, true);
    real.set('approved_edited', await call(client, 'await_approval', { request_id: editedId }));

    // A name the demo's own schema refuses: approved, run, and failed on the upstream.
    const failingId = String(structured(await call(client, 'demo__write_note', { name: '../outside.txt', content: 'no' })).request_id);
    const failing = call(client, 'await_approval', { request_id: failingId });
    await until(() => th.gatehouse.approvals.waitingCount() > 0);
    assert.equal(th.gatehouse.decide(failingId, { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' }).ok, true);
    real.set('approved_error', await failing);

    const deniedId = String(structured(await call(client, 'demo__write_note', { name: 'denied.txt', content: 'no' })).request_id);
    th.gatehouse.decide(deniedId, { kind: 'deny', reason: 'not in the shared folder', channel: 'editor' });
    real.set('denied', await call(client, 'await_approval', { request_id: deniedId }));

    th.gatehouse.awaitWindowMs = 100;
    const pendingId = String(structured(await call(client, 'demo__write_note', { name: 'pending.txt', content: 'later' })).request_id);
    real.set('pending', await call(client, 'await_approval', { request_id: pendingId }));

    // The shortest configurable expiry is a minute; like approvals.test.ts, move the deadline instead of waiting.
    const expiringId = String(structured(await call(client, 'demo__write_note', { name: 'expired.txt', content: 'late' })).request_id);
    const expiring = th.gatehouse.approvals.get(expiringId)!;
    expiring.expiresAt = new Date(Date.now() + 50).toISOString();
    (th.gatehouse.approvals as unknown as { schedule(request: ApprovalRequest): void }).schedule(expiring);
    await until(() => th.gatehouse.approvals.get(expiringId)?.status === 'expired');
    real.set('expired', await call(client, 'await_approval', { request_id: expiringId }));

    real.set('unknown', await call(client, 'await_approval', { request_id: 'apr_doesnotexist' }));

    th.gatehouse.policy.update((policy) => ({ ...policy, rules: [...policy.rules, { id: 'no-time', tool: 'demo__get_time', decision: 'deny', reason: 'clocks are off today' }] }));
    real.set('blocked', await call(client, 'demo__get_time'));

    // A server that needs sign-in: an OAuth-protected upstream (a second gateway) nobody signed in to.
    const lockedHome = tempDir();
    locked = new Gateway({ home: lockedHome, port: 0, ...oauthGatewayOptions(new OAuthService({ home: lockedHome, consent: new ConsentBroker() })) });
    await locked.start();
    signInTh = await startTestGatehouse({ servers: { linear: { type: 'http', url: locked.url } } });
    signInClient = await connectClient(signInTh.url, signInTh.key, 'drift-test');
    real.set('needs_sign_in', await call(signInClient, 'linear__create_issue', { title: 'x' }));
    real.set('list_integrations_sign_in', await call(signInClient, 'list_integrations'));

    for (const result of real.values()) {
      const walk = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value && typeof value === 'object') {
          for (const [key, child] of Object.entries(value)) {
            responseKeys.add(key);
            if (key === 'status' && typeof child === 'string') statuses.add(child);
            walk(child);
          }
        }
      };
      walk(result.structuredContent);
    }
  });

  after(async function () {
    await client?.close();
    await th?.close();
    await signInClient?.close();
    await signInTh?.close();
    await locked?.stop();
  });

  describe('the truth, collected from the live gateway', function () {
    it('lists await_approval, list_integrations and the demo tools in tools/list', function () {
      for (const name of ['await_approval', 'list_integrations', 'demo__echo', 'demo__get_time', 'demo__write_note']) assert.ok(toolNames.has(name), name);
    });

    it('has request_id and additional_info among the input properties', function () {
      assert.ok(inputNames.has('request_id'));
      assert.ok(inputNames.has('additional_info'));
    });

    it('has every outcome as a status: five await_approval enums, approval_required and blocked from real calls', function () {
      for (const status of ['approved', 'denied', 'expired', 'pending', 'error', 'approval_required', 'blocked', 'needs_sign_in', 'needs-sign-in']) assert.ok(statuses.has(status), status);
      assert.equal(structured(real.get('needs_sign_in')!).status, 'needs_sign_in');
      assert.equal(structured(real.get('approval_required')!).status, 'approval_required');
      for (const status of ['approved', 'denied', 'pending', 'expired', 'blocked']) assert.equal(structured(real.get(status)!).status, status);
      assert.equal(real.get('blocked')!.isError, true);
      assert.equal(real.get('unknown')!.isError, true);
      assert.notEqual(real.get('approval_required')!.isError, true);
    });

    it('gives a held call a result that a client validating output schemas accepts', function () {
      // The client that produced these results had listed the tools, so the SDK validated them.
      assert.equal(structured(real.get('approval_required')!).status, 'approval_required');
      const note = tools.find((tool) => tool.name === 'demo__write_note')!;
      assert.ok(JSON.stringify(note.outputSchema).includes('approval_required'));
    });

    it('answers within the await_approval output schema', function () {
      const schema = tools.find((tool) => tool.name === 'await_approval')!.outputSchema as { properties: Json; required: string[] };
      for (const kind of ['approved', 'approved_error', 'denied', 'pending', 'expired', 'unknown']) {
        const keys = Object.keys(structured(real.get(kind)!));
        for (const key of keys) assert.ok(key in schema.properties, `${kind} answers ${key}, which the output schema lacks`);
        for (const key of schema.required) assert.ok(keys.includes(key), `${kind} lacks required ${key}`);
      }
    });
  });

  describe('every protocol term the skills mention exists', function () {
    for (const file of SKILL_FILES) {
      it(`${file}: identifiers are tools, fields, statuses or result keys of the live gateway`, function () {
        const terms = mentionedProtocolTerms(readSkillFile(file));
        const known = new Set([...toolNames, ...inputNames, ...outputNames, ...statuses, ...responseKeys, ...RESULT_KEYS, CODEX_SERVER_NAME, `mcp__${CODEX_SERVER_NAME}`]);
        const unknown = terms.identifiers.filter((term) => {
          if (known.has(term) || NOT_PROTOCOL.has(term)) return false;
          // An example integration (`github__create_issue`), named the gateway's way, also as Claude Code shows it.
          const bare = term.replace(new RegExp(`^mcp__${CODEX_SERVER_NAME}__`), '');
          return !GATEWAY_TOOL_NAME.test(bare) || bare.startsWith('demo__');
        });
        assert.deepEqual(unknown, [], `${file} mentions terms the gateway does not have`);
      });

      it(`${file}: object keys and status values are real`, function () {
        const terms = mentionedProtocolTerms(readSkillFile(file));
        const keys = new Set([...inputNames, ...outputNames, ...responseKeys, ...RESULT_KEYS]);
        assert.deepEqual(terms.keys.filter((key) => !keys.has(key)), [], 'unknown keys');
        assert.deepEqual(terms.statuses.filter((status) => !statuses.has(status)), [], 'unknown statuses');
      });
    }
  });

  describe('references/responses.md shows the real response shapes', function () {
    const examples = (): Json[] => [...readSkillFile(RESPONSES_FILE).matchAll(/^```json\n([\s\S]*?)^```/gm)].map((match) => JSON.parse(match[1]!) as Json);

    /** Which real response an example stands for: its status, or what else gives it away. */
    function kindOf(example: Json): string {
      const status = structured(example as CallToolResult).status;
      if (status === 'approved' && example.isError === true) return 'approved_error';
      if (status === 'approved' && structured(example as CallToolResult).arguments_changed === true) return 'approved_edited';
      if (status === 'error') return 'unknown';
      if (typeof status === 'string') return status;
      if ('integrations' in structured(example as CallToolResult)) return 'list_integrations';
      if (example.isError === true) return 'unknown';
      return 'allowed';
    }

    it('has one example for each response the agent must handle', function () {
      const kinds = examples().map(kindOf).sort();
      assert.deepEqual(kinds, ['approval_required', 'approved', 'approved_edited', 'approved_error', 'blocked', 'denied', 'expired', 'list_integrations', 'needs_sign_in', 'pending', 'unknown']);
    });

    it('gives each example the keys of the real response: top level, content items and structuredContent', function () {
      for (const example of examples()) {
        const kind = kindOf(example);
        const truth = resultShape(real.get(kind) as unknown as Json);
        const shown = resultShape(example);
        assert.deepEqual(shown.top, truth.top, `${kind}: top-level keys`);
        assert.deepEqual(shown.content, truth.content, `${kind}: content items`);
        if (kind === 'list_integrations') continue;
        assert.deepEqual(shown.structured, truth.structured, `${kind}: structuredContent keys`);
      }
    });

    it('shows the approved result nested as the executed call returned it, and the scope and channel values the gateway uses', function () {
      for (const kind of ['approved', 'approved_error']) {
        const shown = structured(examples().find((example) => kindOf(example) === kind)! as CallToolResult);
        const truth = structured(real.get(kind)!);
        assert.deepEqual(sortedKeys(shown.result), sortedKeys(truth.result), `${kind}: result keys`);
        assert.equal(shown.is_error, kind === 'approved_error');
        assert.equal((truth.result as Json).is_error, kind === 'approved_error');
      }
      const edited = structured(examples().find((example) => kindOf(example) === 'approved_edited')! as CallToolResult);
      const editedTruth = structured(real.get('approved_edited')!);
      assert.match(String(edited.message), /^Approved with changes by .*the human changed the arguments before approving\. Gatehouse ran \S+ with \{.*\} instead of the arguments you asked for \(\{.*\}\); this is its result\./);
      assert.equal(edited.message, editedTruth.message, 'the same edit gives word for word the message the skill shows');
      assert.deepEqual([edited.arguments, edited.original_arguments], [editedTruth.arguments, editedTruth.original_arguments]);
      const approved = examples().find((example) => kindOf(example) === 'approved')!;
      const shown = structured(approved as CallToolResult);
      assert.equal(typeof shown.is_error, 'boolean');
      assert.ok(['once', 'session', 'tool', 'arguments'].includes(String(shown.scope)), `scope ${shown.scope}`);
      assert.ok(['editor', 'browser', 'terminal'].includes(String(shown.channel)), `channel ${shown.channel}`);
    });

    it('gives integrations the keys list_integrations returns, error only with status error or needs-sign-in', function () {
      const linear = (structured(real.get('list_integrations_sign_in')!).integrations as Json[]).find((integration) => integration.name === 'linear')!;
      assert.equal(linear.status, 'needs-sign-in');
      assert.equal(typeof linear.error, 'string');
      const example = examples().find((candidate) => kindOf(candidate) === 'list_integrations')!;
      const truthDemo = (structured(real.get('list_integrations')!).integrations as Json[]).find((integration) => integration.name === 'demo')!;
      for (const integration of structured(example as CallToolResult).integrations as Json[]) {
        const expected = sortedKeys(truthDemo).concat(integration.status === 'error' || integration.status === 'needs-sign-in' ? ['error'] : []).sort();
        assert.deepEqual(sortedKeys(integration), expected, String(integration.name));
        assert.ok(statuses.has(String(integration.status)), String(integration.status));
      }
      const demo = (structured(example as CallToolResult).integrations as Json[]).find((integration) => integration.name === 'demo');
      assert.deepEqual(demo?.tools, truthDemo.tools, 'the demo lists the real demo tools');
    });

    it('shows request ids and approval URLs in the form the gateway gives them', function () {
      const held = structured(real.get('approval_required')!);
      const port = th.gatehouse.gateway.port;
      assert.equal(held.approval_url, `http://127.0.0.1:${port}/approvals/${held.request_id}`);
      const idPrefix = /^apr_/;
      for (const example of examples()) {
        const shown = structured(example as CallToolResult);
        if (typeof shown.request_id === 'string') assert.match(shown.request_id, idPrefix, `${kindOf(example)}: request_id`);
        if (typeof shown.approval_url === 'string') {
          assert.match(shown.approval_url, /^http:\/\/127\.0\.0\.1:\d+\/approvals\//);
          assert.ok(shown.approval_url.endsWith(`/approvals/${shown.request_id}`), 'the URL ends with the request id');
        }
      }
    });
  });
});
