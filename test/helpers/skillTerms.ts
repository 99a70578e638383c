/** The protocol vocabulary a skill's markdown commits to; a drift test checks each against the live gateway. */
export interface ProtocolTerms {
  /** Identifiers in inline code: tool names (`await_approval`, `demo__write_note`) and fields (`request_id`). */
  readonly identifiers: string[];
  /** Object keys in inline code (`{ status: "blocked", reason }`) and in fenced JSON examples. */
  readonly keys: string[];
  /** Values given to `status`, inline (`status: "pending"`) or in JSON examples. */
  readonly statuses: string[];
}

const FENCE = /^```(\w*)\n([\s\S]*?)^```/gm;
const INLINE_CODE = /`([^`\n]+)`/g;
const IDENTIFIER_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const KEY_WITH_STRING = /([A-Za-z_][A-Za-z0-9_]*)"?\s*:\s*"([^"]*)"/g;
const BARE_KEY = /[{,]\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*(?=[,}:])/g;

/**
 * Pulls the protocol terms out of skill markdown: backticked identifiers (dotted paths are split),
 * keys and `status` values of inline object snippets, and every key and `status` value of the
 * fenced JSON examples. Prose is ignored, so the result is what the skill promises the agent.
 */
export function mentionedProtocolTerms(skillText: string): ProtocolTerms {
  const identifiers = new Set<string>();
  const keys = new Set<string>();
  const statuses = new Set<string>();

  const withoutFences = skillText.replace(FENCE, (_block, language: string, body: string) => {
    if (language === 'json') collectJson(body, keys, statuses);
    return '';
  });

  for (const [, code] of withoutFences.matchAll(INLINE_CODE)) {
    const span = code.trim();
    if (IDENTIFIER_PATH.test(span)) {
      for (const part of span.split('.')) identifiers.add(part);
      continue;
    }
    for (const [, key, value] of span.matchAll(KEY_WITH_STRING)) {
      keys.add(key);
      if (key === 'status') statuses.add(value);
    }
    for (const [, key] of span.matchAll(BARE_KEY)) keys.add(key);
  }
  return { identifiers: [...identifiers].sort(), keys: [...keys].sort(), statuses: [...statuses].sort() };
}

function collectJson(body: string, keys: Set<string>, statuses: Set<string>): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // A snippet that is not a whole JSON document still names its keys and statuses.
    for (const [, key, value] of body.matchAll(/"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*(?:"([^"]*)")?/g)) {
      keys.add(key);
      if (key === 'status' && value !== undefined) statuses.add(value);
    }
    return;
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        keys.add(key);
        if (key === 'status' && typeof child === 'string') statuses.add(child);
        walk(child);
      }
    }
  };
  walk(parsed);
}
