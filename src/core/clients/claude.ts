import * as path from 'node:path';
import type { ClientConnectOptions } from './jsonConfig';
import { apiKeyRequired, foreignUrlReason, JsonConfigError, editJson, parseJsonc, planJsonEntry, planJsonEntryRemoval, valueAt } from './jsonConfig';
import type { ConfigPlan } from './plan';
import { makePlan } from './plan';

/**
 * Claude Code: the user-scope server in `~/.claude.json` (`mcpServers.gatehouse`), and optionally
 * an allow rule in `~/.claude/settings.json` so that Claude does not ask a second time for calls
 * Gatehouse already gates.
 */

export const CLAUDE_ALLOW_RULE = 'mcp__gatehouse__*';

export function claudeConfigPath(home: string): string {
  return path.join(home, '.claude.json');
}

export function claudeSettingsPath(home: string): string {
  return path.join(home, '.claude', 'settings.json');
}

export function desiredClaudeEntry(options: ClientConnectOptions): Record<string, unknown> {
  const entry: Record<string, unknown> = { type: 'http', url: options.url };
  // Claude Code expands `${VAR}` in server headers when it loads the config.
  if (options.auth === 'env') entry.headers = { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' };
  if (options.auth === 'header') entry.headers = { 'X-API-Key': options.apiKey ?? apiKeyRequired() };
  return entry;
}

export function planClaudeConnect(text: string | undefined, options: ClientConnectOptions): ConfigPlan {
  return planJsonEntry({
    text,
    label: options.label ?? '~/.claude.json',
    path: ['mcpServers', 'gatehouse'],
    desired: desiredClaudeEntry(options),
    force: options.force,
    foreignReason: (existing) => foreignUrlReason(existing),
    freelyReplaced: ['url', 'headers'],
    what: 'Claude Code',
  });
}

export function planClaudeDisconnect(text: string | undefined, options: { force?: boolean; label?: string } = {}): ConfigPlan {
  return planJsonEntryRemoval(text, options.label ?? '~/.claude.json', ['mcpServers', 'gatehouse'], (existing) => foreignUrlReason(existing), options.force);
}

/** Adds (or removes) `mcp__gatehouse__*` in `permissions.allow`. */
export function planClaudePermissions(text: string | undefined, allow: boolean, label = '~/.claude/settings.json'): ConfigPlan {
  try {
    parseJsonc(text ?? '', label);
  } catch (error) {
    if (error instanceof JsonConfigError) return makePlan('invalid', text, text, error.message, { label });
    throw error;
  }
  const rules = text === undefined ? undefined : valueAt(text, ['permissions', 'allow']);
  if (rules !== undefined && !Array.isArray(rules)) {
    return makePlan('conflict', text, text, `${label} has a permissions.allow that is not a list; Gatehouse did not change it.`, { label });
  }
  const index = rules ? rules.indexOf(CLAUDE_ALLOW_RULE) : -1;
  if (allow === index >= 0) return makePlan('unchanged', text, text, `${label} already ${allow ? 'allows' : 'does not allow'} ${CLAUDE_ALLOW_RULE}; nothing to do.`, { label });
  let after: string;
  if (!allow) after = editJson(text!, ['permissions', 'allow', index], undefined);
  else if (rules) after = editJson(text!, ['permissions', 'allow', rules.length], CLAUDE_ALLOW_RULE, { isArrayInsertion: true });
  else after = editJson(text ?? '', ['permissions', 'allow'], [CLAUDE_ALLOW_RULE]);
  const status = text === undefined ? 'create' : 'update';
  return makePlan(status, text, after, `${allow ? 'Allow' : 'Stop allowing'} ${CLAUDE_ALLOW_RULE} in ${label}, so Claude Code ${allow ? 'leaves approvals to Gatehouse' : 'asks again'}.`, { label });
}
