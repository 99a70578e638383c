import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuditEvent } from '../../src/core/approvals/audit';
import { AUDIT_CSV_COLUMNS, toCsv } from '../../src/core/approvals/auditCsv';
import { listAuditFiles, type AuditEntry } from '../../src/core/approvals/auditFiles';
import { AuditLog, redactArguments, type AuditLogOptions } from '../../src/core/approvals/auditLog';
import { readAudit, tailAudit } from '../../src/core/approvals/auditReader';
import { auditLogOptionsFromEnv } from '../../src/core/approvals/auditSettings';

/** A clock the test moves by hand, so day boundaries and retention need no waiting. */
function manualClock(start: string): { now: () => Date; set(iso: string): void } {
  let current = new Date(start);
  return { now: () => current, set: (iso) => (current = new Date(iso)) };
}

function held(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    event: 'held',
    clientId: 'cl_1',
    clientName: 'codex',
    sessionId: 's1',
    server: 'demo',
    tool: 'demo__write_note',
    argumentsHash: 'a'.repeat(64),
    arguments: { name: 'plan.txt', content: 'secret token 123', options: { overwrite: true, tags: ['x', 2] } },
    requestId: 'apr_1',
    rule: 'rule-1',
    decision: 'ask',
    ...overrides,
  };
}

function lines(file: string): unknown[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** Parses RFC 4180 CSV, only to check what toCsv wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  return rows;
}

