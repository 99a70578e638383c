import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';
import { sameServerConfig, serversFilePath, type ServerConfig } from '../upstreams/serversConfig';
import { canonicalJson } from './canonical';

/**
 * What makes an entry the same program: the command, arguments and working directory of a stdio
 * server, the URL of a remote one. A new environment or new headers still wait for the human, but
 * do not make it another server (rotating a token keeps the rules the human gave it).
 */
function serverIdentity(config: ServerConfig): string {
  if (config.type === 'stdio') return canonicalJson({ type: config.type, command: config.command, args: config.args, cwd: config.cwd ?? null });
  if (config.type === 'http') return canonicalJson({ type: config.type, url: config.url });
  return canonicalJson(config);
}

/** A servers.json edit that would start something new, waiting for the human. */
export interface PendingServersChange {
  /** Every new or changed entry, whole, in words ("server "x" is new: {…}"). */
  readonly changes: readonly string[];
  /** The names that are new or changed (their upstreams wait). */
  readonly names: readonly string[];
  readonly proposed: ReadonlyMap<string, ServerConfig>;
  readonly detectedAt: string;
}

interface ServersGuardEvents {
  pendingServers: [PendingServersChange];
  /** The human confirmed; `replaced` are the names now naming another program or endpoint (see `serverIdentity`). */
  serversConfirmed: [{ readonly added: readonly string[]; readonly replaced: readonly string[] }];
  /** The pending change ended (confirmed, rejected, or the file was put back). */
  changed: [];
}

type Listener<K extends keyof ServersGuardEvents> = (...args: ServersGuardEvents[K]) => void;

const ConfirmedSchema = z.object({ servers: z.record(z.string(), z.unknown()) });

/**
 * Nothing in servers.json is spawned or contacted until the human has seen it. Gatehouse keeps
 * the last set of entries a human confirmed (or that was in force when this home first ran) in
 * `servers.confirmed.json`; a new entry, or an entry whose command, arguments, URL, environment,
 * headers or working directory changed, waits until the human confirms it in the editor or the
 * serve terminal, which show each change whole. Removing a server applies at once.
 *
 * Like `policy.confirmed.json`, the confirmed copy is a file a same-user agent can write; it
 * catches edits made while the gateway runs or by a process that does not know about it, and
 * the boundary section of docs/architecture.md says what it cannot.
 */
export class ServersGuard {
  readonly confirmedFile: string;
  private confirmed: Map<string, ServerConfig> | undefined;
  private pending: PendingServersChange | undefined;
  private readonly listeners: { [K in keyof ServersGuardEvents]: Set<Listener<K>> } = { pendingServers: new Set(), serversConfirmed: new Set(), changed: new Set() };

  constructor(private readonly home: string) {
    this.confirmedFile = path.join(home, 'servers.confirmed.json');
  }

  pendingChange(): PendingServersChange | undefined {
    return this.pending;
  }

  /**
   * What may run of the servers the file lists: everything the human has confirmed; new and
   * changed entries wait. Called by the upstream manager on every load of servers.json.
   */
  admit(fromFile: Map<string, ServerConfig>): Map<string, ServerConfig> {
    this.confirmed ??= this.readConfirmed();
    if (!this.confirmed) {
      // The first run on this home (or the first with this version): what is there is the baseline.
      this.writeConfirmed(fromFile);
      return fromFile;
    }
    const confirmed = this.confirmed;
    const names = [...fromFile.keys()].filter((name) => !confirmed.has(name) || !sameServerConfig(confirmed.get(name)!, fromFile.get(name)!));
    if (names.length === 0) {
      // Only removals (or nothing): they narrow what runs, so they apply at once.
      const hadPending = this.pending !== undefined;
      this.pending = undefined;
      if (canonicalJson(Object.fromEntries(confirmed)) !== canonicalJson(Object.fromEntries(fromFile))) this.writeConfirmed(fromFile);
      if (hadPending) this.emit('changed');
      return fromFile;
    }
    const changes = names.map((name) =>
      confirmed.has(name)
        ? `server "${name}" changes from ${canonicalJson(confirmed.get(name))} to ${canonicalJson(fromFile.get(name))}`
        : `server "${name}" is new: ${canonicalJson(fromFile.get(name))}`,
    );
    const previous = this.pending;
    this.pending = { changes, names, proposed: new Map(fromFile), detectedAt: new Date().toISOString() };
    if (!previous || canonicalJson(previous.changes) !== canonicalJson(changes)) this.emit('pendingServers', this.pending);
    return new Map([...fromFile].filter(([name]) => !names.includes(name)));
  }

  /** The human confirmed the waiting change: it becomes the baseline. The caller reloads the servers. */
  confirmPending(): void {
    const pending = this.pending;
    if (!pending) throw new Error('There is no servers.json change waiting to be confirmed.');
    const before = this.confirmed ?? new Map<string, ServerConfig>();
    this.writeConfirmed(new Map(pending.proposed));
    this.pending = undefined;
    const replaced = pending.names.filter((name) => before.has(name) && serverIdentity(before.get(name)!) !== serverIdentity(pending.proposed.get(name)!));
    this.emit('serversConfirmed', { added: pending.names.filter((name) => !before.has(name)), replaced });
    this.emit('changed');
  }

  /** The human rejected it: servers.json is put back to the confirmed entries. */
  rejectPending(): void {
    if (!this.pending) throw new Error('There is no servers.json change waiting to be rejected.');
    this.pending = undefined;
    const confirmed = [...(this.confirmed ?? new Map<string, ServerConfig>())];
    // The built-in demo is what a home without servers.json runs; it has no servers.json form.
    if (confirmed.every(([, config]) => config.type === 'builtin')) fs.rmSync(serversFilePath(this.home), { force: true });
    else writeJsonFile(serversFilePath(this.home), { servers: Object.fromEntries(confirmed.filter(([, config]) => config.type !== 'builtin')) });
    this.emit('changed');
  }

  /**
   * Entries the human just saved or removed in the editor's own forms: trusted as written. Only
   * those names; anything else that changed in the file still waits.
   */
  trust(names: readonly string[], fromFile: Map<string, ServerConfig>): void {
    const confirmed = new Map(this.confirmed ?? this.readConfirmed() ?? fromFile);
    for (const name of names) {
      const entry = fromFile.get(name);
      if (entry) confirmed.set(name, entry);
      else confirmed.delete(name);
    }
    this.writeConfirmed(confirmed);
  }

  on<K extends keyof ServersGuardEvents>(event: K, listener: Listener<K>): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private emit<K extends keyof ServersGuardEvents>(event: K, ...args: ServersGuardEvents[K]): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        listener(...args);
      } catch {
        // One front end's failing listener must not keep the others from hearing about it.
      }
    }
  }

  private readConfirmed(): Map<string, ServerConfig> | undefined {
    if (!fs.existsSync(this.confirmedFile)) return undefined;
    try {
      const parsed = readJsonFile(this.confirmedFile, ConfirmedSchema);
      return parsed ? new Map(Object.entries(parsed.servers) as Array<[string, ServerConfig]>) : undefined;
    } catch {
      // A damaged baseline confirms nothing: every entry then waits for the human.
      return new Map();
    }
  }

  private writeConfirmed(servers: Map<string, ServerConfig>): void {
    this.confirmed = new Map(servers);
    writeJsonFile(this.confirmedFile, { servers: Object.fromEntries(servers) }, 0o600);
  }
}
