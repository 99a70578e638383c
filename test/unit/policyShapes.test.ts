import * as assert from 'node:assert/strict';
import { evaluatePolicy, parsePolicy, type Decision, type Matcher } from '../../src/core/approvals/policy';

/**
 * Every matcher against every value shape an agent can send. A restricting rule (deny, ask) must
 * match whenever the upstream could read the value as matching; an allow rule only when it is sure.
 * The policy under test defaults to allow (so a deny or ask rule that fails to match would let the
 * call through) or to ask (so an allow rule that matches wrongly would let it through).
 */
const tool = { server: 'fs', name: 'op' };

function verdict(decision: Decision, key: string, matcher: Matcher, value: unknown, defaults: Decision = decision === 'allow' ? 'ask' : 'allow'): Decision {
  const policy = parsePolicy({ defaults: { other: defaults, readOnly: defaults, destructive: defaults }, rules: [{ tool: 'fs__op', when: { [key]: matcher }, decision }] });
  return evaluatePolicy(policy, tool, { [key.split('.')[0]!]: value }).decision;
}

interface ShapeCase {
  readonly matcher: Matcher;
  readonly key?: string;
  /** Values a deny (and ask) rule must catch. */
  readonly caught: readonly unknown[];
  /** Values an allow rule with the same matcher must not allow. */
  readonly notAllowed: readonly unknown[];
  /** Values it still allows (so the rule is not simply dead). */
  readonly allowed: readonly unknown[];
}

const cases: Record<string, ShapeCase> = {
  'glob over a path': {
    matcher: { glob: '/etc/**' },
    caught: ['/etc/passwd', ['/etc/passwd'], [['/etc/passwd']], ['ok', '/etc/passwd'], '/ETC/passwd', ' /etc/passwd', '/tmp/../etc/passwd', '/etc/passwd\u0000.txt', '\\etc\\passwd', { path: '/etc/passwd' }, true, null, []],
    notAllowed: [['/etc/passwd'], '/etc/../root/x', '/etc/x\u0000', { p: '/etc/x' }, 7, null, '\\etc\\x'],
    allowed: ['/etc/hosts'],
  },
  'prefix': {
    matcher: { prefix: '/srv/' },
    caught: ['/srv/a', ['/srv/a'], ' /srv/a', '/SRV/a', '//srv/a', '/x/../srv/a', { v: '/srv/a' }, null],
    notAllowed: ['/srv/../etc/passwd', ['/srv/a'], 5, '/srv/a\u0000'],
    allowed: ['/srv/a'],
  },
  'regex': {
    matcher: { regex: '^rm ' },
    caught: ['rm -rf /', ['rm -rf /'], 'RM -rf /', ' rm -rf /', [['rm x']], { cmd: 'rm x' }, null],
    notAllowed: [['rm x'], { cmd: 'rm x' }, 3],
    allowed: ['rm x'],
  },
  'gt': {
    matcher: { gt: 100 },
    caught: [1000, '1000', '1e3', ' 1000', '1000 ', '0x3e8', '+1000', '1_000', '1000.0', [1000], [[1000]], ['5', 1000], 'lots', null, { n: 1000 }, '１０００'],
    notAllowed: ['1e3', ' 1000', '0x3e8', [1000], 'lots', null, true, '1_000', '１０００'],
    allowed: [1000, '1000'],
  },
  'lte': {
    matcher: { lte: 20 },
    caught: [5, '5', ['5'], '0x5', '5e0'],
    notAllowed: ['5e0', '0x5', [5], ' 5', 'five'],
    allowed: [5, '5', 20],
  },
  'in': {
    matcher: { in: ['delete', 'drop'] },
    caught: ['delete', 'DELETE', ' delete ', ['delete'], [['drop']], 'Delete\u200b', 'ｄｅｌｅｔｅ', ['read', 'delete']],
    notAllowed: ['DELETE', ['delete'], ' delete', 'Delete\u200b'],
    allowed: ['delete', 'drop'],
  },
  'equals a string': {
    matcher: 'main',
    key: 'branch',
    caught: ['main', 'MAIN', ['main'], ' main', 'main\u202e'],
    notAllowed: ['MAIN', ['main'], ' main', 'main\u202e'],
    allowed: ['main'],
  },
  'equals a number': {
    matcher: { equals: 1000 },
    caught: [1000, '1000', '1e3', '0x3e8', [1000], ' 1000'],
    notAllowed: ['1e3', '0x3e8', [1000], ' 1000'],
    allowed: [1000, '1000'],
  },
  'every element of an array': {
    matcher: { glob: '/etc/**' },
    key: 'paths.*',
    caught: [['/etc/passwd'], '/etc/passwd', [['/etc/passwd']], ['/ok', '/ETC/shadow'], { a: '/etc/passwd' }],
    notAllowed: ['/etc/passwd', [['/etc/passwd']], [], { a: '/etc/x' }, ['/etc/x', '/tmp/y']],
    allowed: [['/etc/a', '/etc/b']],
  },
};

describe('argument matchers fail closed for every value shape', function () {
  for (const [name, c] of Object.entries(cases)) {
    const key = c.key ?? 'value';
    const root = key.split('.')[0]!;
    describe(name, function () {
      for (const value of c.caught) {
        for (const decision of ['deny', 'ask'] as const) {
          it(`a ${decision} rule catches ${JSON.stringify(value)}`, function () {
            assert.equal(verdict(decision, key, c.matcher, value), decision === 'deny' ? 'deny' : 'ask');
          });
        }
      }
      for (const value of c.notAllowed) {
        it(`an allow rule does not allow ${JSON.stringify(value)}`, function () {
          assert.equal(verdictAt(root, key, c.matcher, value), 'ask');
        });
      }
      for (const value of c.allowed) {
        it(`an allow rule still allows ${JSON.stringify(value)}`, function () {
          assert.equal(verdictAt(root, key, c.matcher, value), 'allow');
        });
      }
    });
  }

  it('a value the rule cannot reach (missing) neither triggers a restriction nor allows', function () {
    const deny = parsePolicy({ defaults: { other: 'allow' }, rules: [{ tool: 'fs__op', when: { value: { gt: 100 } }, decision: 'deny' }] });
    assert.equal(evaluatePolicy(deny, tool, {}).decision, 'allow');
    const allow = parsePolicy({ rules: [{ tool: 'fs__op', when: { value: { gt: 100 } }, decision: 'allow' }] });
    assert.equal(evaluatePolicy(allow, tool, {}).decision, 'ask');
  });

  function verdictAt(root: string, key: string, matcher: Matcher, value: unknown): Decision {
    const policy = parsePolicy({ defaults: { other: 'ask' }, rules: [{ tool: 'fs__op', when: { [key]: matcher }, decision: 'allow' }] });
    return evaluatePolicy(policy, tool, { [root]: value }).decision;
  }
});
