import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { argumentsHash } from '../../src/core/approvals/canonical';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';

/** `gatehouse <args>` from source, in its own process, as a human or an agent would run it. */
function gatehouse(home: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GATEHOUSE_HOME: home, HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as CallToolResult;
}

function status(result: CallToolResult): string | undefined {
  return (result.structuredContent as { status?: string } | undefined)?.status;
}

function readPolicyFile(home: string): { defaults: Record<string, unknown>; rules: Array<Record<string, unknown>>; grants: Array<Record<string, unknown>> } {
  return JSON.parse(fs.readFileSync(path.join(home, 'policy.json'), 'utf8'));
}

describe('gatehouse policy (CLI) against a running gateway', function () {
  let th: TestGatehouse;
  let client: Client;

  beforeEach(async function () {
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'agent');
  });
  afterEach(async function () {
    await client.close();
    await th.close();
  });

  it('a deny rule added from the CLI applies at once', async function () {
    assert.deepEqual((await call(client, 'demo__echo', { text: 'before' })).structuredContent, { text: 'before' });
    const result = gatehouse(th.home, ['policy', 'deny', 'demo__echo', '--reason', 'echo is off today']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Added rule rule-1: deny demo__echo\./);
    assert.match(result.stdout, /applies it at once/);
    await until(() => th.gatehouse.policy.current().rules.length === 1);
    const blocked = await call(client, 'demo__echo', { text: 'after' });
    assert.equal(blocked.isError, true);
    assert.equal(status(blocked), 'blocked');
    assert.equal(fs.statSync(path.join(th.home, 'policy.json')).mode & 0o777, 0o600);
  });

  it('an allow rule added from the CLI is held by the gateway until the human confirms it, and says so', async function () {
    const result = gatehouse(th.home, ['policy', 'allow', 'demo__write_note', '--when', '{"name": {"prefix": "ok-"}}']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /This loosens the policy:\n {2}- allow rule "rule-1" for demo__write_note is new or widened/);
    assert.match(result.stdout, /Gatehouse will ask you to confirm this change in the editor or in the `gatehouse serve` terminal/);
    assert.match(result.stdout, /Nothing on the command line can confirm it/);
    assert.deepEqual(readPolicyFile(th.home).rules, [{ id: 'rule-1', tool: 'demo__write_note', when: { name: { prefix: 'ok-' } }, decision: 'allow' }]);

    await until(() => th.gatehouse.policy.pendingChange() !== undefined);
    assert.equal(status(await call(client, 'demo__write_note', { name: 'ok-1.txt', content: 'x' })), 'approval_required', 'still asked before confirmation');

    // The human confirms in the in-process channel (the editor or the serve terminal).
    th.gatehouse.policy.confirmPending();
    const allowed = await call(client, 'demo__write_note', { name: 'ok-2.txt', content: 'y' });
    assert.notEqual(status(allowed), 'approval_required');
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'ok-2.txt'), 'utf8'), 'y');
  });

  it('default destructive allow is a loosening too, and is held', async function () {
    const result = gatehouse(th.home, ['policy', 'default', 'destructive', 'allow']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /defaults\.destructive is now "allow"/);
    assert.match(result.stdout, /defaults\.destructive goes from "ask" to "allow"/);
    await until(() => th.gatehouse.policy.pendingChange() !== undefined);
    assert.equal(th.gatehouse.policy.current().defaults.destructive, 'ask');
  });

  it('has no command that confirms a held change: confirmation belongs to the human channel', function () {
    const result = gatehouse(th.home, ['policy', 'confirm']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /unknown command 'confirm'/);
  });
});

