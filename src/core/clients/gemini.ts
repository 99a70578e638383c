import * as path from 'node:path';
import type { ClientConnectOptions } from './jsonConfig';
import { apiKeyRequired, foreignUrlReason, planJsonEntry, planJsonEntryRemoval } from './jsonConfig';
import type { ConfigPlan } from './plan';

/**
 * Gemini CLI: `~/.gemini/settings.json`, `mcpServers.gatehouse` with `httpUrl` (streamable HTTP).
 * `trust: true` skips Gemini's own confirmations because Gatehouse is the gate, and the timeout
 * (milliseconds) stays above the await_approval window with a margin.
 */

export const GEMINI_TIMEOUT_MS = 120_000;

export function geminiSettingsPath(home: string): string {
  return path.join(home, '.gemini', 'settings.json');
}

export function desiredGeminiEntry(options: ClientConnectOptions & { timeoutMs?: number }): Record<string, unknown> {
  const entry: Record<string, unknown> = { httpUrl: options.url };
  // Gemini CLI expands `$VAR` / `${VAR}` in settings.json values.
  if (options.auth === 'env') entry.headers = { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' };
  if (options.auth === 'header') entry.headers = { 'X-API-Key': options.apiKey ?? apiKeyRequired() };
  entry.trust = true;
  entry.timeout = options.timeoutMs ?? GEMINI_TIMEOUT_MS;
  return entry;
}

export function planGeminiConnect(text: string | undefined, options: ClientConnectOptions & { timeoutMs?: number }): ConfigPlan {
  return planJsonEntry({
    text,
    label: options.label ?? '~/.gemini/settings.json',
    path: ['mcpServers', 'gatehouse'],
    desired: desiredGeminiEntry(options),
    force: options.force,
    foreignReason: (existing) => foreignUrlReason(existing, ['httpUrl', 'url']),
    freelyReplaced: ['httpUrl', 'headers'],
    what: 'Gemini CLI',
  });
}

export function planGeminiDisconnect(text: string | undefined, options: { force?: boolean; label?: string } = {}): ConfigPlan {
  return planJsonEntryRemoval(text, options.label ?? '~/.gemini/settings.json', ['mcpServers', 'gatehouse'], (existing) => foreignUrlReason(existing, ['httpUrl', 'url']), options.force);
}
