import * as TOML from '@iarna/toml';

/**
 * A locator for statements in a TOML document that @iarna/toml has already accepted.
 *
 * It is not a parser: values always come from @iarna/toml. It only finds where table headers and
 * key/value statements start and end (skipping multi-line strings and arrays that span lines), so
 * that a writer can replace exactly the lines of one table and leave every other byte alone.
 */

export interface TomlStatement {
  readonly kind: 'table' | 'arrayTable' | 'keyValue';
  /** For headers the table path; for key/values the full path (table path + key). */
  readonly path: readonly string[];
  /** The table the statement sits in (for headers, the table they open). */
  readonly tablePath: readonly string[];
  /** Offset of the first character of the line the statement starts on. */
  readonly start: number;
  /** Offset just past the newline that ends the statement's last line (or the end of the text). */
  readonly end: number;
  /** Value span of a key/value statement. */
  readonly valueStart?: number;
  readonly valueEnd?: number;
}

export interface InlineEntry {
  readonly keyPath: readonly string[];
  readonly keyStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

export interface ParsedToml {
  /** The text without its byte order mark; every offset refers to it. */
  readonly body: string;
  readonly bom: string;
  readonly newline: '\n' | '\r\n';
  readonly value: TOML.JsonMap;
  readonly statements: readonly TomlStatement[];
}

export class TomlSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.name = 'TomlSyntaxError';
  }
}

/** Validates with @iarna/toml, then locates statements. Throws TomlSyntaxError for invalid TOML. */
export function parseTomlDocument(text: string): ParsedToml {
  const bom = text.charCodeAt(0) === 0xfeff ? '\ufeff' : '';
  const body = bom ? text.slice(1) : text;
  let value: TOML.JsonMap;
  try {
    value = parseTomlValue(body);
  } catch (error) {
    const e = error as { line?: number; col?: number; message?: string };
    const detail = String(e.message ?? error).split('\n')[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, '');
    throw new TomlSyntaxError((e.line ?? 0) + 1, (e.col ?? 0) + 1, detail);
  }
  return { body, bom, newline: dominantNewline(body), value, statements: locateStatements(body) };
}

/**
 * @iarna/toml rejects the CR of a CRLF line ending after a comment, which Codex accepts. TOML lets
 * parsers normalise newlines, and line and column numbers stay the same, so parse with LF endings.
 */
export function parseTomlValue(body: string): TOML.JsonMap {
  return TOML.parse(body.replace(/\r\n/g, '\n'));
}

/** The newline most lines use, so lines we add match the file (CRLF files stay CRLF). */
export function dominantNewline(text: string): '\n' | '\r\n' {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  return crlf > lf ? '\r\n' : '\n';
}

export function locateStatements(text: string): TomlStatement[] {
  const statements: TomlStatement[] = [];
  let tablePath: string[] = [];
  let p = 0;
  while (p < text.length) {
    const lineStart = p;
    p = skipSpaces(text, p);
    const c = text[p];
    if (c === undefined || c === '#' || c === '\n' || c === '\r') {
      p = endOfLine(text, p);
      continue;
    }
    if (c === '[') {
      const isArray = text[p + 1] === '[';
      const key = scanKey(text, p + (isArray ? 2 : 1));
      tablePath = key.path;
      p = endOfLine(text, key.end);
      statements.push({ kind: isArray ? 'arrayTable' : 'table', path: key.path, tablePath: key.path, start: lineStart, end: p });
      continue;
    }
    const key = scanKey(text, p);
    const valueStart = skipSpaces(text, key.end + 1); // key.end is at '='
    const valueEnd = scanValue(text, valueStart);
    p = endOfLine(text, valueEnd);
    statements.push({
      kind: 'keyValue',
      path: [...tablePath, ...key.path],
      tablePath,
      start: lineStart,
      end: p,
      valueStart,
      valueEnd,
    });
  }
  return statements;
}

/** Top-level entries of the inline table whose `{` is at `open`. */
export function inlineTableEntries(text: string, open: number): InlineEntry[] {
  const entries: InlineEntry[] = [];
  let p = open + 1;
  for (;;) {
    p = skipTrivia(text, p);
    const c = text[p];
    if (c === undefined || c === '}') return entries;
    if (c === ',') {
      p++;
      continue;
    }
    const key = scanKey(text, p);
    const valueStart = skipSpaces(text, key.end + 1);
    const valueEnd = scanValue(text, valueStart);
    entries.push({ keyPath: key.path, keyStart: p, valueStart, valueEnd });
    p = valueEnd;
  }
}

function skipSpaces(text: string, p: number): number {
  while (text[p] === ' ' || text[p] === '\t') p++;
  return p;
}

/** Skips spaces, newlines and comments (inside arrays). */
function skipTrivia(text: string, p: number): number {
  for (;;) {
    const c = text[p];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') p++;
    else if (c === '#') {
      while (p < text.length && text[p] !== '\n') p++;
    } else return p;
  }
}

/** From `p` (after a statement), past any trailing comment and the newline. */
function endOfLine(text: string, p: number): number {
  const newline = text.indexOf('\n', p);
  return newline === -1 ? text.length : newline + 1;
}

