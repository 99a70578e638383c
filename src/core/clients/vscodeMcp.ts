import * as path from 'node:path';
import type { ClientConnectOptions } from './jsonConfig';
import { apiKeyRequired, foreignUrlReason, planJsonEntry, planJsonEntryRemoval } from './jsonConfig';
import type { ConfigPlan } from './plan';

/**
 * VS Code's user `mcp.json` (`servers.gatehouse`), for editors where the extension cannot register
 * Gatehouse through the MCP provider API. The file is JSONC; comments survive the edit.
 */

/** The user `mcp.json` of VS Code (stable) on this platform. */
export function vscodeUserMcpPath(home: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Code', 'User', 'mcp.json');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Code', 'User', 'mcp.json');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Code', 'User', 'mcp.json');
}

export function desiredVsCodeEntry(options: ClientConnectOptions): Record<string, unknown> {
  const entry: Record<string, unknown> = { type: 'http', url: options.url };
  if (options.auth === 'env') entry.headers = { Authorization: 'Bearer ${env:GATEHOUSE_TOKEN}' };
  if (options.auth === 'header') entry.headers = { 'X-API-Key': options.apiKey ?? apiKeyRequired() };
  return entry;
}

export function planVsCodeConnect(text: string | undefined, options: ClientConnectOptions): ConfigPlan {
  return planJsonEntry({
    text,
    label: options.label ?? 'VS Code mcp.json',
    path: ['servers', 'gatehouse'],
    desired: desiredVsCodeEntry(options),
    force: options.force,
    foreignReason: (existing) => foreignUrlReason(existing),
    freelyReplaced: ['url', 'headers'],
    what: 'VS Code',
  });
}

export function planVsCodeDisconnect(text: string | undefined, options: { force?: boolean; label?: string } = {}): ConfigPlan {
  return planJsonEntryRemoval(text, options.label ?? 'VS Code mcp.json', ['servers', 'gatehouse'], (existing) => foreignUrlReason(existing), options.force);
}
