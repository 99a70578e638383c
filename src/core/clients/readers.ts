import { parseTomlDocument, TomlSyntaxError } from './codexToml';
import { parseJsonc } from './jsonConfig';

/**
 * Readers for "move servers behind Gatehouse": each client's MCP servers, converted to the shape
 * of Gatehouse's `servers.json` (VS Code's `mcp.json` shape).
 *
 * Secrets that the client takes from the environment stay references: they are written as
 * `${env:VAR}` (VS Code's syntax, which servers.json shares), never resolved into the file.
 * Codex's `bearer_token_env_var = "X"` becomes `Authorization: Bearer ${env:X}`, its
 * `env_http_headers` become `${env:VAR}` header values, its `env_vars` pass-through list becomes
 * `VAR = "${env:VAR}"`, and Claude Code's `${VAR}` becomes `${env:VAR}`.
 *
 * A remote server without a static Authorization header is one the client signs in to with
 * OAuth; it moves as an OAuth upstream (needs sign-in in Gatehouse, once for every agent) and
 * keeps the client's OAuth settings: Codex's `scopes`, Claude Code's `oauth.clientId`. The
 * client's tokens are not copied.
 */

export interface StdioServer {
  readonly type: 'stdio';
  readonly command: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

export interface HttpServer {
  readonly type: 'http';
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** How the client signed in with OAuth (its own app, its scopes); Gatehouse then signs in once for every agent. */
  readonly oauth?: { readonly clientId?: string; readonly scopes?: string[] };
}

export type ServerDefinition = StdioServer | HttpServer;

export interface ServersRead {
  readonly servers: Record<string, ServerDefinition>;
  /** Entries that were not read, with the reason (Gatehouse itself, disabled, unsupported transport). */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

export const GATEHOUSE_NAME = 'gatehouse';

export function readCodexServers(text: string | undefined, label = '~/.codex/config.toml'): ServersRead {
  if (text === undefined) return { servers: {}, skipped: [] };
  let value: Record<string, unknown>;
  try {
    value = parseTomlDocument(text).value as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlSyntaxError) throw new Error(`${label} is not valid TOML (line ${error.line}, column ${error.column}): ${error.detail}. Fix the file and run again.`, { cause: error });
    throw error;
  }
  const servers: Record<string, ServerDefinition> = {};
  const skipped: { name: string; reason: string }[] = [];
  for (const [name, raw] of Object.entries(asRecord(value.mcp_servers))) {
    const entry = asRecord(raw);
    if (name === GATEHOUSE_NAME) skipped.push({ name, reason: 'this is Gatehouse itself' });
    else if (entry.enabled === false) skipped.push({ name, reason: 'disabled in Codex (already moved?)' });
    else if (typeof entry.command === 'string') {
      const env: Record<string, string> = { ...stringRecord(entry.env) };
      for (const variable of stringList(entry.env_vars)) env[variable] ??= `\${env:${variable}}`;
      servers[name] = stdio(entry.command, stringList(entry.args), env, typeof entry.cwd === 'string' ? entry.cwd : undefined);
    } else if (typeof entry.url === 'string') {
      const headers: Record<string, string> = { ...stringRecord(entry.http_headers) };
      for (const [header, variable] of Object.entries(stringRecord(entry.env_http_headers))) headers[header] = `\${env:${variable}}`;
      if (typeof entry.bearer_token_env_var === 'string') headers.Authorization = `Bearer \${env:${entry.bearer_token_env_var}}`;
      servers[name] = http(entry.url, headers, { scopes: stringList(entry.scopes) });
    } else skipped.push({ name, reason: 'has neither a command nor a url' });
  }
  return { servers, skipped };
}

/**
 * Claude Code: the user-scope `mcpServers` of `~/.claude.json` and, when `projectPath` is given,
 * that project's local-scope servers; or a project `.mcp.json` (same `mcpServers` shape).
 */
export function readClaudeServers(text: string | undefined, options: { label?: string; projectPath?: string } = {}): ServersRead {
  if (text === undefined) return { servers: {}, skipped: [] };
  const root = asRecord(parseJsonc(text, options.label ?? '~/.claude.json'));
  const merged = { ...asRecord(root.mcpServers) };
  if (options.projectPath) Object.assign(merged, asRecord(asRecord(asRecord(root.projects)[options.projectPath]).mcpServers));
  return convertJsonServers(merged, (value) => value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '${env:$1}'));
}

