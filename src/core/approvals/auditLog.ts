import * as fs from 'node:fs';
import type { ApprovalQueue, ApprovalRequest } from './approvalQueue';
import { requestAuditFields, type AuditEvent, type AuditSink } from './audit';
import { auditDir, auditFileFor, listAuditFiles, type AuditEntry } from './auditFiles';

/**
 * How much of a call's arguments the log keeps: all of them but what looks like a secret (the
 * default), all of them, only their keys and types, or nothing.
 */
export type AuditArgumentsMode = 'secrets' | 'full' | 'redacted' | 'none';

export interface AuditLogOptions {
  readonly arguments?: AuditArgumentsMode;
  /** Day files older than this are deleted. */
  readonly retentionDays?: number;
  /** Once today's file would grow past this, lines continue in `audit-<day>.1.jsonl`, `.2`, … */
  readonly maxFileBytes?: number;
  readonly now?: () => Date;
  /** Where a failed write is reported (once per run of failures); stderr by default. */
  readonly onError?: (message: string) => void;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 30;
export const DEFAULT_AUDIT_MAX_FILE_BYTES = 20 * 1024 * 1024;

/**
 * Decision lines are written before the call path goes on, so that Gatehouse ending (or being
 * killed) cannot lose one, and are fsynced at once on the thread pool: a slow disk (an fsync can
 * take tens of milliseconds during a build) must not stall every session's calls while it syncs.
 */
const SYNCED_EVENTS: ReadonlySet<AuditEvent['event']> = new Set(['decided', 'denied', 'expired', 'reopened']);

/** Argument names that name a secret: their values are never logged in the default mode. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|auth(orization)?|credential|private[-_]?key|cookie|session[-_]?id|signature|bearer/i;
/** Values that look like credentials whatever their key: well-known token formats, JWTs, PEM keys, URLs with a password. */
const SECRET_VALUE = [
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|gh_[A-Za-z0-9_-]{30,})\b/,
  /\b(sk|pk|rk)[-_](live[-_]|test[-_]|proj[-_]|ant[-_])?[A-Za-z0-9_-]{16,}\b/,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/,
  /\bA(KIA|SIA)[0-9A-Z]{16}\b/,
  /\bAIza[0-9A-Za-z_-]{30,}/,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}/i,
  // Bounded: an unbounded scheme would backtrack quadratically over a long run of letters.
  /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s/:@]{1,256}:[^\s/@]{1,256}@/i,
];
const REDACTED = '<redacted: looks like a secret>';

/** The arguments with every value that looks like a secret (by its key or its form) replaced. */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (key && SECRET_KEY.test(key) && value !== null && typeof value !== 'object') return REDACTED;
  if (Array.isArray(value)) return value.map((member) => redactSecrets(member, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, redactSecrets(member, name)]));
  }
  if (typeof value === 'string' && SECRET_VALUE.some((pattern) => pattern.test(value))) return REDACTED;
  return value;
}

/** Keys and the type of every value, so the log shows the shape of a call without its secrets. */
export function redactArguments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactArguments);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, redactArguments(member)]));
  }
  return `<${value === null ? 'null' : typeof value}>`;
}

/**
 * `<home>/audit/audit-YYYY-MM-DD.jsonl` (UTC day): one JSON line per call and decision, appended
 * and never rewritten. Writes are synchronous so lines keep the order of events; an allowed
 * call's line (`recordSoon`) is written right after its reply has left, in the same turn of the
 * event loop and in one write with the others of that turn, and before any later line. Decision
 * lines are fsynced off the event loop, one fsync covering every line written while the last one ran.
 * A failing disk never breaks a tool call: the error is reported and the call goes on.
 */
export class AuditLog implements AuditSink {
  private readonly argumentsMode: AuditArgumentsMode;
  private readonly retentionDays: number;
  private readonly maxFileBytes: number;
  private readonly now: () => Date;
  private readonly onError: (message: string) => void;
  private currentDay: string | undefined;
  private currentIndex = 0;
  private failing = false;
  private file: { readonly fd: number } | undefined;
  private fileSize = 0;
  /** Descriptors with an fsync running: whether lines came after it started, and whether to close it after. */
  private readonly syncing = new Map<number, { again: boolean; close: boolean }>();
  private synced: Array<() => void> = [];
  /** Lines to write once their replies have left (`recordSoon`), each with the time of its event. */
  private soon: Array<{ event: () => AuditEvent; at: Date }> = [];

  constructor(
    readonly home: string,
    options: AuditLogOptions = {},
  ) {
    this.argumentsMode = options.arguments ?? 'secrets';
    this.retentionDays = options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_AUDIT_MAX_FILE_BYTES;
    this.now = options.now ?? ((): Date => new Date());
    this.onError = options.onError ?? ((message): void => void process.stderr.write(`${message}\n`));
  }

  record(event: AuditEvent): void {
    // What was recorded for later comes first, so lines keep the order of events.
    this.writeSoon();
    this.write([{ event, at: this.now() }]);
  }

  recordSoon(event: () => AuditEvent): void {
    this.soon.push({ event, at: this.now() });
    if (this.soon.length === 1) setImmediate(() => this.writeSoon());
  }

  /** Writes the lines recorded for later, in one write. */
  private writeSoon(): void {
    if (this.soon.length === 0) return;
    const batch = this.soon;
    this.soon = [];
    this.write(batch.map(({ event, at }) => ({ event: event(), at })));
  }

  private write(events: ReadonlyArray<{ event: AuditEvent; at: Date }>): void {
    try {
      this.append(events);
      this.failing = false;
    } catch (error) {
      this.closeFile();
      this.reportFailure(error);
    }
  }

