import * as fs from 'node:fs';
import { watchDirectory } from '../store/watch';
import { auditDir, listAuditFiles, type AuditEntry } from './auditFiles';
import { toolGlobMatches } from './policy';

/** Reading the audit log: filtered, the last N entries, or followed as it grows. */

export interface AuditFilter {
  readonly since?: Date;
  readonly until?: Date;
  /** Exact `<server>__<tool>` or a glob over it. */
  readonly tool?: string;
  /**
   * What happened, in a person's words or the log's: `denied` finds the policy's refusals and
   * the human's denials alike, `approved` every approval; also an event (`held`, `executed`) or
   * a decision as logged (`deny`, `approve`, `approve:session`).
   */
  readonly decision?: string;
  /** Matches the client's name or id. */
  readonly client?: string;
}

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
  if (filter.decision !== undefined && !happened(entry, filter.decision.trim().toLowerCase())) return false;
  if (filter.client !== undefined && ![entry.client, entry.clientName, entry.clientId].includes(filter.client)) return false;
  return true;
}

/** Outcome words as people say them, onto the decision word the log writes. */
const OUTCOME_DECISIONS: Readonly<Record<string, string>> = { denied: 'deny', approved: 'approve', allowed: 'allow' };

function happened(entry: AuditEntry, wanted: string): boolean {
  const decision = entry.decision ?? '';
  const kind = decision.split(':')[0];
  if (entry.event === wanted || decision === wanted || kind === wanted) return true;
  const logged = OUTCOME_DECISIONS[wanted];
  return logged !== undefined && kind === logged;
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

  return watchDirectory(dir, readNew, { pollMs: options.pollMs ?? 500 });
}
