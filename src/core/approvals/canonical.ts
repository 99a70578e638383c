import * as crypto from 'node:crypto';

/**
 * JSON with object keys sorted (by UTF-16 code unit) at every depth and no whitespace, so two
 * equal argument objects always produce the same text and the same hash, whatever order an
 * agent sent the keys in. Follows JSON.stringify for the rest: `toJSON()` is used (a TOML date
 * compares as its ISO text), undefined members are left out, non-finite numbers become null.
 * The one stable serialiser: policy, approvals and the client config writers all compare with it.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, new Set());
}

function serialise(raw: unknown, seen: Set<object>): string {
  const value = hasToJson(raw) ? raw.toJSON() : raw;
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') throw new TypeError('canonicalJson: BigInt has no JSON form');
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
    return JSON.stringify(value);
  }
  if (seen.has(value)) throw new TypeError('canonicalJson: circular structure');
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((item) => serialise(item, seen)).join(',')}]`;
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      members.push(`${JSON.stringify(key)}:${serialise(member, seen)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    seen.delete(value);
  }
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/** One-shot (`crypto.hash`, Node 20.12+): it runs on every call, and needs no Hash object. */
export function sha256Hex(text: string): string {
  return crypto.hash('sha256', text, 'hex');
}

/** The identity of a call's arguments: approvals and grants are bound to this, not to the raw text. */
export function argumentsHash(args: unknown): string {
  return sha256Hex(canonicalJson(args ?? {}));
}

/** The parts of a tool definition that a rug-pull would change. */
export interface FingerprintableTool {
  readonly description?: string;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly title?: string;
  readonly annotations?: unknown;
}

/**
 * Hash of what the model and the human were shown when a rule or grant was made: the
 * description, the schemas, and the two annotations that choose the default decision
 * (`readOnlyHint`, `destructiveHint`), since flipping those is as much a rug pull as rewriting the
 * description. The title and the other hints are left out: a server may retitle a tool
 * harmlessly. A tool without those hints hashes as it did before they were included.
 */
export function toolFingerprint(tool: FingerprintableTool): string {
  const annotations = (tool.annotations ?? {}) as { readOnlyHint?: unknown; destructiveHint?: unknown };
  const hints = {
    ...(annotations.readOnlyHint !== undefined ? { readOnlyHint: annotations.readOnlyHint } : {}),
    ...(annotations.destructiveHint !== undefined ? { destructiveHint: annotations.destructiveHint } : {}),
  };
  return sha256Hex(
    canonicalJson({
      description: tool.description ?? '',
      inputSchema: tool.inputSchema ?? null,
      outputSchema: tool.outputSchema,
      ...(Object.keys(hints).length ? { hints } : {}),
    }),
  );
}