describe('AuditLog', () => {
  let home: string;
  let errors: string[];
  const log = (options: AuditLogOptions = {}): AuditLog => new AuditLog(home, { onError: (message) => errors.push(message), ...options });

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-audit-'));
    errors = [];
  });
  afterEach(() => {
    fs.chmodSync(home, 0o700);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('appends one JSON line per event to audit-<UTC day>.jsonl, with an ISO timestamp and the client name', () => {
    const clock = manualClock('2026-11-21T23:59:59.500Z');
    const audit = log({ now: clock.now });
    audit.record(held());
    audit.record(held({ event: 'decided', decision: 'approve:once', channel: 'editor', arguments: undefined }));
    const file = path.join(home, 'audit', 'audit-2026-11-21.jsonl');
    const [first, second] = lines(file) as AuditEntry[];
    assert.equal(first.ts, '2026-11-21T23:59:59.500Z');
    assert.equal(first.event, 'held');
    assert.equal(first.client, 'codex');
    assert.equal(first.clientId, 'cl_1');
    assert.equal(first.server, 'demo');
    assert.equal(first.tool, 'demo__write_note');
    assert.equal(first.rule, 'rule-1');
    assert.equal(first.requestId, 'apr_1');
    assert.deepEqual(first.arguments, held().arguments);
    assert.equal(second.decision, 'approve:once');
    assert.equal(second.channel, 'editor');
    assert.equal('arguments' in second, false);
  });

  it('starts a new file when the UTC day changes', () => {
    const clock = manualClock('2026-11-21T23:59:59.999Z');
    const audit = log({ now: clock.now });
    audit.record(held());
    clock.set('2026-11-22T00:00:00.000Z');
    audit.record(held({ requestId: 'apr_2' }));
    assert.deepEqual(
      listAuditFiles(home).map((f) => path.basename(f.file)),
      ['audit-2026-11-21.jsonl', 'audit-2026-11-22.jsonl'],
    );
  });

  it('creates the folder with mode 0700 and the files with mode 0600', () => {
    log().record(held());
    assert.equal(fs.statSync(path.join(home, 'audit')).mode & 0o777, 0o700);
    const [file] = listAuditFiles(home);
    assert.equal(fs.statSync(file.file).mode & 0o777, 0o600);
  });

  it('writes the allowed lines of one turn after it, in one write, at their own times, and before any later line', async () => {
    const clock = manualClock('2026-11-21T10:00:00.000Z');
    const audit = log({ now: clock.now });
    const nodeFs = module.require('node:fs') as typeof fs;
    const { writeSync } = nodeFs;
    let writes = 0;
    nodeFs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
      writes++;
      return (writeSync as (...a: Parameters<typeof fs.writeSync>) => number)(...args);
    }) as typeof fs.writeSync;
    try {
      audit.recordSoon(() => held({ event: 'allowed', requestId: 'one' }));
      clock.set('2026-11-21T10:00:00.001Z');
      audit.recordSoon(() => held({ event: 'allowed', requestId: 'two' }));
      assert.equal(writes, 0, 'nothing is written while the turn runs');
      await new Promise(setImmediate);
      assert.equal(writes, 1);
      const written = readAudit(home);
      assert.deepEqual(written.map((e) => [e.requestId, e.ts]), [['one', '2026-11-21T10:00:00.000Z'], ['two', '2026-11-21T10:00:00.001Z']]);

      // A line recorded now goes after the ones still waiting; closing writes what waits.
      audit.recordSoon(() => held({ event: 'allowed', requestId: 'three' }));
      audit.record(held({ event: 'decided', requestId: 'four' }));
      audit.recordSoon(() => held({ event: 'allowed', requestId: 'five' }));
      audit.close();
      assert.deepEqual(readAudit(home).map((e) => e.requestId), ['one', 'two', 'three', 'four', 'five']);
      await audit.durable();
    } finally {
      nodeFs.writeSync = writeSync;
    }
  });

  it('fsyncs decision lines (decided, denied, expired) off the event loop, one fsync covering a burst', async () => {
    const audit = log();
    const synced: number[] = [];
    const blocking: number[] = [];
    // The module object itself (the import namespace is read-only). Only observing: the real fsync still runs.
    const nodeFs = module.require('node:fs') as typeof fs;
    const { fsync, fsyncSync } = nodeFs;
    nodeFs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
      synced.push(fd);
      fsync(fd, callback);
    }) as typeof fs.fsync;
    nodeFs.fsyncSync = (fd: number): void => {
      blocking.push(fd);
      fsyncSync(fd);
    };
    try {
      audit.record(held({ event: 'allowed' }));
      audit.record(held({ event: 'held' }));
      assert.equal(synced.length, 0, 'call lines are not fsynced');
      audit.record(held({ event: 'decided' }));
      audit.record(held({ event: 'denied' }));
      audit.record(held({ event: 'expired' }));
      // The first decision starts an fsync; the two written while it runs share one more.
      assert.equal(synced.length, 1);
      await audit.durable();
      assert.equal(synced.length, 2);
      assert.deepEqual(blocking, [], 'nothing waits for the disk on the event loop');
    } finally {
      nodeFs.fsync = fsync;
      nodeFs.fsyncSync = fsyncSync;
    }
    assert.deepEqual(
      readAudit(home).map((e) => e.event),
      ['allowed', 'held', 'decided', 'denied', 'expired'],
    );
  });

  it('closes a file only after its running fsync, and keeps every line across the day change', async () => {
    const clock = manualClock('2026-11-21T23:59:59.999Z');
    const audit = log({ now: clock.now });
    audit.record(held({ event: 'decided' }));
    clock.set('2026-11-22T00:00:00.000Z');
    audit.record(held({ event: 'decided', requestId: 'apr_2' }));
    audit.close();
    await audit.durable();
    assert.deepEqual(
      listAuditFiles(home).map((f) => path.basename(f.file)),
      ['audit-2026-11-21.jsonl', 'audit-2026-11-22.jsonl'],
    );
    assert.deepEqual(
      readAudit(home).map((e) => e.requestId),
      ['apr_1', 'apr_2'],
    );
    assert.deepEqual(errors, [], 'no fsync ran on a descriptor closed under it');
  });

  it('continues in audit-<day>.1.jsonl, .2 … once the day file would pass the size limit', () => {
    const audit = log({ maxFileBytes: 600, now: manualClock('2026-11-22T10:00:00Z').now });
    for (let i = 0; i < 6; i++) audit.record(held({ requestId: `apr_${i}` }));
    const files = listAuditFiles(home);
    assert.ok(files.length >= 3, `rotated into ${files.length} files`);
    assert.deepEqual(
      files.map((f) => path.basename(f.file)).slice(0, 3),
      ['audit-2026-11-22.jsonl', 'audit-2026-11-22.1.jsonl', 'audit-2026-11-22.2.jsonl'],
    );
    for (const { file } of files) assert.ok(fs.statSync(file).size <= 600, `${file} stays under the limit`);
    assert.deepEqual(
      readAudit(home).map((e) => e.requestId),
      ['apr_0', 'apr_1', 'apr_2', 'apr_3', 'apr_4', 'apr_5'],
      'reading keeps the write order across rotated files',
    );
  });

  it('a new AuditLog (a restart) appends to the latest rotated file of the day, not the first', () => {
    const now = manualClock('2026-11-22T10:00:00Z').now;
    const first = log({ maxFileBytes: 600, now });
    for (let i = 0; i < 3; i++) first.record(held({ requestId: `apr_${i}` }));
    const before = listAuditFiles(home).length;
    log({ maxFileBytes: 600, now }).record(held({ requestId: 'apr_after_restart' }));
    assert.equal(readAudit(home).at(-1)?.requestId, 'apr_after_restart');
    assert.ok(listAuditFiles(home).length >= before);
  });

  it('deletes day files older than the retention period, and keeps the rest', () => {
    const clock = manualClock('2026-10-01T12:00:00Z');
    const audit = log({ retentionDays: 30, now: clock.now });
    audit.record(held({ requestId: 'old' }));
    clock.set('2026-10-20T12:00:00Z');
    audit.record(held({ requestId: 'recent' }));
    clock.set('2026-11-05T12:00:00Z');
    audit.record(held({ requestId: 'today' }));
    assert.deepEqual(
      listAuditFiles(home).map((f) => f.day),
      ['2026-10-20', '2026-11-05'],
    );
  });

  it('by default keeps arguments but redacts what looks like a secret, by its name or its form', () => {
    const secrets = {
      name: 'plan.txt',
      password: 'hunter2',
      headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz', 'X-Api-Key': 'k-123' },
      body: 'use ghp_abcdefghijklmnopqrstuvwxyz0123456789 now',
      jwt: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      url: 'https://user:pa55@example.com/x',
      count: 3,
      nested: [{ token: 't' }],
    };
    log({ now: () => new Date('2026-11-01T00:00:00Z') }).record(held({ arguments: secrets }));
    log({ arguments: 'full', now: () => new Date('2026-11-02T00:00:00Z') }).record(held({ arguments: secrets }));
    const [byDefault, full] = readAudit(home);
    const text = JSON.stringify(byDefault);
    for (const secret of ['hunter2', 'abcdefghijklmnopqrstuvwxyz', 'k-123', 'ghp_', 'eyJhbGci', 'pa55', '"t"']) assert.ok(!text.includes(secret), `${secret} redacted`);
    assert.equal((byDefault.arguments as { name: string }).name, 'plan.txt', 'ordinary values are kept');
    assert.equal((byDefault.arguments as { count: number }).count, 3);
    assert.deepEqual(full.arguments, secrets, 'full arguments only when asked for');
  });

  it('keeps all but secrets by default, only keys and types when redacted, none when off', () => {
    const args = held().arguments;
    log({ arguments: 'redacted', now: () => new Date('2026-11-01T00:00:00Z') }).record(held());
    log({ arguments: 'none', now: () => new Date('2026-11-02T00:00:00Z') }).record(held());
    log({ now: () => new Date('2026-11-03T00:00:00Z') }).record(held());
    const [redacted, none, full] = readAudit(home);
    assert.deepEqual(redacted.arguments, { name: '<string>', content: '<string>', options: { overwrite: '<boolean>', tags: ['<string>', '<number>'] } });
    assert.ok(!JSON.stringify(redacted).includes('secret token'));
    assert.equal(redacted.argumentsHash, 'a'.repeat(64), 'the hash still identifies the call');
    assert.equal('arguments' in none, false);
    assert.deepEqual(full.arguments, args);
    assert.deepEqual(redactArguments(null), '<null>');
  });

  it('never throws into the call path when the disk refuses, and reports the problem once', function () {
    if (process.getuid?.() === 0) {
      // Root ignores permission bits, so make the folder path a file instead.
      fs.writeFileSync(path.join(home, 'audit'), 'not a folder');
    } else {
      fs.chmodSync(home, 0o500);
    }
    const audit = log();
    assert.doesNotThrow(() => audit.record(held()));
    assert.doesNotThrow(() => audit.record(held({ event: 'decided' })));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /could not write the audit log/);
  });

  it('skips corrupt and torn lines when reading, and keeps every good one', () => {
    const audit = log({ now: () => new Date('2026-11-22T10:00:00Z') });
    audit.record(held({ requestId: 'a' }));
    const [file] = listAuditFiles(home);
    fs.appendFileSync(file.file, 'not json\n{"no":"ts"}\n[1,2]\n');
    audit.record(held({ requestId: 'b' }));
    fs.appendFileSync(file.file, '{"ts":"2026-11-22T10:00:01Z","event":"he');
    assert.deepEqual(
      readAudit(home).map((e) => e.requestId),
      ['a', 'b'],
    );
  });

  it('filters by time, tool (exact or glob), decision or event, and client', () => {
    const clock = manualClock('2026-11-20T10:00:00Z');
    const audit = log({ now: clock.now });
    audit.record(held({ event: 'allowed', tool: 'demo__echo', decision: 'allow', requestId: undefined }));
    clock.set('2026-11-21T10:00:00Z');
    audit.record(held({ event: 'denied', tool: 'github__delete_repo', server: 'github', decision: 'deny', clientName: 'claude' }));
    clock.set('2026-11-22T10:00:00Z');
    audit.record(held({ event: 'decided', decision: 'approve:session' }));
    assert.deepEqual(
      readAudit(home, { since: new Date('2026-11-21T00:00:00Z') }).map((e) => e.event),
      ['denied', 'decided'],
    );
    assert.deepEqual(
      readAudit(home, { until: new Date('2026-11-21T09:59:59Z') }).map((e) => e.event),
      ['allowed'],
    );
    assert.deepEqual(
      readAudit(home, { tool: 'github__*' }).map((e) => e.event),
      ['denied'],
    );
    assert.deepEqual(
      readAudit(home, { tool: 'demo__echo' }).map((e) => e.event),
      ['allowed'],
    );
    assert.deepEqual(
      readAudit(home, { decision: 'approve' }).map((e) => e.decision),
      ['approve:session'],
    );
    assert.deepEqual(
      readAudit(home, { decision: 'denied' }).map((e) => e.tool),
      ['github__delete_repo'],
    );
    assert.deepEqual(
      readAudit(home, { client: 'claude' }).map((e) => e.event),
      ['denied'],
    );
  });

  it('finds what happened in a person\'s words: "denied" is the policy\'s block and the human\'s denial, "approved" every approval', () => {
    const audit = log();
    audit.record(held({ event: 'denied', tool: 'github__delete_repo', server: 'github', decision: 'deny' }));
    audit.record(held({ event: 'decided', decision: 'deny', requestId: 'human-no' }));
    audit.record(held({ event: 'decided', decision: 'approve:tool', requestId: 'human-yes' }));
    assert.deepEqual(readAudit(home, { decision: 'denied' }).map((e) => e.event), ['denied', 'decided']);
    assert.deepEqual(readAudit(home, { decision: 'Denied' }).map((e) => e.event), ['denied', 'decided']);
    assert.deepEqual(readAudit(home, { decision: 'approved' }).map((e) => e.requestId), ['human-yes']);
  });

  it('tails the last entries across day files', () => {
    const clock = manualClock('2026-11-20T10:00:00Z');
    const audit = log({ now: clock.now });
    for (const [day, id] of [
      ['20', 'a'],
      ['21', 'b'],
      ['21', 'c'],
      ['22', 'd'],
    ]) {
      clock.set(`2026-11-${day}T10:00:00Z`);
      audit.record(held({ requestId: id }));
    }
    assert.deepEqual(
      tailAudit(home, 3).map((e) => e.requestId),
      ['b', 'c', 'd'],
    );
    assert.deepEqual(
      tailAudit(home, 10).map((e) => e.requestId),
      ['a', 'b', 'c', 'd'],
    );
    assert.deepEqual(tailAudit(home, 0), []);
  });
});