  /** Resolves once every decision line written so far has been fsynced (or its fsync failed and was reported). */
  async durable(): Promise<void> {
    this.writeSoon();
    if (this.syncing.size === 0) return;
    await new Promise<void>((resolve) => this.synced.push(resolve));
  }

  private reportFailure(error: unknown): void {
    if (!this.failing) this.onError(`Gatehouse could not write the audit log in ${auditDir(this.home)}: ${error instanceof Error ? error.message : String(error)}. Calls go on; check the folder's permissions and free space.`);
    this.failing = true;
  }

  /** Deletes day files older than the retention period. */
  prune(): void {
    const cutoff = new Date(this.now().getTime() - this.retentionDays * 86_400_000).toISOString().slice(0, 10);
    for (const { file, day } of listAuditFiles(this.home)) {
      if (day < cutoff) fs.rmSync(file, { force: true });
    }
  }

  /** Appends the lines of `events`, in order, each in its own UTC day's file, with one write per file. */
  private append(events: ReadonlyArray<{ event: AuditEvent; at: Date }>): void {
    for (let start = 0; start < events.length; ) {
      const day = events[start].at.toISOString().slice(0, 10);
      let end = start + 1;
      while (end < events.length && events[end].at.toISOString().slice(0, 10) === day) end++;
      const group = events.slice(start, end);
      start = end;
      if (day !== this.currentDay) this.startDay(day);
      const lines = Buffer.from(group.map(({ event, at }) => `${JSON.stringify(this.entry(event, at))}\n`).join(''), 'utf8');
      // One write on a descriptor kept open: this runs on every tool call, so it must not cost an
      // open, a stat and a close each time. The size is tracked to rotate without a stat.
      if (this.file && this.fileSize > 0 && this.fileSize + lines.length > this.maxFileBytes) {
        this.closeFile();
        this.currentIndex += 1;
      }
      // The open file is today's current one: a new day and a rotation both close it.
      const fd = this.file?.fd ?? this.openFile(auditFileFor(this.home, day, this.currentIndex));
      fs.writeSync(fd, lines);
      this.fileSize += lines.length;
      if (group.some(({ event }) => SYNCED_EVENTS.has(event.event))) this.syncInBackground(fd);
    }
  }

  private syncInBackground(fd: number): void {
    const running = this.syncing.get(fd);
    if (running) {
      // The fsync running may have started before this line was written: one more covers it.
      running.again = true;
      return;
    }
    const state = { again: false, close: false };
    this.syncing.set(fd, state);
    const run = (): void =>
      fs.fsync(fd, (error) => {
        if (error) this.reportFailure(error);
        else if (state.again) {
          state.again = false;
          run();
          return;
        }
        this.syncing.delete(fd);
        if (state.close) closeQuietly(fd);
        if (this.syncing.size === 0) for (const resolve of this.synced.splice(0)) resolve();
      });
    run();
  }

  /** Closes the open log file; the next event reopens it. */
  close(): void {
    this.writeSoon();
    this.closeFile();
  }

  private openFile(file: string): number {
    const fd = fs.openSync(file, 'a', 0o600);
    this.file = { fd };
    this.fileSize = fs.fstatSync(fd).size;
    return fd;
  }

  private closeFile(): void {
    if (!this.file) return;
    const running = this.syncing.get(this.file.fd);
    // Closed once its fsync is done: a descriptor closed under a running fsync could be reused by another file.
    if (running) running.close = true;
    else closeQuietly(this.file.fd);
    this.file = undefined;
    this.fileSize = 0;
  }

  private startDay(day: string): void {
    this.closeFile();
    const dir = auditDir(this.home);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    this.prune();
    const today = listAuditFiles(this.home).filter((file) => file.day === day);
    this.currentIndex = today.length > 0 ? Math.max(...today.map((file) => file.index)) : 0;
    this.currentDay = day;
  }

  private entry(event: AuditEvent, now: Date): AuditEntry {
    const { arguments: args, editedArguments: edited, ...rest } = event;
    const client = event.clientName ?? event.clientId;
    const kept = this.keep(args);
    const keptEdit = this.keep(edited);
    return {
      ts: now.toISOString(),
      ...rest,
      ...(client !== undefined ? { client } : {}),
      ...(kept !== undefined ? { arguments: kept } : {}),
      ...(keptEdit !== undefined ? { editedArguments: keptEdit } : {}),
    };
  }

  /** Arguments as the configured mode keeps them; the human's edits are kept the same way as the agent's. */
  private keep(args: Record<string, unknown> | undefined): unknown {
    if (args === undefined || this.argumentsMode === 'none') return undefined;
    if (this.argumentsMode === 'redacted') return redactArguments(args);
    return this.argumentsMode === 'secrets' ? redactSecrets(args) : args;
  }
}

/** Records every held call that expires undecided. Returns the unsubscribe function. */
export function auditExpiredRequests(queue: ApprovalQueue, audit: AuditSink): () => void {
  const onExpired = (request: ApprovalRequest): void =>
    audit.record({
      event: 'expired',
      ...requestAuditFields(request),
      rule: request.rule?.id,
      latencyMs: Date.now() - Date.parse(request.createdAt),
    });
  // An approval read back from pending.json is never trusted: the queue reopens it, and the log says so.
  const onReopened = (request: ApprovalRequest): void =>
    audit.record({ event: 'reopened', ...requestAuditFields(request), rule: request.rule?.id, reason: request.reopened });
  queue.on('expired', onExpired);
  queue.on('reopened', onReopened);
  return () => {
    queue.off('expired', onExpired);
    queue.off('reopened', onReopened);
  };
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed or the disk went away; the next event opens a fresh descriptor.
  }
}
