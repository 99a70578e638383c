import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ApprovalQueue, ApprovalRequest } from './approvalQueue';
import { requestAuditFields, type AuditEvent, type AuditSink } from './audit';
import { toolGlobMatches } from './policy';

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

/** One parsed line of the audit log. */
export type AuditEntry = Omit<AuditEvent, 'arguments'> & {
  readonly ts: string;
  /** The client's display name (OAuth client name or API-key label), else its id. */
  readonly client?: string;
  readonly arguments?: unknown;
};

export interface AuditFilter {
  readonly since?: Date;
  readonly until?: Date;
  /** Exact `<server>__<tool>` or a glob over it. */
  readonly tool?: string;
  /** Matches the event (`denied`) or the decision (`deny`, `approve`, `approve:session`). */
  readonly decision?: string;
  /** Matches the client's name or id. */
  readonly client?: string;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 30;
export const DEFAULT_AUDIT_MAX_FILE_BYTES = 20 * 1024 * 1024;

/** A crash must not lose a decision: these lines reach the disk before the call path goes on. */
const SYNCED_EVENTS: ReadonlySet<AuditEvent['event']> = new Set(['decided', 'denied', 'expired', 'reopened']);
const FILE_NAME = /^audit-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl$/;

export function auditDir(home: string): string {
  return path.join(home, 'audit');
}

interface AuditFile {
  readonly file: string;
  readonly day: string;
  readonly index: number;
}

/** The audit files in write order: by day, then by rotation index. */
export function listAuditFiles(home: string): AuditFile[] {
  const dir = auditDir(home);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const files: AuditFile[] = [];
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (match) files.push({ file: path.join(dir, name), day: match[1], index: match[2] === undefined ? 0 : Number(match[2]) });
  }
  return files.sort((a, b) => a.day.localeCompare(b.day) || a.index - b.index);
}

function fileFor(home: string, day: string, index: number): string {
  return path.join(auditDir(home), index === 0 ? `audit-${day}.jsonl` : `audit-${day}.${index}.jsonl`);
}

/**
 * Settings from the environment, for the headless CLI and the editor alike:
 * `GATEHOUSE_AUDIT_ARGUMENTS` (full | redacted | none), `GATEHOUSE_AUDIT_RETENTION_DAYS`,
 * `GATEHOUSE_AUDIT_MAX_FILE_MB`. A value that makes no sense is reported and the default kept.
 */
