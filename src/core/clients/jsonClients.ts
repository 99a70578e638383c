import * as path from 'node:path';
import type { JSONPath } from 'jsonc-parser';
import type { ClientConnectOptions } from './jsonConfig';
import { apiKeyRequired, foreignUrlReason, planJsonEntry, planJsonEntryRemoval } from './jsonConfig';
import type { ConfigPlan } from './plan';

/**
 * The clients whose config is a JSON (or JSONC) file with one `gatehouse` server entry. They differ
 * only in data, so each is a row: where the file is, where the entry goes, which key holds the URL,
 * and how the client spells an environment variable inside a header value.
 */
export interface JsonClient {
  /** The client's name in messages. */
  readonly what: string;
  /** How the file is named in messages when the caller gives no label. */
  readonly label: string;
  readonly file: (home: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform) => string;
  readonly entryPath: JSONPath;
  readonly urlKey: 'url' | 'httpUrl';
  /** Written before the url, as the client's own docs order it. */
  readonly type?: 'http';
  /** `Authorization` for the env auth mode: the client expands the variable when it loads the file. */
  readonly envAuthorization: string;
  /** Written after the headers. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Gemini's tool timeout in milliseconds: above the await_approval window with a margin. */
export const GEMINI_TIMEOUT_MS = 120_000;

export type JsonClientName = 'claude' | 'cursor' | 'gemini' | 'vscode';

export const JSON_CLIENTS: Readonly<Record<JsonClientName, JsonClient>> = {
  // Claude Code: the user-scope server in `~/.claude.json`; it expands `${VAR}` in headers.
  claude: {
    what: 'Claude Code',
    label: '~/.claude.json',
    file: (home) => path.join(home, '.claude.json'),
    entryPath: ['mcpServers', 'gatehouse'],
    urlKey: 'url',
    type: 'http',
    envAuthorization: 'Bearer ${GATEHOUSE_TOKEN}',
  },
  // Cursor expands `${env:NAME}` in headers.
  cursor: {
    what: 'Cursor',
    label: '~/.cursor/mcp.json',
    file: (home) => path.join(home, '.cursor', 'mcp.json'),
    entryPath: ['mcpServers', 'gatehouse'],
    urlKey: 'url',
    envAuthorization: 'Bearer ${env:GATEHOUSE_TOKEN}',
  },
  // Gemini CLI: `httpUrl` is streamable HTTP; it expands `$VAR` / `${VAR}`. `trust: true` skips
  // Gemini's own confirmations because Gatehouse is the gate.
  gemini: {
    what: 'Gemini CLI',
    label: '~/.gemini/settings.json',
    file: (home) => path.join(home, '.gemini', 'settings.json'),
    entryPath: ['mcpServers', 'gatehouse'],
    urlKey: 'httpUrl',
    envAuthorization: 'Bearer ${GATEHOUSE_TOKEN}',
    extra: { trust: true, timeout: GEMINI_TIMEOUT_MS },
  },
  // VS Code's user `mcp.json` (JSONC), for editors where the extension cannot register Gatehouse
  // through the MCP provider API.
  vscode: {
    what: 'VS Code',
    label: 'VS Code mcp.json',
    file: (home, env, platform) => vscodeUserMcpPath(home, platform, env),
    entryPath: ['servers', 'gatehouse'],
    urlKey: 'url',
    type: 'http',
    envAuthorization: 'Bearer ${env:GATEHOUSE_TOKEN}',
  },
};

/** The user `mcp.json` of VS Code (stable) on this platform. */
export function vscodeUserMcpPath(home: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Code', 'User', 'mcp.json');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Code', 'User', 'mcp.json');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Code', 'User', 'mcp.json');
}

/** The entry Gatehouse wants in this client's file, keys in the order they are written. */
export function desiredJsonClientEntry(name: JsonClientName, options: ClientConnectOptions): Record<string, unknown> {
  const client = JSON_CLIENTS[name];
  const entry: Record<string, unknown> = client.type ? { type: client.type } : {};
  entry[client.urlKey] = options.url;
  if (options.auth === 'env') entry.headers = { Authorization: client.envAuthorization };
  if (options.auth === 'header') entry.headers = { 'X-API-Key': options.apiKey ?? apiKeyRequired() };
  return { ...entry, ...client.extra };
}

export function planJsonClientConnect(name: JsonClientName, text: string | undefined, options: ClientConnectOptions): ConfigPlan {
  const client = JSON_CLIENTS[name];
  return planJsonEntry({
    text,
    label: options.label ?? client.label,
    path: client.entryPath,
    desired: desiredJsonClientEntry(name, options),
    force: options.force,
    foreignReason: (existing) => foreignUrlReason(existing, urlKeysOf(client)),
    freelyReplaced: [client.urlKey, 'headers'],
    what: client.what,
  });
}

export function planJsonClientDisconnect(name: JsonClientName, text: string | undefined, options: { force?: boolean; label?: string } = {}): ConfigPlan {
  const client = JSON_CLIENTS[name];
  return planJsonEntryRemoval(text, options.label ?? client.label, client.entryPath, (existing) => foreignUrlReason(existing, urlKeysOf(client)), options.force);
}

/** A `url` next to Gemini's `httpUrl` counts too: either one pointing elsewhere makes the entry foreign. */
function urlKeysOf(client: JsonClient): readonly string[] {
  return client.urlKey === 'url' ? ['url'] : [client.urlKey, 'url'];
}
