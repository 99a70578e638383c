import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { readAudit } from '../../src/core/approvals/auditReader';
import { argumentsHash } from '../../src/core/approvals/canonical';
import { editedDecisionFor } from '../../src/core/approvals/humanDecision';
import { connectClient, startTestGatehouse, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { callTool as call, structuredOf as structured, toolText as text } from '../helpers/pairedBrowser';

describe('approve with changes: the human edits a held call before it runs', function () {
  let th: TestGatehouse;
  let client: Client;
  const note = (name: string): string => path.join(th.home, 'demo', name);

  beforeEach(async function () {
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'codex-test');
  });
  afterEach(async function () {
    await client.close();
    await th.close();
  });

  async function hold(args: Record<string, unknown>): Promise<string> {
    const held = structured(await call(client, 'demo__write_note', args));
    assert.equal(held.status, 'approval_required');
    return String(held.request_id);
  }

  it('runs the edited arguments exactly once and tells the agent, in structuredContent and text, what changed', async function () {
    const id = await hold({ name: 'draft.txt', content: 'rm -rf everything' });
    const waiting = call(client, 'await_approval', { request_id: id });
    await until(() => th.gatehouse.approvals.waitingCount(id) > 0);
    const decided = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: 'draft.txt', content: 'a gentler note' }));
    assert.equal(decided.ok, true);
    const result = await waiting;
    const s = structured(result);
    assert.equal(s.status, 'approved');
    assert.equal(s.arguments_changed, true);
    assert.deepEqual(s.arguments, { content: 'a gentler note', name: 'draft.txt' });
    assert.deepEqual(s.original_arguments, { content: 'rm -rf everything', name: 'draft.txt' });
    assert.match(String(s.message), /the human changed the arguments before approving/);
    assert.match(String(s.message), /"content":"a gentler note"/);
    assert.match(String(s.message), /"content":"rm -rf everything"/);
    assert.match(text(result), /changed the arguments/);
    assert.equal((s.result as { structured_content: { bytes: number } }).structured_content.bytes, Buffer.byteLength('a gentler note'));
    assert.equal(fs.readFileSync(note('draft.txt'), 'utf8'), 'a gentler note');

    // A second await gets the same result from the one execution; the file is not written again.
    fs.writeFileSync(note('draft.txt'), 'touched after the run');
    const again = structured(await call(client, 'await_approval', { request_id: id }));
    assert.equal(again.arguments_changed, true);
    assert.equal(fs.readFileSync(note('draft.txt'), 'utf8'), 'touched after the run');
  });

  it('records both the agent\'s and the human\'s arguments in the audit log', async function () {
    const id = await hold({ name: 'audit.txt', content: 'original' });
    th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: 'audit.txt', content: 'edited' }));
    await call(client, 'await_approval', { request_id: id });
    await until(() => readAudit(th.home).some((e) => e.requestId === id && e.event === 'executed'));
    const lines = readAudit(th.home).filter((e) => e.requestId === id);
    const decided = lines.find((e) => e.event === 'decided')!;
    assert.deepEqual(decided.arguments, { content: 'original', name: 'audit.txt' });
    assert.deepEqual(decided.editedArguments, { content: 'edited', name: 'audit.txt' });
    assert.equal(decided.argumentsHash, argumentsHash({ name: 'audit.txt', content: 'original' }));
    assert.equal(decided.editedArgumentsHash, argumentsHash({ name: 'audit.txt', content: 'edited' }));
    const executed = lines.find((e) => e.event === 'executed')!;
    assert.equal(executed.editedArgumentsHash, argumentsHash({ name: 'audit.txt', content: 'edited' }));
  });

  it('a grant made from an edited call covers the edited arguments, never the original ones', async function () {
    const id = await hold({ name: 'g.txt', content: 'agent wrote this' });
    th.gatehouse.decide(id, editedDecisionFor('arguments', 'test', { name: 'g.txt', content: 'human wrote this' }));
    await call(client, 'await_approval', { request_id: id });
    const edited = await call(client, 'demo__write_note', { name: 'g.txt', content: 'human wrote this' });
    assert.equal(structured(edited).bytes, Buffer.byteLength('human wrote this'), 'the edited arguments now run without asking');
    const original = structured(await call(client, 'demo__write_note', { name: 'g.txt', content: 'agent wrote this' }));
    assert.equal(original.status, 'approval_required', 'the agent\'s original arguments still ask');
    const grants = (JSON.parse(fs.readFileSync(path.join(th.home, 'policy.json'), 'utf8')) as { grants: { argumentsHash: string; arguments?: unknown }[] }).grants;
    assert.deepEqual(grants.map((grant) => [grant.argumentsHash, grant.arguments]), [[argumentsHash({ name: 'g.txt', content: 'human wrote this' }), { content: 'human wrote this', name: 'g.txt' }]], 'policy.json shows the edited arguments as what the grant covers');
  });

  it('refuses an edit the tool\'s input schema rejects, with a message that says why, and keeps the call pending', async function () {
    const id = await hold({ name: 'v.txt', content: 'x' });
    const wrongType = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: 'v.txt', content: 42 }));
    assert.equal(wrongType.ok, false);
    assert.match(wrongType.ok ? '' : wrongType.message, /write_note does not accept these arguments: content must be string/);
    const missing = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { content: 'no name' }));
    assert.match(missing.ok ? '' : missing.message, /name is required/);
    const badPattern = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: '../escape.txt', content: 'x' }));
    assert.match(badPattern.ok ? '' : badPattern.message, /name must match pattern/);
    const info = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: 'v.txt', content: 'x', additional_info: 'sneaky' }));
    assert.match(info.ok ? '' : info.message, /additional_info is the agent's note/);
    assert.equal(th.gatehouse.approvals.get(id)?.status, 'pending');
    assert.equal(fs.existsSync(note('escape.txt')), false);
    assert.equal(fs.existsSync(path.join(th.home, 'escape.txt')), false);
  });

  it('an edit cannot run what a deny rule denies: the call stays pending and nothing runs', async function () {
    th.gatehouse.policy.update((p) => ({ ...p, rules: [...p.rules, { id: 'no-secrets', tool: 'demo__write_note', when: { name: { glob: 'secret*' } }, decision: 'deny', reason: 'secret files are off limits' }] }));
    const id = await hold({ name: 'public.txt', content: 'hello' });
    const result = th.gatehouse.decide(id, editedDecisionFor('once', 'test', { name: 'secret.txt', content: 'hello' }));
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /Your policy denies demo__write_note with these arguments \(rule "no-secrets" \(secret files are off limits\)\), and an edit cannot run what the policy denies/);
    assert.equal(th.gatehouse.approvals.get(id)?.status, 'pending');
    assert.equal(fs.existsSync(note('secret.txt')), false);
  });

  it('an "edit" that leaves the arguments as they were is a plain approval', async function () {
    const id = await hold({ name: 'same.txt', content: 'same' });
    th.gatehouse.decide(id, editedDecisionFor('once', 'test', { content: 'same', name: 'same.txt' }));
    const s = structured(await call(client, 'await_approval', { request_id: id }));
    assert.equal(s.status, 'approved');
    assert.equal(s.arguments_changed, undefined);
    assert.doesNotMatch(String(s.message), /changed/);
  });

  it('the agent cannot change what runs: arguments sent with await_approval are not an edit', async function () {
    const id = await hold({ name: 'agent.txt', content: 'as asked' });
    th.gatehouse.decide(id, { kind: 'approve', scope: 'once', channel: 'test' });
    const result = await call(client, 'await_approval', { request_id: id, arguments: { name: 'agent.txt', content: 'swapped by the agent' } });
    assert.notEqual(structured(result).arguments_changed, true);
    assert.equal(fs.readFileSync(note('agent.txt'), 'utf8'), 'as asked');
  });
});
