import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { z } from 'zod';

/** A file that exists but cannot be used. The message names the file, the place and the problem. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}. Gatehouse did not change it; fix the file and save it again.`);
    this.name = 'ConfigFileError';
  }
}

/**
 * Writes a file atomically: a temporary sibling, fsync, then rename, so a crash never leaves
 * a half-written file. Keeps the existing file's mode unless one is given.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let finalMode = mode;
  if (finalMode === undefined) {
    try {
      finalMode = fs.statSync(file).mode & 0o777;
    } catch {
      finalMode = 0o644;
    }
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', finalMode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.chmodSync(tmp, finalMode);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * `writeFileAtomic` without blocking the event loop on the write and its fsync (which can take
 * tens of milliseconds on a busy disk). The rename stays synchronous and happens only while
 * `stillWanted()` holds, so a newer synchronous write is never replaced by this older one.
 */
export async function writeFileAtomicInBackground(file: string, data: string, mode: number, stillWanted: () => boolean): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.promises.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (!stillWanted()) {
      fs.rmSync(tmp, { force: true });
      return;
    }
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** Line and column (1-based) of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/** Parses JSON, reporting the line and column of the first syntax error. */
export function parseJsonText(file: string, text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) {
    const where = lineAndColumn(body, first.offset);
    throw new ConfigFileError(file, `not valid JSON at line ${where.line}, column ${where.column} (${describeParseError(first.error)})`);
  }
  return value;
}

function describeParseError(code: number): string {
  return printParseErrorCode(code).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** Formats zod issues as `field.path: message` so a person can find the spot. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Reads a JSON file and validates it. Returns undefined when the file does not exist;
 * throws ConfigFileError naming the file, the field or line, and the problem otherwise.
 */
export function readJsonFile<T>(file: string, schema: z.ZodType<T>): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigFileError(file, `cannot be read (${(error as Error).message})`);
  }
  const raw = parseJsonText(file, text);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigFileError(file, `does not fit the expected format: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Writes pretty JSON atomically. */
export function writeJsonFile(file: string, value: unknown, mode?: number): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, mode);
}