export function auditLogOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = (message) => void process.stderr.write(`${message}\n`)): AuditLogOptions {
  const options: { -readonly [K in keyof AuditLogOptions]: AuditLogOptions[K] } = {};
  const mode = env.GATEHOUSE_AUDIT_ARGUMENTS?.trim();
  if (mode) {
    if (mode === 'secrets' || mode === 'full' || mode === 'redacted' || mode === 'none') options.arguments = mode;
    else warn(`GATEHOUSE_AUDIT_ARGUMENTS="${mode}" is not one of secrets, full, redacted, none; the audit log keeps arguments with secrets redacted.`);
  }
  const positive = (name: string, apply: (value: number) => void): void => {
    const raw = env[name]?.trim();
    if (!raw) return;
    const value = Number(raw);
    if (Number.isFinite(value) && value > 0) apply(value);
    else warn(`${name}="${raw}" is not a positive number; the default is used.`);
  };
  positive('GATEHOUSE_AUDIT_RETENTION_DAYS', (days) => (options.retentionDays = days));
  positive('GATEHOUSE_AUDIT_MAX_FILE_MB', (mb) => (options.maxFileBytes = Math.round(mb * 1024 * 1024)));
  return options;
}

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
 * and never rewritten. Writes are synchronous so lines keep the order of events; decision lines
 * are fsynced. A failing disk never breaks a tool call: the error is reported and the call goes on.
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
  private file: { readonly path: string; readonly fd: number } | undefined;
  private fileSize = 0;

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
    try {
      this.append(event);
      this.failing = false;
    } catch (error) {
      this.closeFile();
      if (!this.failing) this.onError(`Gatehouse could not write the audit log in ${auditDir(this.home)}: ${error instanceof Error ? error.message : String(error)}. Calls go on; check the folder's permissions and free space.`);
      this.failing = true;
    }
  }

  /** Deletes day files older than the retention period. */
  prune(): void {
    const cutoff = new Date(this.now().getTime() - this.retentionDays * 86_400_000).toISOString().slice(0, 10);
    for (const { file, day } of listAuditFiles(this.home)) {
      if (day < cutoff) fs.rmSync(file, { force: true });
    }
  }

  private append(event: AuditEvent): void {
    const now = this.now();
    const day = now.toISOString().slice(0, 10);
    if (day !== this.currentDay) this.startDay(day);
    const line = Buffer.from(`${JSON.stringify(this.entry(event, now))}\n`, 'utf8');
    // One write per event on a descriptor kept open: this runs on every tool call, so it must not
    // cost an open, a stat and a close each time. The size is tracked to rotate without a stat.
    if (this.file && this.fileSize > 0 && this.fileSize + line.length > this.maxFileBytes) {
      this.closeFile();
      this.currentIndex += 1;
    }
    const fd = this.openFile(fileFor(this.home, day, this.currentIndex));
    fs.writeSync(fd, line);
    this.fileSize += line.length;
    if (SYNCED_EVENTS.has(event.event)) fs.fsyncSync(fd);
  }

  /** Closes the open log file; the next event reopens it. */
  close(): void {
    this.closeFile();
  }

  private openFile(file: string): number {
    if (this.file && this.file.path === file) return this.file.fd;
    this.closeFile();
    const fd = fs.openSync(file, 'a', 0o600);
    this.file = { path: file, fd };
    this.fileSize = fs.fstatSync(fd).size;
    return fd;
  }

  private closeFile(): void {
    if (!this.file) return;
    try {
      fs.closeSync(this.file.fd);
    } catch {
      // Already closed or the disk went away; the next event opens a fresh descriptor.
    }
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
    const { arguments: args, ...rest } = event;
    const client = event.clientName ?? event.clientId;
    const kept =
      args === undefined || this.argumentsMode === 'none'
        ? undefined
        : this.argumentsMode === 'redacted'
          ? redactArguments(args)
          : this.argumentsMode === 'secrets'
            ? redactSecrets(args)
            : args;
    return { ts: now.toISOString(), ...rest, ...(client !== undefined ? { client } : {}), ...(kept !== undefined ? { arguments: kept } : {}) };
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

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

function parseLine(line: string): AuditEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const entry = value as AuditEntry;
    return typeof entry.ts === 'string' && typeof entry.event === 'string' && !Number.isNaN(Date.parse(entry.ts)) ? entry : undefined;
  } catch {
    // A torn last line (a crash mid-write) or a hand edit: skip it, keep the rest.
    return undefined;
  }
}

