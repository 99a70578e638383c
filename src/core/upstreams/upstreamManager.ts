import { EventEmitter } from 'node:events';
import type { CallToolResult, Prompt, ServerNotification, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ConfigFileError } from '../store/files';
import { watchFile } from '../store/watch';
import type { CatalogEntry } from '../calls/callPath';
import { buildCatalog, buildPromptCatalog, type PromptEntry } from './catalog';
import { loadServers, sameServerConfig, serversFilePath, type ServerConfig } from './serversConfig';
import { Upstream, type UpstreamOptions, type UpstreamState } from './upstream';
import { signInRefusal } from './upstreamSignIn';

export interface UpstreamManagerEvents {
  /** The set of exposed tools changed (an upstream connected, listed new tools, or went away). */
  catalogChanged: [];
  /** An upstream's status changed. */
  upstreamChanged: [UpstreamState];
  /** servers.json could not be used; the previous servers keep running. */
  configError: [ConfigFileError];
  /** servers.json was (re)loaded successfully. */
  configLoaded: [];
  /** The resources or resource templates some upstream lists changed. */
  resourcesChanged: [];
  /** The set of exposed prompts changed. */
  promptsChanged: [];
  /** An upstream notified its client (a resource updated, a log message). */
  upstreamNotification: [server: string, notification: ServerNotification];
  /** An upstream needs the human to sign in (it asked, or a call was refused for it); front ends offer Sign in. */
  signInNeeded: [server: string, reason: string];
}

/** Each upstream tool list as JSON, kept while the upstream keeps that list (its array is replaced when the tools change). */
const toolsJson = new WeakMap<readonly Tool[], string>();

/**
 * What the catalog's tools are, without serialising every tool on every upstream state change
 * (quadratic while many upstreams start): the exposed names and each server's own tool list
 * together decide every entry.
 */
function catalogSignature(toolsByServer: ReadonlyMap<string, readonly Tool[]>, catalog: ReadonlyMap<string, CatalogEntry>): string {
  const parts = [[...catalog.keys()].join('\n')];
  for (const [server, tools] of toolsByServer) {
    let json = toolsJson.get(tools);
    if (json === undefined) {
      json = JSON.stringify(tools);
      toolsJson.set(tools, json);
    }
    parts.push(`${JSON.stringify(server)}:${json}`);
  }
  return parts.join('\n\n');
}

/**
 * Owns every upstream connection and the tool catalog. Upstreams start concurrently and
 * independently, so a slow or broken one never holds up the others. Editing servers.json
 * reloads only the servers whose entries changed.
 */
export class UpstreamManager extends EventEmitter<UpstreamManagerEvents> {
  private readonly upstreams = new Map<string, Upstream>();
  private catalogValue = new Map<string, CatalogEntry>();
  private watcher: { close(): void } | undefined;
  private configErrorValue: ConfigFileError | undefined;
  private catalogSignature = '';
  /** The tool lists the catalog was built from, by server. */
  private catalogInputs = new Map<string, readonly Tool[]>();
  private promptsValue = new Map<string, PromptEntry>();
  private promptsSignature = '[]';
  private resourcesSignature = '[]';
  /** Which of the servers in servers.json may run; Gatehouse sets its `ServersGuard` here. */
  admit: (servers: Map<string, ServerConfig>) => Map<string, ServerConfig> = (servers) => servers;

  constructor(
    private readonly home: string,
    private readonly upstreamOptions: UpstreamOptions = {},
  ) {
    super();
  }

  /** Loads servers.json and starts every upstream; throws ConfigFileError for an invalid file. */
  start(): void {
    this.apply(loadServers(this.home));
    this.watcher = watchFile(serversFilePath(this.home), () => this.reload());
  }

  /** Re-reads servers.json. An invalid file is reported and the running servers are kept. */
  reload(): void {
    let servers: Map<string, ServerConfig>;
    try {
      servers = loadServers(this.home);
    } catch (error) {
      if (error instanceof ConfigFileError) {
        this.configErrorValue = error;
        this.emit('configError', error);
        return;
      }
      throw error;
    }
    this.configErrorValue = undefined;
    this.apply(servers);
    this.emit('configLoaded');
  }

  get configError(): ConfigFileError | undefined {
    return this.configErrorValue;
  }

  get catalog(): ReadonlyMap<string, CatalogEntry> {
    return this.catalogValue;
  }

  /** Every upstream prompt under its `<server>__<prompt>` name. */
  get prompts(): ReadonlyMap<string, PromptEntry> {
    return this.promptsValue;
  }