describe('toCsv', () => {
  const entry = (overrides: Record<string, unknown>): AuditEntry => ({ ts: '2026-11-22T10:00:00.000Z', event: 'denied', ...overrides }) as AuditEntry;

  it('writes a header row and one CRLF-terminated row per entry', () => {
    const csv = toCsv([entry({ tool: 'demo__echo', latencyMs: 12.5 })]);
    assert.ok(csv.startsWith(`${AUDIT_CSV_COLUMNS.join(',')}\r\n`));
    assert.ok(csv.endsWith('\r\n'));
    const rows = parseCsv(csv);
    assert.equal(rows.length, 2);
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('latencyMs')], '12.5');
  });

  it('quotes commas, double quotes and newlines so every value round-trips', () => {
    const reason = 'no, "never"\non Fridays\r\nreally';
    const args = { path: 'a,b', note: 'say "hi"\n' };
    const rows = parseCsv(toCsv([entry({ reason, arguments: args })]));
    assert.equal(rows.length, 2);
    assert.equal(rows[1].length, AUDIT_CSV_COLUMNS.length);
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('reason')], reason);
    assert.deepEqual(JSON.parse(rows[1][AUDIT_CSV_COLUMNS.indexOf('arguments')]), args);
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    const rows = parseCsv(toCsv([entry({ reason: '=HYPERLINK("http://x")', channel: '+cmd', rule: '@sum', latencyMs: -1 })]));
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('reason')], `'=HYPERLINK("http://x")`);
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('channel')], `'+cmd`);
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('rule')], `'@sum`);
    assert.equal(rows[1][AUDIT_CSV_COLUMNS.indexOf('latencyMs')], '-1', 'numbers are left alone');
  });
});

