import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import type { AuditEvent } from '../../src/core/approvals/audit';
import { AUDIT_CSV_COLUMNS } from '../../src/core/approvals/auditCsv';
import type { AuditEntry } from '../../src/core/approvals/auditFiles';
import { AuditLog } from '../../src/core/approvals/auditLog';
import { readAudit } from '../../src/core/approvals/auditReader';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as CallToolResult;
}

function requestId(result: CallToolResult): string {
  return String((result.structuredContent as { request_id?: string }).request_id);
}

/** The CLI from source, as `gatehouse <args>`, against the given home. */
function cliArgs(args: string[]): string[] {
  return ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), ...args];
}

function cliEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, GATEHOUSE_HOME: home, HOME: home };
}

function runCli(home: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, cliArgs(args), { cwd: REPO_ROOT, env: cliEnv(home), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('audit log: the real gateway records every call and decision', function () {
  let th: TestGatehouse;
  let client: Client;

  beforeEach(async function () {
    th = await startTestGatehouse({ policy: { rules: [{ id: 'private-clock', tool: 'demo__get_time', decision: 'deny', reason: 'the clock is private' }] } });
    client = await connectClient(th.url, th.key, 'codex-test');
  });
  afterEach(async function () {
    await client.close();
    await th.close();
  });

  it('writes allowed, held, decided, executed and denied lines with the fields that matter', async function () {
    await call(client, 'demo__echo', { text: 'hello' });

    const held = await call(client, 'demo__write_note', { name: 'audit.txt', content: 'approved text', additional_info: 'testing the audit' });
    const id = requestId(held);
    const waiting = call(client, 'await_approval', { request_id: id });
    await until(() => th.gatehouse.approvals.waitingCount() > 0);
    assert.equal(th.gatehouse.decide(id, { kind: 'approve', scope: 'once', channel: 'test', by: 'Ada' }).ok, true);
    const approved = await waiting;
    assert.equal((approved.structuredContent as { status: string }).status, 'approved');

    const blocked = await call(client, 'demo__get_time');
    assert.equal(blocked.isError, true);

    const entries = readAudit(th.home);
    assert.deepEqual(
      entries.map((e) => e.event),
      ['allowed', 'held', 'decided', 'executed', 'denied'],
    );
    const [allowed, heldLine, decided, executed, denied] = entries;
    for (const entry of entries) {
      assert.ok(!Number.isNaN(Date.parse(entry.ts)), 'every line has an ISO timestamp');
      assert.equal(entry.client, 'test', 'the client is the API key label');
      assert.equal(entry.server, 'demo');
      assert.match(String(entry.argumentsHash), /^[0-9a-f]{64}$/);
    }
    assert.equal(allowed.tool, 'demo__echo');
    assert.equal(allowed.decision, 'allow');
    assert.deepEqual(allowed.arguments, { text: 'hello' });
    assert.equal(allowed.resultStatus, 'ok');
    assert.equal(typeof allowed.latencyMs, 'number');

    assert.equal(heldLine.tool, 'demo__write_note');
    assert.equal(heldLine.decision, 'ask');
    assert.equal(heldLine.requestId, id);
    assert.deepEqual(heldLine.arguments, { content: 'approved text', name: 'audit.txt' }, 'additional_info is not part of the call');

    assert.equal(decided.requestId, id);
    assert.equal(decided.decision, 'approve:once');
    assert.equal(decided.channel, 'test');
    assert.equal(decided.argumentsHash, heldLine.argumentsHash);

    assert.equal(executed.requestId, id);
    assert.equal(executed.resultStatus, 'ok');
    assert.equal(executed.argumentsHash, heldLine.argumentsHash, 'the executed call is the one that was approved');

    assert.equal(denied.tool, 'demo__get_time');
    assert.equal(denied.rule, 'private-clock');
    assert.equal(denied.decision, 'deny');
    assert.equal(denied.reason, 'the clock is private');

    const file = path.join(th.home, 'audit', `audit-${new Date().toISOString().slice(0, 10)}.jsonl`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('records a human denial with its reason, and an expiry', async function () {
    const denied = requestId(await call(client, 'demo__write_note', { name: 'no.txt', content: 'x' }));
    th.gatehouse.decide(denied, { kind: 'deny', reason: 'not today', channel: 'test' });

    const late = requestId(await call(client, 'demo__write_note', { name: 'late.txt', content: 'y' }));
    const request = th.gatehouse.approvals.get(late)!;
    // The shortest configurable expiry is a minute; the test moves the deadline instead of waiting.
    request.expiresAt = new Date(Date.now() + 100).toISOString();
    (th.gatehouse.approvals as unknown as { schedule(r: ApprovalRequest): void }).schedule(request);
    await until(() => readAudit(th.home).some((e) => e.event === 'expired'));

    const decided = readAudit(th.home, { decision: 'deny' });
    assert.equal(decided.length, 1);
    assert.equal(decided[0].event, 'decided');
    assert.equal(decided[0].requestId, denied);
    assert.equal(decided[0].reason, 'not today');
    const [expired] = readAudit(th.home, { decision: 'expired' });
    assert.equal(expired.requestId, late);
    assert.equal(expired.tool, 'demo__write_note');
    assert.equal(expired.client, 'test');
  });
});

describe('gatehouse audit (CLI)', function () {
  let home: string;

  function event(overrides: Partial<AuditEvent>): AuditEvent {
    return { event: 'allowed', clientName: 'codex', server: 'demo', tool: 'demo__echo', argumentsHash: 'b'.repeat(64), arguments: { text: 'hi' }, decision: 'allow', ...overrides };
  }

  beforeEach(function () {
    home = tempDir('gatehouse-audit-cli-');
    let now = new Date('2026-11-20T09:00:00Z');
    const log = new AuditLog(home, { now: () => now });
    log.record(event({ requestId: 'first' }));
    now = new Date('2026-11-21T09:00:00Z');
    log.record(event({ event: 'denied', tool: 'demo__get_time', decision: 'deny', reason: 'no, "never", not at all', requestId: 'second' }));
    now = new Date('2026-11-22T09:00:00Z');
    log.record(event({ event: 'held', tool: 'demo__write_note', decision: 'ask', requestId: 'third', arguments: { name: 'a,b.txt', content: 'line 1\nline 2' } }));
  });
  afterEach(function () {
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('tail prints the latest entries, readable or as raw JSON lines', function () {
    const readable = runCli(home, ['audit', 'tail', '-n', '2']);
    assert.equal(readable.status, 0, readable.stderr);
    const lines = readable.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^2026-11-21T09:00:00\.000Z {2}denied .*codex {2}demo__get_time {2}deny .*second/);
    assert.match(lines[1], /held .*demo__write_note {2}ask .*third/);

    const json = runCli(home, ['audit', 'tail', '-n', '5', '--json']);
    const entries = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    assert.deepEqual(
      entries.map((e) => e.requestId),
      ['first', 'second', 'third'],
    );
  });

  it('export writes the entries of a day range as JSON lines', function () {
    const result = runCli(home, ['audit', 'export', '--since', '2026-11-21', '--until', '2026-11-21', '--format', 'jsonl']);
    assert.equal(result.status, 0, result.stderr);
    const entries = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    assert.deepEqual(
      entries.map((e) => e.requestId),
      ['second'],
    );
  });

  it('export --format csv --output writes a private, correctly quoted CSV file', function () {
    const file = path.join(home, 'out', 'audit.csv');
    const result = runCli(home, ['audit', 'export', '--since', '2026-11-20T00:00:00Z', '--format', 'csv', '--output', file]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Wrote 3 entries to/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const csv = fs.readFileSync(file, 'utf8');
    assert.ok(csv.startsWith(`${AUDIT_CSV_COLUMNS.join(',')}\r\n`));
    assert.ok(csv.includes('"no, ""never"", not at all"'));
    assert.ok(csv.includes('"{""name"":""a,b.txt"",""content"":""line 1\\nline 2""}"'));
  });

  it('export --tool filters by a glob over server__tool', function () {
    const result = runCli(home, ['audit', 'export', '--since', '2026-11-01', '--tool', 'demo__*_note']);
    assert.deepEqual(
      result.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as AuditEntry).requestId),
      ['third'],
    );
  });

  it('refuses a date it cannot read, a missing --since and an unknown format, saying what to give', function () {
    const badDate = runCli(home, ['audit', 'export', '--since', 'last tuesday']);
    assert.equal(badDate.status, 1);
    assert.match(badDate.stderr, /--since "last tuesday" is not a date\. Use a UTC day \(2026-11-22\)/);
    const missing = runCli(home, ['audit', 'export']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /required option '--since <date>' not specified/);
    const badFormat = runCli(home, ['audit', 'export', '--since', '7d', '--format', 'xml']);
    assert.notEqual(badFormat.status, 0);
    assert.match(badFormat.stderr, /Allowed choices are jsonl, csv/);
    const backwards = runCli(home, ['audit', 'export', '--since', '2026-11-22', '--until', '2026-11-01']);
    assert.equal(backwards.status, 1);
    assert.match(backwards.stderr, /--until .* is before --since/);
  });

  it('tail --follow prints lines as the gateway writes them, and stops cleanly on Ctrl-C', async function () {
    const child = spawn(process.execPath, cliArgs(['audit', 'tail', '-n', '1', '--follow']), { cwd: REPO_ROOT, env: cliEnv(home), stdio: 'pipe' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until(() => stdout.includes('third'));
      new AuditLog(home).record(event({ event: 'executed', requestId: 'live-one', tool: 'demo__write_note', resultStatus: 'ok' }));
      await until(() => stdout.includes('live-one'));
      assert.match(stdout, /executed .*demo__write_note .*result ok .*live-one/);
      assert.doesNotMatch(stdout, /second/, 'only the last line before following');
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
