import type * as TOML from '@iarna/toml';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalJson as canonical } from '../approvals/canonical';
import type { ParsedToml } from './codexToml';
import { isTable, parseTomlDocument, parseTomlValue, renderInlineValue, TomlSyntaxError } from './codexToml';
import type { ConfigPlan, Customisation } from './plan';
import { isLoopbackGatehouseUrl, makePlan } from './plan';
import { removeEntry, setEnabledKey, writeEntry } from './tomlEdits';

/**
 * The Codex writer: `[mcp_servers.gatehouse]` in `$CODEX_HOME/config.toml`.
 *
 * Edits are surgical: @iarna/toml validates the file and tells us what exists; the text of our own
 * entry (its table, subtables, dotted keys or inline entry) is replaced or removed, and a new table
 * is appended at the end. Every other byte is kept. After each edit the result is parsed again and
 * must equal the original with only our entry changed, or nothing is written.
 *
 * Managed keys are `url`, `default_tools_approval_mode`, `tool_timeout_sec`, `startup_timeout_sec`
 * and the auth keys (`bearer_token_env_var`, `http_headers`). Any other key the user added to our
 * entry (`enabled_tools`, `[mcp_servers.gatehouse.tools.x]`, ...) is kept, re-written from its parsed
 * value: Codex re-serialises this subtree itself, so comments inside it never survive anyway.
 * A managed key whose value differs from ours, other than the url's port or an auth value that
 * Gatehouse itself would write in another mode, is a customisation: the plan is `needs-force`.
 */

export const CODEX_SERVER_NAME = 'gatehouse';
export const GATEHOUSE_TOKEN_ENV = 'GATEHOUSE_TOKEN';
export const DEFAULT_TOOL_TIMEOUT_SEC = 120;
export const DEFAULT_STARTUP_TIMEOUT_SEC = 20;

export type CodexAuthMode = 'oauth' | 'env' | 'header';

export interface CodexConnectOptions {
  readonly url: string;
  readonly auth: CodexAuthMode;
  readonly apiKey?: string;
  readonly toolTimeoutSec?: number;
  readonly startupTimeoutSec?: number;
  readonly force?: boolean;
  /** How the file is named in messages, e.g. `~/.codex/config.toml`. */
  readonly label?: string;
  /**
   * The entry's name, `gatehouse` by default. A per-server entry (`url` ending in `/mcp/<server>`)
   * is usually named after the server, so Codex keeps showing `mcp__<server>__<tool>`.
   */
  readonly entryName?: string;
}

export type CodexPlan = ConfigPlan;

const target = (entryName: string): readonly ['mcp_servers', string] => ['mcp_servers', entryName];
const DEFAULT_LABEL = '~/.codex/config.toml';

/** `$CODEX_HOME/config.toml`, or `~/.codex/config.toml`. */
export function codexConfigPath(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const codexHome = env.CODEX_HOME?.trim();
  return path.join(codexHome ? path.resolve(codexHome) : path.join(home, '.codex'), 'config.toml');
}

/** The entry Gatehouse wants, managed keys only, in the order they are written. */
export function desiredCodexEntry(options: CodexConnectOptions): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    url: options.url,
    default_tools_approval_mode: 'approve',
    tool_timeout_sec: options.toolTimeoutSec ?? DEFAULT_TOOL_TIMEOUT_SEC,
    startup_timeout_sec: options.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC,
  };
  if (options.auth === 'env') entry.bearer_token_env_var = GATEHOUSE_TOKEN_ENV;
  if (options.auth === 'header') {
    if (!options.apiKey) throw new Error('The header auth mode needs an API key: create one with `gatehouse key create codex` and pass it with --api-key.');
    entry.http_headers = { 'X-API-Key': options.apiKey };
  }
  return entry;
}

/** Values Codex itself writes as inline tables inside a server's entry. */
const INLINE_TABLE_KEYS: ReadonlySet<string> = new Set(['http_headers', 'env', 'env_http_headers']);

const MANAGED_KEYS = ['url', 'default_tools_approval_mode', 'tool_timeout_sec', 'startup_timeout_sec', 'bearer_token_env_var', 'http_headers'];

