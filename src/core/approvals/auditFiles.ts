import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditEvent } from './audit';

/** Where the audit log lives and what one line of it holds; the writer and the readers share this. */

/** One parsed line of the audit log. */
export type AuditEntry = Omit<AuditEvent, 'arguments' | 'editedArguments'> & {
  readonly ts: string;
  /** The client's display name (OAuth client name or API-key label), else its id. */
  readonly client?: string;
  readonly arguments?: unknown;
  readonly editedArguments?: unknown;
};

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

/** The file for a UTC day and rotation index (0: `audit-<day>.jsonl`). */
export function auditFileFor(home: string, day: string, index: number): string {
  return path.join(auditDir(home), index === 0 ? `audit-${day}.jsonl` : `audit-${day}.${index}.jsonl`);
}
