import type { JSONPath, ParseError } from 'jsonc-parser';
import { applyEdits, getNodeValue, findNodeAtLocation, modify, parse, parseTree, printParseErrorCode } from 'jsonc-parser';
import { lineAndColumn } from '../store/files';
import { canonicalJson } from '../approvals/canonical';
import { dominantNewline } from './codexToml';
import type { ConfigPlan, Customisation } from './plan';
import { isLoopbackGatehouseUrl, makePlan } from './plan';

/**
 * Shared planning for the JSON and JSONC client configs (Claude Code, Cursor, Gemini CLI, VS Code).
 * jsonc-parser edits the text in place, so comments, key order and the file's indentation survive.
 */

export type ClientAuthMode = 'oauth' | 'env' | 'header';

export interface ClientConnectOptions {
  readonly url: string;
  readonly auth: ClientAuthMode;
  readonly apiKey?: string;
  readonly force?: boolean;
  /** How the file is named in messages, e.g. `~/.cursor/mcp.json`. */
  readonly label?: string;
}

export class JsonConfigError extends Error {}

/** Parses JSON with comments; throws with line and column. */
export function parseJsonc(text: string, label: string): unknown {
  const errors: ParseError[] = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return {};
  const value: unknown = parse(body, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const first = errors[0]!;
    const at = lineAndColumn(body, first.offset);
    throw new JsonConfigError(`${label} is not valid JSON (line ${at.line}, column ${at.column}): ${printParseErrorCode(first.error)}. Gatehouse did not change it; fix the file and run again.`);
  }
  if (body.trim() !== '' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new JsonConfigError(`${label} does not hold a JSON object. Gatehouse did not change it; fix the file and run again.`);
  }
  return value ?? {};
}

export function apiKeyRequired(): never {
  throw new Error('The header auth mode needs an API key: create one with `gatehouse key create <client>` and pass it with --api-key.');
}

function formatting(text: string): { insertSpaces: boolean; tabSize: number; eol: string } {
  const indented = /\n([ \t]+)\S/.exec(text);
  const indent = indented?.[1] ?? '  ';
  return { insertSpaces: !indent.startsWith('\t'), tabSize: indent.startsWith('\t') ? 1 : indent.length, eol: dominantNewline(text) };
}

/**
 * Sets (or, with undefined, removes) the value at `path`, keeping everything else in the text.
 * Insertions and replacements are written by hand, indented like their siblings: jsonc-parser's own
 * formatting would reformat the whole line of the neighbouring property (a one-line server entry).
 */
export function editJson(text: string, path: JSONPath, value: unknown, options: { isArrayInsertion?: boolean } = {}): string {
  const bom = text.charCodeAt(0) === 0xfeff ? '\ufeff' : '';
  let body = bom ? text.slice(1) : text;
  const created = body.trim() === '';
  if (created) body = '{}';
  const format = formatting(body);
  let out: string;
  if (value === undefined) out = applyEdits(body, modify(body, path, undefined, {}));
  else if (options.isArrayInsertion || typeof path[path.length - 1] === 'number') {
    out = applyEdits(body, modify(body, path, value, { formattingOptions: format, isArrayInsertion: options.isArrayInsertion }));
  } else out = setProperty(body, path as string[], value, format) ?? applyEdits(body, modify(body, path, value, { formattingOptions: format }));
  return bom + (created ? `${out}${format.eol}` : out);
}

function setProperty(body: string, path: string[], value: unknown, format: { insertSpaces: boolean; tabSize: number; eol: string }): string | undefined {
  const tree = parseTree(body, [], { allowTrailingComma: true });
  if (!tree) return undefined;
  const unit = format.insertSpaces ? ' '.repeat(format.tabSize) : '\t';
  const indentOf = (offset: number): string => /^[ \t]*/.exec(body.slice(body.lastIndexOf('\n', offset - 1) + 1))![0];
  const pretty = (v: unknown, indent: string): string => JSON.stringify(v, null, unit).split('\n').join(format.eol + indent);

  const existing = findNodeAtLocation(tree, path);
  if (existing) {
    const indent = indentOf(existing.parent?.offset ?? existing.offset);
    return body.slice(0, existing.offset) + pretty(value, indent) + body.slice(existing.offset + existing.length);
  }
  // Insert the first missing key into the deepest object that exists.
  let depth = path.length - 1;
  while (depth > 0 && !findNodeAtLocation(tree, path.slice(0, depth))) depth--;
  const parent = depth === 0 ? tree : findNodeAtLocation(tree, path.slice(0, depth));
  if (!parent || parent.type !== 'object') return undefined;
  let inserted: unknown = value;
  for (let i = path.length - 1; i > depth; i--) inserted = { [path[i]!]: inserted };
  const key = JSON.stringify(path[depth]);
  const children = parent.children ?? [];
  if (!children.length) {
    const interior = body.slice(parent.offset + 1, parent.offset + parent.length - 1);
    if (interior.trim() !== '') return undefined;
    const parentIndent = indentOf(parent.offset);
    const childIndent = parentIndent + unit;
    return `${body.slice(0, parent.offset + 1)}${format.eol}${childIndent}${key}: ${pretty(inserted, childIndent)}${format.eol}${parentIndent}${body.slice(parent.offset + parent.length - 1)}`;
  }
  const last = children[children.length - 1]!;
  const lastEnd = last.offset + last.length;
  const lineStart = body.lastIndexOf('\n', last.offset - 1) + 1;
  if (body.slice(lineStart, last.offset).trim() !== '') return undefined; // a one-line object: let jsonc-parser format it
  const indent = indentOf(last.offset);
  const rest = body.slice(lastEnd);
  const trailingComma = /^[ \t]*,/.exec(rest);
  const afterComma = lastEnd + (trailingComma ? trailingComma[0].length : 0);
  // Put the new property after any comment that ends the last property's line.
  const lineEnd = body.indexOf('\n', afterComma);
  if (lineEnd === -1 || body.slice(afterComma, lineEnd).includes('/*')) return undefined;
  const insertAt = body[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
  const addition = `${format.eol}${indent}${key}: ${pretty(inserted, indent)}`;
  const withComma = trailingComma ? body : `${body.slice(0, lastEnd)},${body.slice(lastEnd)}`;
  const shift = trailingComma ? 0 : 1;
  return withComma.slice(0, insertAt + shift) + addition + withComma.slice(insertAt + shift);
}

/** The value at `path` in a JSON text, or undefined. */
export function valueAt(text: string, path: JSONPath): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const tree = parseTree(body, [], { allowTrailingComma: true });
  const node = tree && findNodeAtLocation(tree, path);
  return node ? getNodeValue(node) : undefined;
}

