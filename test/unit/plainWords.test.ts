import * as assert from 'node:assert/strict';
import { auditEntryInWords, verdictDetails, verdictInWords } from '../../src/core/approvals/plainWords';
import { evaluatePolicy, parsePolicy } from '../../src/core/approvals/policy';
import type { PolicyFileInput, PolicyTool } from '../../src/core/approvals/policy';

// The words are read from the reasons the real policy writes, so each case evaluates it.
function words(policy: PolicyFileInput, tool: PolicyTool, args: Record<string, unknown> = {}): { why: string; details: string } {
  const verdict = evaluatePolicy(parsePolicy(policy), tool, args);
  return { why: verdictInWords(verdict, tool.name, tool.server), details: verdictDetails(verdict) };
}

const writeNote: PolicyTool = { server: 'demo', name: 'write_note', annotations: { destructiveHint: true } };
const getTime: PolicyTool = { server: 'demo', name: 'get_time', annotations: { readOnlyHint: true } };
const plain: PolicyTool = { server: 'demo', name: 'mystery' };

describe('the policy in plain words', () => {
  it('says why each default decides, keeping the setting in the details line', () => {
    assert.deepEqual(words({}, writeNote), { why: 'write_note can change or delete things, and you asked to approve such tools', details: 'the tool is marked destructive; defaults.destructive is "ask"' });
    assert.equal(words({}, getTime).why, 'get_time only reads, and you let reading tools run');
    assert.equal(words({ defaults: { other: 'deny' } }, plain).why, 'mystery is not marked read-only or destructive, and you block such tools');
    assert.equal(words({ defaults: { servers: { demo: 'ask' } } }, plain).why, 'you asked to approve every call to demo');
  });

  it('names the rule or grant that decided only in the details line', () => {
    const ruled = words({ rules: [{ id: 'notes', tool: 'demo__write_note', decision: 'deny', reason: 'notes are shared' }] }, writeNote);
    assert.deepEqual(ruled, { why: 'your rule says: notes are shared', details: 'rule "notes" (deny)' });
    assert.equal(words({ rules: [{ tool: 'demo__write_note', decision: 'allow' }] }, writeNote).why, 'you have a rule that lets write_note run');
  });

  it('tells what happened in the audit log as a person would say it', () => {
    assert.equal(auditEntryInWords({ event: 'decided', decision: 'approve:tool', channel: 'browser' }), 'You approved it, always for this tool, in a paired browser');
    assert.equal(auditEntryInWords({ event: 'decided', decision: 'deny', channel: 'terminal' }), 'You denied it, in the serve terminal');
    assert.equal(auditEntryInWords({ event: 'allowed', decision: 'allow', resultStatus: 'ok' }), 'Ran without asking');
    assert.equal(auditEntryInWords({ event: 'expired' }), 'Expired before anyone decided');
  });

  it('tells an approval with changes, and its run, from a plain one in History', function () {
    assert.equal(auditEntryInWords({ event: 'decided', decision: 'approve:once', channel: 'editor', editedArgumentsHash: 'h2' }), 'You approved it once, with your changes to its arguments, in the editor');
    assert.equal(auditEntryInWords({ event: 'executed', resultStatus: 'ok', editedArgumentsHash: 'h2' }), 'Ran with your changed arguments after your approval');
    assert.equal(auditEntryInWords({ event: 'executed', resultStatus: 'error', editedArgumentsHash: 'h2' }), 'Ran with your changed arguments after your approval; the tool reported an error');
  });
});
