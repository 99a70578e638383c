import * as crypto from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** One upstream tool as the gateway exposes it. */
export interface CatalogEntry {
  /** `<server>__<tool>`, cleaned, at most 64 characters, unique. */
  readonly name: string;
  readonly server: string;
  /** The tool's own name on its upstream: calls are routed under this name. */
  readonly originalName: string;
  readonly tool: Tool;
}

const MAX_NAME = 64;
const SEPARATOR = '__';

function clean(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, '_');
}

function shortHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** Keeps a name within 64 characters; a long name keeps its start and gains a hash of the whole. */
function fit(name: string, full: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = shortHash(full);
  return `${name.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

/**
 * Builds the exposed names for every upstream tool. Clients (Codex, OpenAI and Anthropic APIs)
 * accept only `[A-Za-z0-9_-]{1,64}`. Collisions after cleaning are resolved deterministically:
 * entries are ordered by (server, tool) and later ones get `_2`, `_3`, … so a name never depends
 * on which upstream answered first.
 */
export function buildCatalog(toolsByServer: ReadonlyMap<string, readonly Tool[]>): Map<string, CatalogEntry> {
  const pairs: { server: string; tool: Tool }[] = [];
  for (const [server, tools] of toolsByServer) for (const tool of tools) pairs.push({ server, tool });
  pairs.sort((a, b) => (a.server === b.server ? cmp(a.tool.name, b.tool.name) : cmp(a.server, b.server)));

  const catalog = new Map<string, CatalogEntry>();
  for (const { server, tool } of pairs) {
    const full = `${server}${SEPARATOR}${tool.name}`;
    const base = fit(`${clean(server)}${SEPARATOR}${clean(tool.name)}`, full);
    let name = base;
    for (let n = 2; catalog.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
    }
    catalog.set(name, { name, server, originalName: tool.name, tool: { ...tool, name } });
  }
  return catalog;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