export function sameJson(a: unknown, b: unknown): boolean {
  // A missing value is not JSON null.
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(a) === canonicalJson(b);
}

export interface JsonEntrySpec {
  readonly text: string | undefined;
  readonly label: string;
  readonly path: JSONPath;
  readonly desired: Record<string, unknown>;
  readonly force?: boolean;
  /** Why an existing entry is not ours (a command, a remote url), or undefined when it is. */
  readonly foreignReason: (existing: unknown) => string | undefined;
  /** Keys Gatehouse may change without asking (the url, the auth headers). */
  readonly freelyReplaced: readonly string[];
  readonly what: string;
}

/** Plans writing one entry (an MCP server) at `path`, with the same rules as the Codex writer. */
export function planJsonEntry(spec: JsonEntrySpec): ConfigPlan {
  const { text, label } = spec;
  let existing: unknown;
  try {
    parseJsonc(text ?? '', label);
    existing = text === undefined ? undefined : valueAt(text, spec.path);
  } catch (error) {
    if (error instanceof JsonConfigError) return makePlan('invalid', text, text, error.message, { label });
    throw error;
  }
  if (existing !== undefined) {
    const foreign = spec.foreignReason(existing);
    if (foreign) {
      return makePlan('conflict', text, text, `${label} already has an MCP server named "gatehouse" that ${foreign}. Gatehouse did not change it; rename or remove that entry, then connect again.`, {
        conflicts: [`${spec.path.join('.')} ${foreign}`],
        label,
      });
    }
    if (sameJson(existing, spec.desired)) return makePlan('unchanged', text, text, `${label} already connects ${spec.what} to Gatehouse; nothing to do.`, { label });
  }
  const current = (existing && typeof existing === 'object' ? existing : {}) as Record<string, unknown>;
  const customised: Customisation[] = [];
  for (const key of new Set([...Object.keys(current), ...Object.keys(spec.desired)])) {
    if (spec.freelyReplaced.includes(key) || !(key in current)) continue;
    if (!sameJson(current[key], spec.desired[key])) customised.push({ key, current: current[key], planned: spec.desired[key] });
  }
  const after = editJson(text ?? '', spec.path, spec.desired);
  if (customised.length && !spec.force) {
    return makePlan('needs-force', text, after, `${label} has customised values in its "gatehouse" entry (${customised.map((c) => c.key).join(', ')}); review the diff and run again with --force to replace them.`, {
      customised,
      label,
    });
  }
  const status = text === undefined ? 'create' : 'update';
  return makePlan(status, text, after, `${status === 'create' ? 'Create' : 'Update'} ${label} to connect ${spec.what} to Gatehouse.`, { customised, label });
}

/** Plans removing the entry at `path`, refusing when it is somebody else's. */
export function planJsonEntryRemoval(
  text: string | undefined,
  label: string,
  path: JSONPath,
  foreignReason: (existing: unknown) => string | undefined,
  force = false,
): ConfigPlan {
  try {
    parseJsonc(text ?? '', label);
  } catch (error) {
    if (error instanceof JsonConfigError) return makePlan('invalid', text, text, error.message, { label });
    throw error;
  }
  const existing = text === undefined ? undefined : valueAt(text, path);
  if (existing === undefined) return makePlan('unchanged', text, text, `${label} has no Gatehouse entry; nothing to do.`, { label });
  const foreign = foreignReason(existing);
  if (foreign && !force) {
    return makePlan('conflict', text, text, `The "gatehouse" server in ${label} ${foreign}, so it is not Gatehouse's; it was left alone. Use --force to remove it anyway.`, { label });
  }
  return makePlan('update', text, editJson(text!, path, undefined), `Remove the Gatehouse entry from ${label}.`, { label });
}

/** The usual "is this our gateway" test for JSON entries that carry a url under some key. */
export function foreignUrlReason(existing: unknown, urlKeys: readonly string[] = ['url']): string | undefined {
  if (!existing || typeof existing !== 'object' || Array.isArray(existing)) return 'is not an object';
  const record = existing as Record<string, unknown>;
  if (record.command !== undefined) return `runs a command (${String(record.command)})`;
  for (const key of urlKeys) {
    const url = record[key];
    if (url === undefined) continue;
    if (typeof url !== 'string' || !isLoopbackGatehouseUrl(url)) return `points at ${String(url)}`;
  }
  return undefined;
}
