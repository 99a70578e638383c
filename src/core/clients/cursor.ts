import * as path from 'node:path';
import type { ClientConnectOptions } from './jsonConfig';
import { apiKeyRequired, foreignUrlReason, planJsonEntry, planJsonEntryRemoval } from './jsonConfig';
import type { ConfigPlan } from './plan';

/** Cursor: `~/.cursor/mcp.json`, `mcpServers.gatehouse`. Cursor expands `${env:NAME}` in headers. */

export function cursorConfigPath(home: string): string {
  return path.join(home, '.cursor', 'mcp.json');
}

export function desiredCursorEntry(options: ClientConnectOptions): Record<string, unknown> {
  const entry: Record<string, unknown> = { url: options.url };
  if (options.auth === 'env') entry.headers = { Authorization: 'Bearer ${env:GATEHOUSE_TOKEN}' };
  if (options.auth === 'header') entry.headers = { 'X-API-Key': options.apiKey ?? apiKeyRequired() };
  return entry;
}

export function planCursorConnect(text: string | undefined, options: ClientConnectOptions): ConfigPlan {
  return planJsonEntry({
    text,
    label: options.label ?? '~/.cursor/mcp.json',
    path: ['mcpServers', 'gatehouse'],
    desired: desiredCursorEntry(options),
    force: options.force,
    foreignReason: (existing) => foreignUrlReason(existing),
    freelyReplaced: ['url', 'headers'],
    what: 'Cursor',
  });
}

export function planCursorDisconnect(text: string | undefined, options: { force?: boolean; label?: string } = {}): ConfigPlan {
  return planJsonEntryRemoval(text, options.label ?? '~/.cursor/mcp.json', ['mcpServers', 'gatehouse'], (existing) => foreignUrlReason(existing), options.force);
}
