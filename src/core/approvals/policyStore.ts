import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigFileError, readJsonFile, writeFileAtomic } from '../store/files';
import { watchFile } from '../store/watch';
import { canonicalJson, sha256Hex } from './canonical';
import { PolicyFileSchema, combineWhilePending, defaultPolicy, describeLoosening, evaluatePolicy } from './policy';
import type { PolicyFile, PolicyTool, PolicyVerdict } from './policy';

/** An edit of policy.json made outside Gatehouse's UI that would loosen the policy. */
export interface PendingPolicyChange {
  readonly proposed: PolicyFile;
  /** One line per loosening, for the confirmation prompt. */
  readonly diffSummary: readonly string[];
}

export interface PolicyStoreEvents {
  changed: [policy: PolicyFile];
  pendingLoosening: [pending: PendingPolicyChange];
  error: [error: ConfigFileError];
}

type Listener<K extends keyof PolicyStoreEvents> = (...args: PolicyStoreEvents[K]) => void;

/**
 * Used when policy.json is broken at startup: with no last good policy to keep, every call asks
 * rather than guessing which of the file's deny rules were meant.
 */
function lockdownPolicy(): PolicyFile {
  const policy = defaultPolicy();
  return { ...policy, defaults: { ...policy.defaults, readOnly: 'ask', destructive: 'ask', other: 'ask' } };
}

/**
 * The policy in `<home>/policy.json`, reloaded live. Anything that can write files (an agent,
 * too) can edit policy.json, so an external edit that loosens the policy is held until the human
 * confirms it; meanwhile calls get the stricter of both policies. Edits through `update()` come
 * from the human channel and apply directly.
 */
export class PolicyStore {
  readonly file: string;
  /** The last policy in force, kept so that edits made while Gatehouse was stopped are checked too. */
  readonly confirmedFile: string;
  private effective: PolicyFile = defaultPolicy();
  private pending: PendingPolicyChange | undefined;
  private lastError: ConfigFileError | undefined;
  private ownWriteHash: string | undefined;
  private watcher: { close(): void } | undefined;
  private readonly listeners: { [K in keyof PolicyStoreEvents]: Set<Listener<K>> } = {
    changed: new Set(),
    pendingLoosening: new Set(),
    error: new Set(),
  };

  constructor(readonly home: string) {
    this.file = path.join(home, 'policy.json');
    this.confirmedFile = path.join(home, 'policy.confirmed.json');
  }

  /**
   * Reads policy.json and starts watching it. The file is checked against the last policy in force
   * (`policy.confirmed.json`): an edit made while no gateway was running that loosens it waits for
   * the human like any other outside edit. Without a snapshot (first run), the file is trusted.
   */
  load(): PolicyFile {
    this.pending = undefined;
    let fromFile: PolicyFile;
    try {
      fromFile = readJsonFile(this.file, PolicyFileSchema) ?? defaultPolicy();
      this.lastError = undefined;
    } catch (error) {
      this.effective = lockdownPolicy();
      this.recordError(error);
      this.watcher ??= watchFile(this.file, () => this.reload());
      return this.effective;
    }
    const confirmed = this.readConfirmed();
    const diffSummary = confirmed ? describeLoosening(confirmed, fromFile) : [];
    if (confirmed && diffSummary.length > 0) {
      this.effective = confirmed;
      this.pending = { proposed: fromFile, diffSummary };
    } else {
      this.effective = fromFile;
      this.writeConfirmed(fromFile);
    }
    this.watcher ??= watchFile(this.file, () => this.reload());
    return this.effective;
  }

  current(): PolicyFile {
    return this.effective;
  }

  /** The last problem reading policy.json, until a good version is read. */
  error(): ConfigFileError | undefined {
    return this.lastError;
  }

  pendingChange(): PendingPolicyChange | undefined {
    return this.pending;
  }

  evaluate(tool: PolicyTool, args: Record<string, unknown>): PolicyVerdict {
    if (this.pending) return combineWhilePending(this.effective, this.pending.proposed)(tool, args);
    return evaluatePolicy(this.effective, tool, args);
  }