describe('auditLogOptionsFromEnv', () => {
  it('reads the arguments mode, retention and size limit from GATEHOUSE_AUDIT_*', () => {
    assert.deepEqual(
      auditLogOptionsFromEnv({ GATEHOUSE_AUDIT_ARGUMENTS: 'redacted', GATEHOUSE_AUDIT_RETENTION_DAYS: '7', GATEHOUSE_AUDIT_MAX_FILE_MB: '0.5' }, () => assert.fail('no warning expected')),
      { arguments: 'redacted', retentionDays: 7, maxFileBytes: 524288 },
    );
    assert.deepEqual(auditLogOptionsFromEnv({}), {});
  });

  it('keeps the defaults and says why when a value makes no sense', () => {
    const warnings: string[] = [];
    const options = auditLogOptionsFromEnv({ GATEHOUSE_AUDIT_ARGUMENTS: 'partial', GATEHOUSE_AUDIT_RETENTION_DAYS: '-1' }, (message) => warnings.push(message));
    assert.deepEqual(options, {});
    assert.match(warnings[0], /GATEHOUSE_AUDIT_ARGUMENTS="partial" is not one of secrets, full, redacted, none/);
    assert.match(warnings[1], /GATEHOUSE_AUDIT_RETENTION_DAYS="-1" is not a positive number/);
  });
});
