import * as assert from 'node:assert/strict';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { decisionLogLine } from '../../src/editor/decisionLog';

function decided(decision: ApprovalRequest['decision'], status: ApprovalRequest['status'] = 'approved'): ApprovalRequest {
  return {
    id: 'apr_1',
    clientId: 'c1',
    clientName: 'Codex',
    sessionId: 's1',
    server: 'demo',
    tool: 'demo__write_note',
    originalName: 'write_note',
    arguments: { name: 'a.txt', content: 'token sk-secret' },
    argumentsHash: 'h1',
    createdAt: '2026-01-01T00:00:00Z',
    expiresAt: '2026-01-01T00:10:00Z',
    status,
    decision,
  };
}

describe('the Output log line for a decision', function () {
  it('names the decision, the call, the client and the channel, for batch and Details decisions alike', function () {
    assert.equal(
      decisionLogLine(decided({ kind: 'approve', scope: 'session', channel: 'editor', at: 'now' })),
      'Approved for this session demo › write_note for Codex (apr_1) in the editor',
    );
    assert.equal(
      decisionLogLine(decided({ kind: 'deny', reason: 'not today', channel: 'browser', at: 'now' }, 'denied')),
      'Denied demo › write_note for Codex (apr_1) in a paired browser; reason given to the agent: not today',
    );
  });

  it('says an approval changed the arguments, and never writes arguments (they may hold secrets)', function () {
    const line = decisionLogLine(decided({ kind: 'approve', scope: 'once', arguments: { name: 'b.txt', content: 'sk-other' }, argumentsHash: 'h2', channel: 'editor', at: 'now' }));
    assert.equal(line, 'Approved once with changed arguments demo › write_note for Codex (apr_1) in the editor');
    assert.doesNotMatch(line, /sk-/);
  });
});
