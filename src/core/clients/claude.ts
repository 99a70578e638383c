import * as path from 'node:path';
import { JsonConfigError, editJson, parseJsonc, valueAt } from './jsonConfig';
import type { ConfigPlan } from './plan';
import { makePlan } from './plan';

/**
 * Claude Code's extra: an allow rule in `~/.claude/settings.json` so that Claude does not ask a
 * second time for calls Gatehouse already gates. Its server entry is a row in `jsonClients.ts`.
 */

export const CLAUDE_ALLOW_RULE = 'mcp__gatehouse__*';

export function claudeSettingsPath(home: string): string {
  return path.join(home, '.claude', 'settings.json');
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
