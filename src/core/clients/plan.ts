import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../store/files';

/**
 * What a client config writer intends to do to one file. Planning is pure (text in, plan out);
 * `applyPlan` is the only place that touches the disk, so every writer gets the same dry-run
 * diff, atomic write and backup rotation.
 */
export type PlanStatus = 'unchanged' | 'create' | 'update' | 'conflict' | 'needs-force' | 'invalid';

/** A value the user set in our entry that the plan would replace. */
export interface Customisation {
  readonly key: string;
  readonly current: unknown;
  readonly planned: unknown;
}

export interface ConfigPlan {
  readonly status: PlanStatus;
  /** The file's text now; undefined when it does not exist. */
  readonly before: string | undefined;
  /** The text the plan would write; equal to `before` when nothing would change or on refusal. */
  readonly after: string | undefined;
  /** Unified diff from before to after (empty when they are equal). */
  readonly diff: string;
  readonly customised: readonly Customisation[];
  readonly conflicts: readonly string[];
  /** One sentence for the user: what happens, or why nothing does and what to do. */
  readonly message: string;
}

export const BACKUPS_KEPT = 5;
const BACKUP_MARK = '.gatehouse-backup-';

/** Builds a plan whose diff is computed from before/after. */
export function makePlan(
  status: PlanStatus,
  before: string | undefined,
  after: string | undefined,
  message: string,
  extra: { customised?: readonly Customisation[]; conflicts?: readonly string[]; label?: string } = {},
): ConfigPlan {
  const label = extra.label ?? 'config';
  return {
    status,
    before,
    after,
    diff: after === undefined || after === before ? '' : unifiedDiff(label, before ?? '', after),
    customised: extra.customised ?? [],
    conflicts: extra.conflicts ?? [],
    message,
  };
}

export interface ApplyResult {
  readonly written: boolean;
  readonly backup?: string;
}

/**
 * Writes a `create`/`update` plan atomically, keeping the file's mode, after copying the current
 * file to `<file>.gatehouse-backup-<UTC timestamp>` next to it (the newest five are kept). A plan
 * that changes nothing writes nothing. Refused plans throw with the plan's message.
 */
export function applyPlan(file: string, plan: ConfigPlan, now: Date = new Date()): ApplyResult {
  if (plan.status === 'unchanged') return { written: false };
  if (plan.status !== 'create' && plan.status !== 'update') throw new Error(plan.message);
  if (plan.after === undefined) throw new Error(`Gatehouse has nothing to write to ${file}.`);
  // A config kept in a dotfiles repository is often a symlink: write the file it points to, not over the link.
  const target = fs.existsSync(file) ? fs.realpathSync(file) : file;
  let current: Buffer | undefined;
  let mode: number | undefined;
  try {
    current = fs.readFileSync(target);
    mode = fs.statSync(target).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // The plan was made from a text; refuse if the file moved on since, rather than lose that edit.
  // Comparing bytes also refuses files that are not UTF-8, whose other bytes a rewrite would damage.
  const planned = plan.before === undefined ? undefined : Buffer.from(plan.before, 'utf8');
  if (current === undefined ? planned !== undefined : planned === undefined || !current.equals(planned)) {
    throw new Error(`${file} changed after Gatehouse read it (or is not UTF-8 text). Nothing was written; run the command again.`);
  }
  let backup: string | undefined;
  if (current !== undefined) {
    backup = uniqueBackupName(target, now);
    writeFileAtomic(backup, current, mode);
    pruneBackups(target);
  }
  writeFileAtomic(target, plan.after, mode);
  return { written: true, backup };
}

/** Backups of `file`, oldest first. */
export function listBackups(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + BACKUP_MARK;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => path.join(dir, name));
}

function uniqueBackupName(file: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  let candidate = `${file}${BACKUP_MARK}${stamp}`;
  for (let n = 1; fs.existsSync(candidate); n++) candidate = `${file}${BACKUP_MARK}${stamp}-${String(n).padStart(3, '0')}`;
  return candidate;
}

function pruneBackups(file: string): void {
  const backups = listBackups(file);
  for (const old of backups.slice(0, Math.max(0, backups.length - BACKUPS_KEPT))) fs.rmSync(old, { force: true });
}

/** Unified diff with three lines of context, computed on lines (an LCS; config files are small). */
export function unifiedDiff(label: string, before: string, after: string): string {
  const a = splitLines(before);
  const b = splitLines(after);
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);
  const ops: { op: ' ' | '-' | '+'; line: string }[] = a.slice(0, prefix).map((line) => ({ op: ' ' as const, line }));
  ops.push(...lcsOps(midA, midB));
  ops.push(...a.slice(a.length - suffix).map((line) => ({ op: ' ' as const, line })));

  const out: string[] = [`--- ${label} (before)`, `+++ ${label} (after)`];
  const context = 3;
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.op === ' ') {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while changes are within 2*context of each other.
    for (let j = i; j < ops.length; j++) {
      if (ops[j]!.op !== ' ') end = j;
      else if (j - end > 2 * context) break;
    }
    end = Math.min(ops.length - 1, end + context);
    let lineA = 1;
    let lineB = 1;
    for (let k = 0; k < start; k++) {
      if (ops[k]!.op !== '+') lineA++;
      if (ops[k]!.op !== '-') lineB++;
    }
    const hunk = ops.slice(start, end + 1);
    const countA = hunk.filter((o) => o.op !== '+').length;
    const countB = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${countA ? lineA : lineA - 1},${countA} +${countB ? lineB : lineB - 1},${countB} @@`);
    for (const o of hunk) out.push(`${o.op}${o.line}`);
    i = end + 1;
    start = i;
  }
  return out.join('\n') + '\n';
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += ' (no newline at end of file)';
  return lines;
}

function lcsOps(a: string[], b: string[]): { op: ' ' | '-' | '+'; line: string }[] {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [...a.map((line) => ({ op: '-' as const, line })), ...b.map((line) => ({ op: '+' as const, line }))];
  const table: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const ops: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i]! });
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) ops.push({ op: '-', line: a[i++]! });
    else ops.push({ op: '+', line: b[j++]! });
  }
  while (i < n) ops.push({ op: '-', line: a[i++]! });
  while (j < m) ops.push({ op: '+', line: b[j++]! });
  return ops;
}

/** Reads a text file, or undefined when it does not exist. */
export function readTextIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `~/...` for messages, so users recognise their own path. */
export function displayPath(file: string, home: string): string {
  return home && file.startsWith(home + path.sep) ? `~${file.slice(home.length)}` : file;
}

/** Whether a url is a Gatehouse gateway on loopback (any port): `http://127.0.0.1:<port>/mcp`. */
export function isLoopbackGatehouseUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && parsed.pathname.replace(/\/$/, '') === '/mcp';
  } catch {
    return false;
  }
}