/** Cursor's `~/.cursor/mcp.json` (`mcpServers`); Cursor already writes `${env:NAME}`. */
export function readCursorServers(text: string | undefined, label = '~/.cursor/mcp.json'): ServersRead {
  if (text === undefined) return { servers: {}, skipped: [] };
  return convertJsonServers(asRecord(asRecord(parseJsonc(text, label)).mcpServers), (value) => value);
}

/**
 * VS Code's `mcp.json` (user or workspace `.vscode/mcp.json`, JSONC). Variables such as
 * `${workspaceFolder}` or `${input:...}` are kept as written; Gatehouse's loader resolves what it can.
 */
export function readVsCodeServers(text: string | undefined, label = 'mcp.json'): ServersRead {
  if (text === undefined) return { servers: {}, skipped: [] };
  return convertJsonServers(asRecord(asRecord(parseJsonc(text, label)).servers), (value) => value);
}

function convertJsonServers(entries: Record<string, unknown>, rewrite: (value: string) => string): ServersRead {
  const servers: Record<string, ServerDefinition> = {};
  const skipped: { name: string; reason: string }[] = [];
  const rewriteAll = (record: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, rewrite(v)]));
  for (const [name, raw] of Object.entries(entries)) {
    const entry = asRecord(raw);
    const type = typeof entry.type === 'string' ? entry.type : undefined;
    if (name === GATEHOUSE_NAME) skipped.push({ name, reason: 'this is Gatehouse itself' });
    else if (entry.disabled === true || entry.enabled === false) skipped.push({ name, reason: 'disabled' });
    else if (type === 'sse') skipped.push({ name, reason: 'uses the legacy SSE transport, which Gatehouse does not proxy' });
    else if (typeof entry.command === 'string' && (type === undefined || type === 'stdio')) {
      servers[name] = stdio(rewrite(entry.command), stringList(entry.args).map(rewrite), rewriteAll(stringRecord(entry.env)), typeof entry.cwd === 'string' ? rewrite(entry.cwd) : undefined);
    } else if (typeof (entry.url ?? entry.httpUrl) === 'string') {
      const oauth = asRecord(entry.oauth);
      servers[name] = http(rewrite(String(entry.url ?? entry.httpUrl)), rewriteAll(stringRecord(entry.headers)), { clientId: typeof oauth.clientId === 'string' ? oauth.clientId : undefined });
    } else skipped.push({ name, reason: 'has neither a command nor a url' });
  }
  return { servers, skipped };
}

function stdio(command: string, args: string[], env: Record<string, string>, cwd: string | undefined): StdioServer {
  return { type: 'stdio', command, ...(args.length ? { args } : {}), ...(Object.keys(env).length ? { env } : {}), ...(cwd ? { cwd } : {}) };
}

function http(url: string, headers: Record<string, string>, signIn: { clientId?: string; scopes?: string[] } = {}): HttpServer {
  const staticAuth = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  const oauth = { ...(signIn.clientId ? { clientId: signIn.clientId } : {}), ...(signIn.scopes?.length ? { scopes: signIn.scopes } : {}) };
  return { type: 'http', url, ...(Object.keys(headers).length ? { headers } : {}), ...(!staticAuth && Object.keys(oauth).length ? { oauth } : {}) };
}

/** Whether Gatehouse will sign in to this imported server with OAuth (no static Authorization header). */
export function signsInWithOAuth(server: ServerDefinition): boolean {
  return server.type === 'http' && !Object.keys(server.headers ?? {}).some((name) => name.toLowerCase() === 'authorization');
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(asRecord(value)).flatMap(([key, item]) => (typeof item === 'string' ? [[key, item]] : typeof item === 'number' || typeof item === 'boolean' ? [[key, String(item)]] : [])));
}