/** The entries of one file, or of its first `limit` bytes. */
function readEntries(file: string, limit?: number): AuditEntry[] {
  let text: string;
  try {
    const buffer = fs.readFileSync(file);
    text = (limit === undefined ? buffer : buffer.subarray(0, limit)).toString('utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => parseLine(line) ?? []);
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  const at = Date.parse(entry.ts);
  if (filter.since && at < filter.since.getTime()) return false;
  if (filter.until && at > filter.until.getTime()) return false;
  if (filter.tool !== undefined && (entry.tool === undefined || !toolGlobMatches(filter.tool, entry.tool))) return false;
  if (filter.decision !== undefined) {
    const decision = entry.decision ?? '';
    if (entry.event !== filter.decision && decision !== filter.decision && decision.split(':')[0] !== filter.decision) return false;
  }
  if (filter.client !== undefined && ![entry.client, entry.clientName, entry.clientId].includes(filter.client)) return false;
  return true;
}

/** The log's entries in the order they were written, filtered; unreadable lines are skipped. */
export function readAudit(home: string, filter: AuditFilter = {}): AuditEntry[] {
  // A day file holds that UTC day only, so whole files outside the range need not be read.
  const firstDay = filter.since?.toISOString().slice(0, 10);
  const lastDay = filter.until?.toISOString().slice(0, 10);
  return listAuditFiles(home)
    .filter(({ day }) => (firstDay === undefined || day >= firstDay) && (lastDay === undefined || day <= lastDay))
    .flatMap(({ file }) => readEntries(file))
    .filter((entry) => matches(entry, filter));
}

/**
 * The last `count` entries, reading only as many files (newest first) as it takes. With `upTo`,
 * only the bytes each file had then (files not in it are left out).
 */
export function tailAudit(home: string, count: number, upTo?: ReadonlyMap<string, number>): AuditEntry[] {
  const collected: AuditEntry[][] = [];
  let total = 0;
  for (const { file } of listAuditFiles(home).reverse()) {
    if (total >= count) break;
    if (upTo && !upTo.has(file)) continue;
    const entries = readEntries(file, upTo?.get(file));
    collected.unshift(entries);
    total += entries.length;
  }
  return count <= 0 ? [] : collected.flat().slice(-count);
}

/**
 * Calls `onEntry` for the last `backlog` entries and then for every line appended later, in
 * every audit file, including files created later (a new day, a size rotation). Watches the
 * folder, with a slow poll as a safety net because fs.watch can miss events on some file systems.
 */
export function followAudit(home: string, onEntry: (entry: AuditEntry) => void, options: { backlog?: number; pollMs?: number } = {}): { close(): void } {
  const dir = auditDir(home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const offsets = new Map<string, number>();
  for (const { file } of listAuditFiles(home)) offsets.set(file, fs.statSync(file).size);
  // The backlog is read up to the same offsets, so a line written meanwhile is shown exactly once.
  if (options.backlog) tailAudit(home, options.backlog, offsets).forEach(onEntry);

  const readNew = (): void => {
    for (const { file } of listAuditFiles(home)) {
      const offset = offsets.get(file) ?? 0;
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        continue;
      }
      if (size <= offset) continue;
      const buffer = Buffer.alloc(size - offset);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, buffer, 0, buffer.length, offset);
      } finally {
        fs.closeSync(fd);
      }
      // Only whole lines: a line being written now is read on the next round.
      const end = buffer.lastIndexOf(0x0a);
      if (end < 0) continue;
      offsets.set(file, offset + end + 1);
      for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
        const entry = parseLine(line);
        if (entry) onEntry(entry);
      }
    }
  };

  const watcher = fs.watch(dir, () => readNew());
  watcher.on('error', () => undefined);
  const timer = setInterval(readNew, options.pollMs ?? 500);
  return {
    close(): void {
      clearInterval(timer);
      watcher.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

export const AUDIT_CSV_COLUMNS = [
  'ts',
  'event',
  'client',
  'clientId',
  'sessionId',
  'server',
  'tool',
  'requestId',
  'rule',
  'decision',
  'channel',
  'reason',
  'latencyMs',
  'resultStatus',
  'argumentsHash',
  'arguments',
] as const;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  // Arguments and reasons come from agents; a cell starting with = + - @ would run as a formula in a spreadsheet (OWASP "CSV injection").
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV (CRLF line ends, quoted where needed) with a header row; arguments as JSON. */
export function toCsv(entries: readonly AuditEntry[]): string {
  const rows = [AUDIT_CSV_COLUMNS.join(',')];
  for (const entry of entries) {
    const record = entry as Record<string, unknown>;
    rows.push(AUDIT_CSV_COLUMNS.map((column) => csvCell(record[column])).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
