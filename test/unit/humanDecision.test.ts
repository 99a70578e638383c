import * as assert from 'node:assert/strict';
import { DECISION_CHOICES, HumanDecisionSchema, MAX_REASON_LENGTH, decisionFor, isDecisionChoice, reasonProblem } from '../../src/core/approvals/humanDecision';

describe('human decisions: one vocabulary for every channel', function () {
  it('maps each choice to the decision it stands for', function () {
    assert.deepEqual(
      DECISION_CHOICES.map((choice) => decisionFor(choice, 'editor')),
      [
        { kind: 'approve', scope: 'once', channel: 'editor' },
        { kind: 'approve', scope: 'session', channel: 'editor' },
        { kind: 'approve', scope: 'arguments', channel: 'editor' },
        { kind: 'approve', scope: 'tool', channel: 'editor' },
        { kind: 'deny', channel: 'editor' },
        { kind: 'deny', scope: 'always', channel: 'editor' },
      ],
    );
  });

  it('keeps a reason with denials only, trimmed, and caps it at the one limit', function () {
    assert.deepEqual(decisionFor('deny', 'browser', '  use staging  '), { kind: 'deny', reason: 'use staging', channel: 'browser' });
    assert.deepEqual(decisionFor('once', 'browser', 'ignored'), { kind: 'approve', scope: 'once', channel: 'browser' });
    assert.deepEqual(decisionFor('deny', 'terminal', '   '), { kind: 'deny', channel: 'terminal' });
    const long = decisionFor('denyAlways', 'editor', 'x'.repeat(MAX_REASON_LENGTH + 50));
    assert.equal(long.kind === 'deny' && long.reason?.length, MAX_REASON_LENGTH);
    assert.equal(reasonProblem('x'.repeat(MAX_REASON_LENGTH)), undefined);
    assert.match(reasonProblem('x'.repeat(MAX_REASON_LENGTH + 1)) ?? '', /At most 500 characters/);
  });

  it('accepts what a channel sends and refuses anything else', function () {
    for (const choice of DECISION_CHOICES) {
      const { channel: _channel, ...input } = decisionFor(choice, 'editor', 'because');
      assert.equal(HumanDecisionSchema.safeParse(input).success, true, choice);
    }
    assert.equal(HumanDecisionSchema.safeParse({ kind: 'approve', scope: 'forever' }).success, false);
    assert.equal(HumanDecisionSchema.safeParse({ kind: 'deny', reason: 'x'.repeat(MAX_REASON_LENGTH + 1) }).success, false);
    assert.equal(isDecisionChoice('denyAlways'), true);
    assert.equal(isDecisionChoice('constructor'), false);
  });
});
