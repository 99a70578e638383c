import type { CatalogEntry } from '../calls/callPath';
import type { PromptEntry } from '../upstreams/catalog';
import type { UpstreamManager } from '../upstreams/upstreamManager';

/** Resource URIs of the aggregate endpoint: `gatehouse://<server>/<the upstream's own URI>`. */
const AGGREGATE_URI_PREFIX = 'gatehouse://';

/**
 * How one MCP endpoint names what the upstreams offer. `/mcp` aggregates every upstream under
 * `<server>__<name>` and prefixed resource URIs; `/mcp/<server>` serves one upstream under its own
 * names. Either way a name leads to the same catalog entry, so policy, grants and the audit log
 * speak of one tool whichever endpoint the agent used.
 */
export interface GatewayView {
  /** Tells sessions of different endpoints apart: `*` for the aggregate, else the server. */
  readonly key: string;
  /** The one upstream served, or undefined for the aggregate. */
  readonly server?: string;
  includes(server: string): boolean;
  tools(): CatalogEntry[];
  toolName(entry: CatalogEntry): string;
  findTool(name: string): CatalogEntry | undefined;
  prompts(): PromptEntry[];
  promptName(entry: PromptEntry): string;
  findPrompt(name: string): PromptEntry | undefined;
  /** An upstream's resource URI as this endpoint's clients see it. */
  toClientUri(server: string, uri: string): string;
  /** A URI a client sent, back to the upstream that owns it and its own URI. */
  fromClientUri(uri: string): { server: string; uri: string } | undefined;
}

export function aggregateView(upstreams: UpstreamManager): GatewayView {
  return {
    key: '*',
    includes: () => true,
    tools: () => [...upstreams.catalog.values()],
    toolName: (entry) => entry.name,
    findTool: (name) => upstreams.catalog.get(name),
    prompts: () => [...upstreams.prompts.values()],
    promptName: (entry) => entry.name,
    findPrompt: (name) => upstreams.prompts.get(name),
    toClientUri: (server, uri) => `${AGGREGATE_URI_PREFIX}${server}/${uri}`,
    fromClientUri: (uri) => {
      if (uri.startsWith(AGGREGATE_URI_PREFIX)) {
        const rest = uri.slice(AGGREGATE_URI_PREFIX.length);
        const slash = rest.indexOf('/');
        if (slash > 0 && upstreams.get(rest.slice(0, slash))) return { server: rest.slice(0, slash), uri: rest.slice(slash + 1) };
      }
      // A URI as an upstream itself spells it (from a document, or a client that kept it) goes
      // to the one upstream that lists it, if exactly one does.
      const owners = upstreams.states().filter((s) => s.features.resources.some((r) => r.uri === uri));
      return owners.length === 1 ? { server: owners[0].name, uri } : undefined;
    },
  };
}

export function serverView(upstreams: UpstreamManager, server: string): GatewayView {
  return {
    key: server,
    server,
    includes: (name) => name === server,
    tools: () => [...upstreams.catalog.values()].filter((e) => e.server === server),
    toolName: (entry) => entry.originalName,
    findTool: (name) => [...upstreams.catalog.values()].find((e) => e.server === server && e.originalName === name),
    prompts: () => [...upstreams.prompts.values()].filter((e) => e.server === server),
    promptName: (entry) => entry.originalName,
    findPrompt: (name) => [...upstreams.prompts.values()].find((e) => e.server === server && e.originalName === name),
    toClientUri: (_server, uri) => uri,
    fromClientUri: (uri) => ({ server, uri }),
  };
}