  states(): UpstreamState[] {
    return [...this.upstreams.values()].map((u) => u.state).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  /** For a call of `<server>__<tool>` whose server waits for sign-in (so lists no tools yet): the refusal to return. */
  signInRefusal(toolName: string): CallToolResult | undefined {
    for (const [name, upstream] of this.upstreams) {
      if (toolName.startsWith(`${name}__`) && upstream.state.status === 'needs-sign-in') {
        this.emit('signInNeeded', name, upstream.state.error ?? 'it asks for a sign-in');
        return signInRefusal(name, upstream.state.error);
      }
    }
    return undefined;
  }

  /** Resolves once every upstream has left `connecting` (ready or error), or after `timeoutMs`. */
  async settled(timeoutMs = 30_000): Promise<void> {
    const pending = (): boolean => [...this.upstreams.values()].some((u) => u.state.status === 'connecting');
    if (!pending()) return;
    await new Promise<void>((resolve) => {
      const onChange = (): void => {
        if (!pending()) finish();
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.off('upstreamChanged', onChange);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.on('upstreamChanged', onChange);
    });
  }

  /** Lets every upstream reconnect with more client capabilities, once its calls allow (`Upstream.refreshCapabilities`). */
  async refreshCapabilities(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.refreshCapabilities()));
  }

  /** Tells the upstreams that see the clients' roots that those changed. */
  notifyRootsChanged(): void {
    for (const upstream of this.upstreams.values()) upstream.notifyRootsChanged();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    const all = [...this.upstreams.values()];
    this.upstreams.clear();
    await Promise.all(all.map((u) => u.stop()));
  }

  private apply(listed: Map<string, ServerConfig>): void {
    const servers = this.admit(listed);
    for (const [name, upstream] of this.upstreams) {
      const next = servers.get(name);
      if (!next || !sameServerConfig(next, upstream.config)) {
        this.upstreams.delete(name);
        void upstream.stop();
      }
    }
    for (const [name, config] of servers) {
      if (this.upstreams.has(name)) continue;
      const upstream = new Upstream(name, config, this.home, this.upstreamOptions);
      this.upstreams.set(name, upstream);
      upstream.on('changed', (state) => {
        if (this.upstreams.get(name) !== upstream) return;
        this.emit('upstreamChanged', state);
        this.rebuildCatalog();
      });
      upstream.on('notification', (notification) => {
        if (this.upstreams.get(name) === upstream) this.emit('upstreamNotification', name, notification);
      });
      upstream.on('signInNeeded', (reason) => {
        if (this.upstreams.get(name) === upstream) this.emit('signInNeeded', name, reason);
      });
      upstream.start();
    }
    this.rebuildCatalog();
  }

  private rebuildCatalog(): void {
    const toolsByServer = new Map<string, readonly Tool[]>();
    for (const [name, upstream] of this.upstreams) toolsByServer.set(name, upstream.state.tools);
    // Most state changes (connecting, a reconnect, a resource list) leave every tool list as it
    // was; the catalog then stays the same object, so what is built from it stays valid.
    const unchanged = toolsByServer.size === this.catalogInputs.size && [...toolsByServer].every(([name, tools]) => this.catalogInputs.get(name) === tools);
    this.catalogInputs = toolsByServer;
    if (unchanged) {
      this.rebuildFeatures();
      return;
    }
    const next = buildCatalog(toolsByServer);
    // Notify only on a real change: reconnects that bring back the same tools stay quiet.
    const signature = catalogSignature(toolsByServer, next);
    this.catalogValue = next;
    this.rebuildFeatures();
    if (signature === this.catalogSignature) return;
    this.catalogSignature = signature;
    this.emit('catalogChanged');
  }

  private rebuildFeatures(): void {
    const promptsByServer = new Map<string, readonly Prompt[]>();
    for (const [name, upstream] of this.upstreams) promptsByServer.set(name, upstream.state.features.prompts);
    this.promptsValue = buildPromptCatalog(promptsByServer);
    const prompts = JSON.stringify([...this.promptsValue.values()].map((e) => e.prompt));
    if (prompts !== this.promptsSignature) {
      this.promptsSignature = prompts;
      this.emit('promptsChanged');
    }
    const resources = JSON.stringify([...this.upstreams].map(([name, u]) => [name, u.state.features.resources, u.state.features.resourceTemplates]));
    if (resources !== this.resourcesSignature) {
      this.resourcesSignature = resources;
      this.emit('resourcesChanged');
    }
  }
}