export function planCodexConnect(text: string | undefined, options: CodexConnectOptions): CodexPlan {
  const label = options.label ?? DEFAULT_LABEL;
  const desired = desiredCodexEntry(options);
  const parsed = parseOrPlan(text, label);
  if ('status' in parsed) return parsed;
  const doc = parsed;
  const entryName = options.entryName ?? CODEX_SERVER_NAME;
  const entryPath = target(entryName);
  const existing = serversOf(doc.value)?.[entryName];

  if (existing !== undefined) {
    const foreign = foreignReason(existing);
    if (foreign) {
      return makePlan('conflict', text, text, `${label} already has an MCP server named "${entryName}" that ${foreign}. Gatehouse did not change it; rename or remove that entry, then connect again.`, {
        conflicts: [`mcp_servers.${entryName} ${foreign}`],
        label,
      });
    }
  }
  const current = isTable(existing) ? existing : {};
  const merged: Record<string, unknown> = { ...desired };
  for (const [key, value] of Object.entries(current)) if (!MANAGED_KEYS.includes(key)) merged[key] = value;
  if (existing !== undefined && canonical(existing) === canonical(merged)) {
    return makePlan('unchanged', text, text, `${label} already connects Codex to Gatehouse; nothing to do.`, { label });
  }
  const customised = findCustomisations(current, desired);

  let after: string;
  try {
    after = doc.bom + writeEntry(doc, entryPath, merged, INLINE_TABLE_KEYS);
    assertOnlyEntryChanged(doc, after, entryPath, merged);
  } catch (error) {
    return makePlan('invalid', text, text, `Gatehouse could not edit ${label} safely (${(error as Error).message}); it did not change it. Add the entry by hand or report this file.`, { label });
  }
  if (customised.length && !options.force) {
    const list = customised.map((c) => `${c.key} = ${renderInlineValue(c.current)}`).join(', ');
    return makePlan('needs-force', text, after, `${label} has customised values in [mcp_servers.${entryName}] (${list}); review the diff and run again with --force to replace them.`, { customised, label });
  }
  const status = text === undefined ? 'create' : 'update';
  return makePlan(status, text, after, `${status === 'create' ? 'Create' : 'Update'} ${label} to connect Codex to Gatehouse at ${options.url}.`, { customised, label });
}

export function planCodexDisconnect(text: string | undefined, options: { force?: boolean; label?: string; entryName?: string } = {}): CodexPlan {
  const label = options.label ?? DEFAULT_LABEL;
  const parsed = parseOrPlan(text, label);
  if ('status' in parsed) return parsed;
  const entryName = options.entryName ?? CODEX_SERVER_NAME;
  const entryPath = target(entryName);
  const existing = serversOf(parsed.value)?.[entryName];
  if (existing === undefined) return makePlan('unchanged', text, text, `${label} has no Gatehouse entry; nothing to do.`, { label });
  const foreign = foreignReason(existing);
  if (foreign && !options.force) {
    return makePlan('conflict', text, text, `The "${entryName}" server in ${label} ${foreign}, so it is not Gatehouse's; it was left alone. Use --force to remove it anyway.`, {
      conflicts: [`mcp_servers.${entryName} ${foreign}`],
      label,
    });
  }
  let after: string;
  try {
    after = parsed.bom + removeEntry(parsed, entryPath);
    assertOnlyEntryChanged(parsed, after, entryPath, undefined);
  } catch (error) {
    return makePlan('invalid', text, text, `Gatehouse could not edit ${label} safely (${(error as Error).message}); it did not change it.`, { label });
  }
  return makePlan('update', text, after, `Remove the Gatehouse entry from ${label}.`, { label });
}

/** Sets `enabled = false` on the named Codex servers, so an agent cannot bypass the gateway. */
export function planCodexDisableServers(text: string | undefined, names: readonly string[], label = DEFAULT_LABEL): CodexPlan {
  return planEnabled(text, names, false, label);
}

/** Removes `enabled` from the named Codex servers (Codex's default is enabled). */
export function planCodexEnableServers(text: string | undefined, names: readonly string[], label = DEFAULT_LABEL): CodexPlan {
  return planEnabled(text, names, true, label);
}