describe('gatehouse policy (CLI) on the file', function () {
  let home: string;
  beforeEach(function () {
    home = tempDir('gatehouse-policy-cli-');
  });
  afterEach(function () {
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('list shows the built-in defaults when there is no policy.json', function () {
    const result = gatehouse(home, ['policy', 'list']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /built-in defaults \(.*policy\.json does not exist yet\)/);
    assert.match(result.stdout, /readOnly {5}allow\n {2}destructive {2}ask\n {2}other {8}ask/);
    assert.match(result.stdout, /Rules: none\nGrants: none/);
    assert.equal(fs.existsSync(path.join(home, 'policy.json')), false, 'listing writes nothing');
  });

  it('list shows rules and grants with their ids, and revoke removes either by id', function () {
    const hash = argumentsHash({ name: 'a.txt', content: 'x' });
    fs.writeFileSync(
      path.join(home, 'policy.json'),
      JSON.stringify({
        defaults: { servers: { github: 'deny' } },
        rules: [{ tool: 'demo__*', decision: 'ask', reason: 'careful' }, { id: 'reads', tool: 'files__read_*', decision: 'allow' }],
        grants: [
          { tool: 'demo__write_note', argumentsHash: hash, arguments: { name: 'a.txt', content: 'x' }, createdAt: '2026-11-20T10:00:00.000Z' },
          { tool: 'demo__write_note', argumentsHash: hash, createdAt: '2026-11-21T10:00:00.000Z' },
        ],
      }),
    );
    const list = gatehouse(home, ['policy', 'list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /server github: deny/);
    assert.match(list.stdout, /rule-1 {2}ask {4}demo__\* {2}\(careful\)/);
    assert.match(list.stdout, /reads {3}allow {2}files__read_\*/);
    assert.match(list.stdout, /grant-1 {2}demo__write_note {2}name: "a\.txt", content: "x" {2}since 2026-11-20/, 'a grant shows the arguments it covers');
    assert.match(list.stdout, new RegExp(`grant-2 {2}demo__write_note {2}arguments not recorded \\(hash ${hash.slice(0, 12)}…\\) {2}since 2026-11-21`));

    const grant = gatehouse(home, ['policy', 'revoke', 'grant-1']);
    assert.equal(grant.status, 0, grant.stderr);
    assert.match(grant.stdout, /Removed grant grant-1\.\nThis tightens or keeps the policy/);
    assert.deepEqual(readPolicyFile(home).grants.map((kept) => kept.createdAt), ['2026-11-21T10:00:00.000Z']);

    const rule = gatehouse(home, ['policy', 'revoke', 'rule-1']);
    assert.match(rule.stdout, /Removed rule rule-1\.\nThis loosens the policy:\n {2}- ask rule "rule-1" for demo__\* is removed/);
    assert.deepEqual(
      readPolicyFile(home).rules.map((r) => r.id),
      ['reads'],
    );

    const missing = gatehouse(home, ['policy', 'revoke', 'rule-9']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /There is no rule or grant with id "rule-9".*gatehouse policy list/);
  });

  it('refuses bad --when JSON, an invalid matcher and an unknown decision, leaving policy.json alone', function () {
    const badJson = gatehouse(home, ['policy', 'allow', 'demo__echo', '--when', '{path: src}']);
    assert.equal(badJson.status, 1);
    assert.match(badJson.stderr, /--when is not valid JSON .*Quote it for the shell/);
    const badMatcher = gatehouse(home, ['policy', 'ask', 'demo__echo', '--when', '{"text": {"regex": "("}}']);
    assert.equal(badMatcher.status, 1);
    assert.match(badMatcher.stderr, /does not fit the policy format: .*not a valid regular expression.*policy\.json was not changed/);
    const badDecision = gatehouse(home, ['policy', 'default', 'other', 'maybe']);
    assert.notEqual(badDecision.status, 0);
    assert.match(badDecision.stderr, /Allowed choices are allow, ask, deny/);
    assert.equal(fs.existsSync(path.join(home, 'policy.json')), false);
  });

  it('warns when a tool name lacks the <server>__ prefix, since such a rule matches nothing', function () {
    const result = gatehouse(home, ['policy', 'deny', 'write_note']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /rules match "<server>__<tool>" \(e\.g\. demo__write_note\); "write_note" has no "__" and no "\*", so it matches no tool/);
  });

  it('never overwrites a broken policy.json', function () {
    const file = path.join(home, 'policy.json');
    fs.writeFileSync(file, '{ "rules": [ }');
    const result = gatehouse(home, ['policy', 'deny', 'demo__echo']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /policy\.json: not valid JSON at line 1.*fix the file/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{ "rules": [ }');
  });
});
