import type { InlineEntry, ParsedToml, TomlStatement } from './codexToml';
import { inlineTableEntries, renderInlineValue, renderKey, renderTable, startsWithPath } from './codexToml';

/**
 * Surgical text edits of one table in a TOML document that @iarna/toml has accepted: replace,
 * remove or flag the lines (or inline-table entries) of the table at a key path, keeping every
 * other byte. Nothing here knows about Codex; the Codex writer decides what to write and checks
 * the result by parsing it again.
 */

export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export function applyEdits(body: string, edits: readonly Edit[]): string {
  let out = body;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

export interface EntryLocation {
  /** `[mcp_servers.<name>]` itself. */
  readonly header?: TomlStatement;
  /** Line ranges that belong to the entry: its sections, subtable sections, dotted keys, `name = {...}` statements. */
  readonly regions: { start: number; end: number; statement: TomlStatement }[];
  /** Entries inside a root `mcp_servers = { ... }` inline table. */
  readonly inline: { container: TomlStatement; entries: readonly InlineEntry[]; indexes: number[] }[];
}

/** Where the table at `target` lives in the text: its sections, dotted keys and inline-table entries. */
export function locateEntry(doc: ParsedToml, target: readonly string[]): EntryLocation {
  const statements = doc.statements;
  const regions: EntryLocation['regions'] = [];
  const inline: EntryLocation['inline'] = [];
  let header: TomlStatement | undefined;
  for (let i = 0; i < statements.length; i++) {
    const statement = statements[i]!;
    if (statement.kind !== 'keyValue') {
      if (!startsWithPath(statement.path, target)) continue;
      if (statement.kind === 'table' && statement.path.length === target.length) header = statement;
      let end = statement.end;
      for (let j = i + 1; j < statements.length && statements[j]!.kind === 'keyValue'; j++) end = statements[j]!.end;
      regions.push({ start: statement.start, end, statement });
    } else if (startsWithPath(statement.path, target)) {
      if (!startsWithPath(statement.tablePath, target)) regions.push({ start: statement.start, end: statement.end, statement });
    } else if (startsWithPath(target, statement.path) && doc.body[statement.valueStart!] === '{') {
      const entries = inlineTableEntries(doc.body, statement.valueStart!);
      const indexes = entries.flatMap((entry, index) => (startsWithPath([...statement.path, ...entry.keyPath], target) ? [index] : []));
      inline.push({ container: statement, entries, indexes });
    }
  }
  return { header, regions, inline };
}

/**
 * Replaces (or appends) the table at `target` with `entry`, wherever and however it is written now;
 * keys in `inlineKeys` are written as inline tables.
 */
export function writeEntry(doc: ParsedToml, target: readonly string[], entry: Record<string, unknown>, inlineKeys: ReadonlySet<string>): string {
  const body = doc.body;
  const nl = doc.newline;
  const location = locateEntry(doc, target);
  const block = renderTable(target, entry, nl, inlineKeys);
  const edits: Edit[] = [];
  const withInline = location.inline.find((item) => item.indexes.length) ?? location.inline[0];
  if (location.header) {
    for (const region of location.regions) edits.push({ start: region.start, end: region.end, text: region.statement === location.header ? endWithNewline(body, region.end, block, nl) : '' });
  } else if (withInline && location.regions.length === 0) {
    // `mcp_servers = { ... }` is closed: our entry has to live inside it.
    const rendered = `${renderKey(target[target.length - 1]!)} = ${renderInlineValue(entry)}`;
    const { entries, indexes } = withInline;
    if (indexes.length) {
      edits.push({ start: entries[indexes[0]!]!.keyStart, end: entries[indexes[0]!]!.valueEnd, text: rendered });
      for (const index of indexes.slice(1)) edits.push(inlineRemoval(body, entries, index));
    } else if (entries.length) {
      edits.push({ start: entries[entries.length - 1]!.valueEnd, end: entries[entries.length - 1]!.valueEnd, text: `, ${rendered}` });
    } else {
      const open = withInline.container.valueStart!;
      const close = body.indexOf('}', open);
      edits.push({ start: open + 1, end: close, text: ` ${rendered} ` });
    }
  } else {
    for (const region of location.regions) edits.push({ start: region.start, end: region.end, text: '' });
    edits.push({ start: body.length, end: body.length, text: appendSeparator(body, nl) + block });
  }
  return applyEdits(body, edits);
}

/** Removes every statement of the table at `target`, tidying the blank lines around it. */
export function removeEntry(doc: ParsedToml, target: readonly string[]): string {
  const body = doc.body;
  const location = locateEntry(doc, target);
  const edits: Edit[] = location.regions.map((region) => tidyRemoval(body, region.start, region.end));
  for (const item of location.inline) {
    for (const index of item.indexes) edits.push(inlineRemoval(body, item.entries, index));
  }
  return applyEdits(body, edits);
}

/** Removing lines: also drop one blank line so that no double blank line or trailing blank line is left behind. */
function tidyRemoval(body: string, start: number, end: number): Edit {
  const previousLineStart = start > 0 ? body.lastIndexOf('\n', start - 2) + 1 : 0;
  const blankBefore = start > 0 && /^[ \t]*\r?\n$/.test(body.slice(previousLineStart, start));
  const blankAfter = /^[ \t]*\r?\n/.exec(body.slice(end));
  if (blankBefore && end >= body.length) return { start: previousLineStart, end, text: '' };
  if (blankBefore && blankAfter) return { start, end: end + blankAfter[0].length, text: '' };
  return { start, end, text: '' };
}

/** Removes one inline-table entry together with the comma that separates it from a neighbour. */
function inlineRemoval(body: string, entries: readonly InlineEntry[], index: number): Edit {
  const entry = entries[index]!;
  if (index > 0) return { start: entries[index - 1]!.valueEnd, end: entry.valueEnd, text: '' };
  if (entries.length > 1) return { start: entry.keyStart, end: entries[1]!.keyStart, text: '' };
  return { start: entry.keyStart, end: entry.valueEnd, text: '' };
}

function endWithNewline(body: string, regionEnd: number, block: string, nl: string): string {
  // A region at the very end without a final newline: do not add one the file did not have.
  return regionEnd >= body.length && !body.endsWith('\n') ? block.slice(0, -nl.length) : block;
}

function appendSeparator(body: string, nl: string): string {
  if (body.trim() === '') return body === '' || body.endsWith('\n') ? '' : nl;
  if (!body.endsWith('\n')) return nl + nl;
  return /\n[ \t]*\r?\n$/.test(body) ? '' : nl;
}

/** Sets `enabled = false` in the table at `target`, or removes its `enabled` key (`undefined`). */
export function setEnabledKey(doc: ParsedToml, target: readonly string[], enabled: false | undefined): string {
  const body = doc.body;
  const nl = doc.newline;
  const location = locateEntry(doc, target);
  const enabledPath = [...target, 'enabled'];
  const sameAs = (statement: TomlStatement): boolean => statement.path.length === enabledPath.length && startsWithPath(statement.path, enabledPath);
  const existingStatement = doc.statements.find((statement) => statement.kind === 'keyValue' && sameAs(statement));
  if (existingStatement) {
    if (enabled === undefined) return applyEdits(body, [{ start: existingStatement.start, end: existingStatement.end, text: '' }]);
    return applyEdits(body, [{ start: existingStatement.valueStart!, end: existingStatement.valueEnd!, text: 'false' }]);
  }
  // `enabled` inside an inline table: `name = { ..., enabled = true }`.
  const inlineOwner = findInlineTable(doc, target);
  if (inlineOwner) {
    const { open, entries } = inlineOwner;
    const index = entries.findIndex((entry) => entry.keyPath.length === 1 && entry.keyPath[0] === 'enabled');
    if (index >= 0) {
      if (enabled === undefined) return applyEdits(body, [inlineRemoval(body, entries, index)]);
      return applyEdits(body, [{ start: entries[index]!.valueStart, end: entries[index]!.valueEnd, text: 'false' }]);
    }
    if (enabled === undefined) return body;
    if (entries.length) return applyEdits(body, [{ start: entries[entries.length - 1]!.valueEnd, end: entries[entries.length - 1]!.valueEnd, text: ', enabled = false' }]);
    return applyEdits(body, [{ start: open + 1, end: body.indexOf('}', open), text: ' enabled = false ' }]);
  }
  if (enabled === undefined) return body;
  if (location.header) {
    const at = location.header.end;
    const lead = body[at - 1] === '\n' ? '' : nl;
    return applyEdits(body, [{ start: at, end: at, text: `${lead}enabled = false${lead ? '' : nl}` }]);
  }
  const dotted = location.regions.filter((region) => region.statement.kind === 'keyValue');
  if (dotted.length) {
    const last = dotted[dotted.length - 1]!;
    const key = enabledPath.slice(last.statement.tablePath.length).map(renderKey).join('.');
    const lead = body[last.end - 1] === '\n' ? '' : nl;
    return applyEdits(body, [{ start: last.end, end: last.end, text: `${lead}${key} = false${lead ? '' : nl}` }]);
  }
  return body + appendSeparator(body, nl) + renderTable(target, { enabled: false }, nl);
}

/** The inline table holding a server's keys, if the server is written as `name = { ... }`. */
function findInlineTable(doc: ParsedToml, target: readonly string[]): { open: number; entries: readonly InlineEntry[] } | undefined {
  for (const statement of doc.statements) {
    if (statement.kind !== 'keyValue' || doc.body[statement.valueStart!] !== '{') continue;
    if (statement.path.length === target.length && startsWithPath(statement.path, target)) {
      return { open: statement.valueStart!, entries: inlineTableEntries(doc.body, statement.valueStart!) };
    }
    if (startsWithPath(target, statement.path)) {
      for (const entry of inlineTableEntries(doc.body, statement.valueStart!)) {
        const full = [...statement.path, ...entry.keyPath];
        if (full.length === target.length && startsWithPath(full, target) && doc.body[entry.valueStart] === '{') {
          return { open: entry.valueStart, entries: inlineTableEntries(doc.body, entry.valueStart) };
        }
      }
    }
  }
  return undefined;
}
