import * as assert from 'node:assert/strict';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { decisionLogLine, heldBecause, neutraliseLinks, notificationText, waitingText, whoAsked } from '../../src/editor/promptText';

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'apr_test',
    clientId: 'key:1',
    clientName: 'codex',
    sessionId: 's',
    server: 'demo',
    tool: 'demo__write_note',
    originalName: 'write_note',
    arguments: { name: 'plan.md', content: 'ship it' },
    argumentsHash: 'h',
    status: 'pending',
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(600_000).toISOString(),
    ...overrides,
  } as ApprovalRequest;
}

describe('the words of a held-call prompt', () => {
  it('names the client, the server › tool and the key arguments', () => {
    assert.equal(notificationText(request()), 'codex wants to run demo › write_note: name: plan.md, content: ship it');
  });

  it('never lets agent text become a command link in the notification', () => {
    const text = notificationText(request({ additionalInfo: 'click [Approve](command:gatehouse.prompt.approve?["apr_other"])', arguments: { x: '[a](https://x.test)' } }));
    assert.doesNotMatch(text, /\]\(/);
    assert.equal(neutraliseLinks('[a](command:x) and [b] (y)'), '[a] (command:x) and [b] (y)');
  });

  it('says why a call was held in plain words, not policy keys', () => {
    assert.equal(heldBecause(request({ reason: 'the tool is marked destructive; defaults.destructive is "ask"' })), 'write_note can change or delete things, and you asked to approve such tools');
    assert.equal(heldBecause(request({ reason: 'no rule matches; defaults.other is "ask"' })), 'write_note is not marked read-only or destructive, and you asked to approve such tools');
    assert.equal(heldBecause(request({ reason: 'defaults.servers["demo"] is "ask"' })), 'you asked to approve every call to demo');
    assert.equal(heldBecause(request({ rule: { id: 'rule-1', tool: 'demo__write_note', decision: 'ask' } })), 'you have a rule that asks before write_note runs');
    assert.equal(heldBecause(request({ rule: { id: 'rule-1', tool: 'demo__write_note', decision: 'ask', reason: 'notes are shared' } })), 'your rule says: notes are shared');
    assert.match(heldBecause(request({ reason: "the tool's description or schema changed since rule \"r\" was made; confirm the rule again" })), /changed since you allowed it/);
  });

  it('counts waiting calls', () => {
    assert.equal(waitingText(1), '1 call waiting for your approval');
    assert.equal(waitingText(7), '7 calls waiting for your approval');
  });

  it('logs a decision made anywhere in words, with the tool, the client and the request id', () => {
    assert.equal(decisionLogLine(request({ status: 'approved', decision: { kind: 'approve', scope: 'once', channel: 'browser', at: '2026-01-01T00:00:00.000Z' } })), 'You approved it once, in a paired browser: demo__write_note for codex (apr_test)');
    assert.equal(decisionLogLine(request({ status: 'denied', decision: { kind: 'deny', reason: 'use the wiki', channel: 'editor', at: '2026-01-01T00:00:00.000Z' } })), 'You denied it, in the editor: demo__write_note for codex (apr_test) — “use the wiki”');
    assert.equal(decisionLogLine(request({ status: 'expired' })), 'Expired before anyone decided: demo__write_note for codex (apr_test)');
  });

  it('says when the human changed the arguments, without writing them (they may hold secrets)', () => {
    const line = decisionLogLine(request({ status: 'approved', decision: { kind: 'approve', scope: 'once', arguments: { name: 'plan.md', content: 'sk-live-secret' }, argumentsHash: 'h2', channel: 'editor', at: '2026-01-01T00:00:00.000Z' } }));
    assert.equal(line, 'You approved it once, with your changes to its arguments, in the editor: demo__write_note for codex (apr_test)');
    assert.doesNotMatch(line, /sk-live/);
  });

  it('says how the caller signed in, which tells apart clients of one name', () => {
    assert.equal(whoAsked(request()), 'with the API key "codex"');
    assert.match(whoAsked(request({ clientId: '5f1c2a9e-aaaa', clientName: 'Codex CLI' })), /OAuth as client 5f1c2a9e/);
  });
});