/** A dotted key; `end` is the offset of the character after it (`=` or `]`). */
function scanKey(text: string, p: number): { path: string[]; end: number } {
  const path: string[] = [];
  for (;;) {
    p = skipSpaces(text, p);
    const c = text[p];
    if (c === '"') {
      const end = scanBasicString(text, p);
      path.push(decodeBasicString(text.slice(p + 1, end - 1)));
      p = end;
    } else if (c === "'") {
      const end = text.indexOf("'", p + 1);
      path.push(text.slice(p + 1, end));
      p = end + 1;
    } else {
      const start = p;
      while (p < text.length && /[A-Za-z0-9_-]/.test(text[p]!)) p++;
      path.push(text.slice(start, p));
    }
    p = skipSpaces(text, p);
    if (text[p] === '.') {
      p++;
      continue;
    }
    return { path, end: p };
  }
}

function scanBasicString(text: string, p: number): number {
  let i = p + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function decodeBasicString(raw: string): string {
  return raw.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_m, esc: string) => {
    if (esc.length > 1) return String.fromCodePoint(parseInt(esc.slice(1), 16));
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
    return simple[esc] ?? esc;
  });
}

/** Offset just past the value that starts at `p`. */
function scanValue(text: string, p: number): number {
  if (text.startsWith('"""', p) || text.startsWith("'''", p)) {
    const quote = text[p]!;
    let i = p + 3;
    while (i < text.length) {
      if (quote === '"' && text[i] === '\\') i += 2;
      else if (text.startsWith(quote.repeat(3), i)) {
        // Up to two quotes may sit right before the closing delimiter.
        let j = i + 3;
        while (text[j] === quote && j - i < 5) j++;
        return j;
      } else i++;
    }
    return text.length;
  }
  const c = text[p];
  if (c === '"') return scanBasicString(text, p);
  if (c === "'") return text.indexOf("'", p + 1) + 1;
  if (c === '[') {
    let i = p + 1;
    for (;;) {
      i = skipTrivia(text, i);
      if (i >= text.length) return i;
      if (text[i] === ']') return i + 1;
      if (text[i] === ',') i++;
      else i = scanValue(text, i);
    }
  }
  if (c === '{') {
    const entries = inlineTableEntries(text, p);
    let i = entries.length ? entries[entries.length - 1]!.valueEnd : p + 1;
    while (i < text.length && text[i] !== '}') i++;
    return i + 1;
  }
  // Bare scalars; a date-time may contain one space between date and time.
  const dateTime = /^\d{4}-\d{2}-\d{2} \d{2}:/.test(text.slice(p, p + 14));
  let i = dateTime ? p + 11 : p;
  while (i < text.length && !/[ \t\r\n,\]}#]/.test(text[i]!)) i++;
  return i;
}

/** Whether `path` starts with `prefix`. */
export function startsWithPath(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((part, index) => path[index] === part);
}

/** A key as TOML source: bare when it can be, quoted otherwise. */
export function renderKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** A value as inline TOML (strings, numbers, booleans, dates, arrays, inline tables). */
export function renderInlineValue(value: unknown, quoteKeys = false): string {
  if (typeof value === 'string') return renderString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : Number.isNaN(value) ? 'nan' : '-inf';
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map((item) => renderInlineValue(item)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length) return '{}';
    return `{ ${entries.map(([k, v]) => `${quoteKeys ? JSON.stringify(k) : renderKey(k)} = ${renderInlineValue(v)}`).join(', ')} }`;
  }
  throw new Error(`cannot write ${typeof value} as TOML`);
}

function renderString(value: string): string {
  // JSON escapes are TOML basic-string escapes, except that TOML has no `\/` (JSON never emits it).
  return JSON.stringify(value).replace(/[\u007f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain object (a TOML table), as opposed to an array, a date or a scalar. */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Renders `[<prefix>]` followed by its scalar keys, then nested tables as `[<prefix>.<key>]`.
 * `inlineKeys` stay inline (`http_headers = { ... }`), as Codex's docs write them.
 */
export function renderTable(
  prefix: readonly string[],
  table: Record<string, unknown>,
  newline: string,
  inlineKeys: ReadonlySet<string> = new Set(),
  implicitHeader = false,
): string {
  const lines: string[] = [`[${prefix.map(renderKey).join('.')}]`];
  const nested: [string, Record<string, unknown>][] = [];
  for (const [key, value] of Object.entries(table)) {
    if (isTable(value) && !inlineKeys.has(key) && Object.keys(value).length) nested.push([key, value]);
    // Header and environment names are quoted, as Codex's documentation writes them.
    else lines.push(`${renderKey(key)} = ${renderInlineValue(value, inlineKeys.has(key))}`);
  }
  // A table holding only subtables needs no header of its own (`[a.b]` implies `[a]`).
  let out = lines.length > 1 || !nested.length || !implicitHeader ? lines.join(newline) + newline : '';
  for (const [key, value] of nested) out += renderTable([...prefix, key], value, newline, new Set(), true);
  return out;
}
