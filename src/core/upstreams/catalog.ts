import * as crypto from 'node:crypto';
import type { Prompt, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogEntry } from '../calls/callPath';

/** 64 is what clients accept, and Codex and Claude Code put `mcp__gatehouse__` (16) in front. */
const MAX_NAME = 48;
const SEPARATOR = '__';

function clean(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, '_');
}

function shortHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** Keeps a name within MAX_NAME characters; a long name keeps its start and gains a hash of the whole. */
function fit(name: string, full: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = shortHash(full);
  return `${name.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

/**
 * Builds the exposed names for every upstream tool. Clients (Codex, OpenAI and Anthropic APIs)
 * accept only `[A-Za-z0-9_-]{1,64}`, prefix included. Collisions after cleaning are resolved deterministically:
 * entries are ordered by (server, tool) and later ones get `_2`, `_3`, … so a name never depends
 * on which upstream answered first.
 */
export function buildCatalog(toolsByServer: ReadonlyMap<string, readonly Tool[]>): Map<string, CatalogEntry> {
  const catalog = new Map<string, CatalogEntry>();
  for (const { name, server, item: tool } of exposedNames(toolsByServer)) catalog.set(name, { name, server, originalName: tool.name, tool: { ...tool, name } });
  for (const entry of catalog.values()) {
    const raw = `${entry.server}${SEPARATOR}${entry.originalName}`;
    if (raw !== entry.name && !catalog.has(raw)) catalog.set(entry.name, { ...entry, legacyName: raw });
  }
  return catalog;
}

/** One upstream prompt as the aggregate endpoint exposes it, `<server>__<prompt>`. */
export interface PromptEntry {
  readonly name: string;
  readonly server: string;
  readonly originalName: string;
  readonly prompt: Prompt;
}

/** Prompt names, made the way tool names are. */
export function buildPromptCatalog(promptsByServer: ReadonlyMap<string, readonly Prompt[]>): Map<string, PromptEntry> {
  const catalog = new Map<string, PromptEntry>();
  for (const { name, server, item: prompt } of exposedNames(promptsByServer)) catalog.set(name, { name, server, originalName: prompt.name, prompt: { ...prompt, name } });
  return catalog;
}

function exposedNames<T extends { name: string }>(itemsByServer: ReadonlyMap<string, readonly T[]>): { name: string; server: string; item: T }[] {
  const pairs: { server: string; item: T }[] = [];
  for (const [server, items] of itemsByServer) for (const item of items) pairs.push({ server, item });
  pairs.sort((a, b) => (a.server === b.server ? cmp(a.item.name, b.item.name) : cmp(a.server, b.server)));

  const taken = new Set<string>();
  const named: { name: string; server: string; item: T }[] = [];
  for (const { server, item } of pairs) {
    const full = `${server}${SEPARATOR}${item.name}`;
    const base = fit(`${clean(server)}${SEPARATOR}${clean(item.name)}`, full);
    let name = base;
    for (let n = 2; taken.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
    }
    taken.add(name);
    named.push({ name, server, item });
  }
  return named;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
