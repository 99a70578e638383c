import * as fs from 'node:fs';
import * as path from 'node:path';
import { structuredPatch } from 'diff';
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

/** Unified diff with three lines of context; CRLF is shown as LF and a missing final newline is said on the line. */
export function unifiedDiff(label: string, before: string, after: string): string {
  const patch = structuredPatch(label, label, comparableText(before), comparableText(after), undefined, undefined, { context: 3 });
  const out = [`--- ${label} (before)`, `+++ ${label} (after)`];
  for (const hunk of patch.hunks) {
    // An empty side names the line before it, as GNU diff and jsdiff's own formatPatch do.
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    out.push(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`, ...hunk.lines);
  }
  return out.join('\n') + '\n';
}

function comparableText(text: string): string {
  if (text === '') return '';
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += ' (no newline at end of file)';
  return lines.join('\n') + '\n';
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
    // `/mcp`, or `/mcp/<server>` for one upstream on its own endpoint.
    return parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && /^\/mcp(\/[A-Za-z0-9][A-Za-z0-9_.-]*)?$/.test(parsed.pathname.replace(/\/$/, ''));
  } catch {
    return false;
  }
}