function planEnabled(text: string | undefined, names: readonly string[], enable: boolean, label: string): CodexPlan {
  const parsed = parseOrPlan(text, label);
  if ('status' in parsed) return parsed;
  const missing = names.filter((name) => !isTable(serversOf(parsed.value)?.[name]));
  if (missing.length) {
    return makePlan('conflict', text, text, `${label} has no MCP server named ${missing.map((n) => `"${n}"`).join(', ')}; nothing was changed.`, { conflicts: missing, label });
  }
  let body = parsed.body;
  let doc: ParsedToml = parsed;
  try {
    for (const name of names) {
      const server = serversOf(doc.value)![name] as Record<string, unknown>;
      const wanted = enable ? undefined : false;
      if (server.enabled === wanted) continue;
      const next = setEnabledKey(doc, ['mcp_servers', name], wanted);
      const merged = { ...server };
      if (wanted === undefined) delete merged.enabled;
      else merged.enabled = wanted;
      assertOnlyEntryChanged(doc, next, ['mcp_servers', name], merged);
      body = next;
      doc = parseTomlDocument(body);
    }
  } catch (error) {
    return makePlan('invalid', text, text, `Gatehouse could not edit ${label} safely (${(error as Error).message}); it did not change it.`, { label });
  }
  const after = parsed.bom + body;
  if (after === text) return makePlan('unchanged', text, text, `Those servers are already ${enable ? 'enabled' : 'disabled'} in ${label}.`, { label });
  return makePlan('update', text, after, `${enable ? 'Re-enable' : 'Disable'} ${names.join(', ')} in ${label}.`, { label });
}

// ---------------------------------------------------------------------------------------------

function parseOrPlan(text: string | undefined, label: string): ParsedToml | CodexPlan {
  try {
    return parseTomlDocument(text ?? '');
  } catch (error) {
    if (!(error instanceof TomlSyntaxError)) throw error;
    return makePlan('invalid', text, text, `${label} is not valid TOML (line ${error.line}, column ${error.column}): ${error.detail}. Gatehouse did not change it; fix the file and run again.`, {
      label,
    });
  }
}

function serversOf(value: TOML.JsonMap): Record<string, unknown> | undefined {
  const servers = (value as Record<string, unknown>).mcp_servers;
  return isTable(servers) ? servers : undefined;
}

/** Why an existing `gatehouse` entry is somebody else's, or undefined when it is ours. */
function foreignReason(existing: unknown): string | undefined {
  if (!isTable(existing)) return 'is not a table';
  if (existing.command !== undefined) return `runs a command (${String(existing.command)})`;
  if (existing.url === undefined) return undefined;
  if (typeof existing.url !== 'string' || !isLoopbackGatehouseUrl(existing.url)) return `points at ${String(existing.url)}`;
  return undefined;
}

function findCustomisations(current: Record<string, unknown>, desired: Record<string, unknown>): Customisation[] {
  const found: Customisation[] = [];
  for (const key of ['default_tools_approval_mode', 'tool_timeout_sec', 'startup_timeout_sec']) {
    if (key in current && canonical(current[key]) !== canonical(desired[key])) found.push({ key, current: current[key], planned: desired[key] });
  }
  const token = current.bearer_token_env_var;
  if (token !== undefined && token !== GATEHOUSE_TOKEN_ENV) found.push({ key: 'bearer_token_env_var', current: token, planned: desired.bearer_token_env_var });
  const headers = current.http_headers;
  const ownHeaders = isTable(headers) && Object.keys(headers).every((name) => name === 'X-API-Key');
  if (headers !== undefined && !ownHeaders) found.push({ key: 'http_headers', current: headers, planned: desired.http_headers });
  return found;
}

/** The safety net: re-parse and require that only `target` changed, to exactly `expected`. */
function assertOnlyEntryChanged(doc: ParsedToml, after: string, target: readonly string[], expected: Record<string, unknown> | undefined): void {
  const afterBody = after.charCodeAt(0) === 0xfeff ? after.slice(1) : after;
  let reparsed: TOML.JsonMap;
  try {
    reparsed = parseTomlValue(afterBody);
  } catch (error) {
    throw new Error(`the edited file would not parse: ${String((error as Error).message).split('\n')[0]}`, { cause: error });
  }
  const strip = (value: TOML.JsonMap): { rest: string; entry: string } => {
    const copy = structuredClone(value) as Record<string, unknown>;
    const servers = copy.mcp_servers as Record<string, unknown> | undefined;
    const entry = servers?.[target[1]!];
    if (servers) delete servers[target[1]!];
    // An emptied `[mcp_servers]` and a missing one mean the same to Codex.
    if (servers && !Object.keys(servers).length) delete copy.mcp_servers;
    return { rest: canonical(copy), entry: canonical(entry) };
  };
  if (strip(doc.value).rest !== strip(reparsed).rest) throw new Error('the edit would change other settings');
  const afterParts = strip(reparsed);
  if (afterParts.entry !== canonical(expected)) throw new Error('the edit did not produce the expected entry');
}