  /**
   * A change from the human channel (editor UI, paired browser). Writes the file atomically with
   * mode 0600. A loosening edit still waiting is dropped: the file now holds what the human chose.
   */
  update(mutator: (policy: PolicyFile) => PolicyFile): PolicyFile {
    if (this.lastError) {
      throw new Error(`${this.file} has a problem, so Gatehouse will not overwrite it: fix the file (or delete it) first. ${this.lastError.detail}`);
    }
    const next = PolicyFileSchema.parse(mutator(this.effective));
    this.write(next);
    this.effective = next;
    this.writeConfirmed(next);
    this.pending = undefined;
    this.emit('changed', next);
    return next;
  }

  confirmPending(): PolicyFile {
    if (!this.pending) throw new Error('There is no pending policy change to confirm.');
    this.effective = this.pending.proposed;
    this.pending = undefined;
    this.writeConfirmed(this.effective);
    this.emit('changed', this.effective);
    return this.effective;
  }

  /** Puts the effective policy back into policy.json, undoing the external edit. */
  rejectPending(): PolicyFile {
    if (!this.pending) throw new Error('There is no pending policy change to reject.');
    this.pending = undefined;
    this.write(this.effective);
    this.writeConfirmed(this.effective);
    this.emit('changed', this.effective);
    return this.effective;
  }

  on<K extends keyof PolicyStoreEvents>(event: K, listener: Listener<K>): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof PolicyStoreEvents>(event: K, listener: Listener<K>): void {
    this.listeners[event].delete(listener);
  }

  dispose(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private emit<K extends keyof PolicyStoreEvents>(event: K, ...args: PolicyStoreEvents[K]): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        listener(...args);
      } catch {
        // One front end's failing listener must not stop the others from hearing about the change.
      }
    }
  }

  private write(policy: PolicyFile): void {
    const text = `${JSON.stringify(policy, null, 2)}\n`;
    this.ownWriteHash = sha256Hex(text);
    writeFileAtomic(this.file, text, 0o600);
  }

  private recordError(error: unknown): void {
    const configError =
      error instanceof ConfigFileError ? error : new ConfigFileError(this.file, error instanceof Error ? error.message : String(error));
    this.lastError = configError;
    this.emit('error', configError);
  }

  private reload(): void {
    let text: string | undefined;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.recordError(new ConfigFileError(this.file, `cannot be read (${(error as Error).message})`));
        return;
      }
    }
    if (text !== undefined && sha256Hex(text) === this.ownWriteHash) return;

    let proposed: PolicyFile;
    try {
      proposed = (text === undefined ? undefined : readJsonFile(this.file, PolicyFileSchema)) ?? defaultPolicy();
    } catch (error) {
      this.recordError(error);
      return;
    }
    const recovered = this.lastError !== undefined;
    this.lastError = undefined;

    const proposedText = canonicalJson(proposed);
    if (proposedText === canonicalJson(this.effective)) {
      if (this.pending || recovered) {
        this.pending = undefined;
        this.emit('changed', this.effective);
      }
      return;
    }
    if (this.pending && proposedText === canonicalJson(this.pending.proposed)) {
      if (recovered) this.emit('pendingLoosening', this.pending);
      return;
    }

    const diffSummary = describeLoosening(this.effective, proposed);
    if (diffSummary.length > 0) {
      this.pending = { proposed, diffSummary };
      this.emit('pendingLoosening', this.pending);
      return;
    }
    this.effective = proposed;
    this.pending = undefined;
    this.writeConfirmed(proposed);
    this.emit('changed', proposed);
  }

  /** The last policy in force, or undefined on first use (or when the snapshot is unreadable). */
  private readConfirmed(): PolicyFile | undefined {
    try {
      return readJsonFile(this.confirmedFile, PolicyFileSchema);
    } catch {
      return undefined;
    }
  }

  private writeConfirmed(policy: PolicyFile): void {
    try {
      writeFileAtomic(this.confirmedFile, `${JSON.stringify(policy, null, 2)}\n`, 0o600);
    } catch {
      // Losing the snapshot only weakens the check at the next start; it must not stop a decision.
    }
  }
}
