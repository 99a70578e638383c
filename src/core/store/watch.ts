import * as fs from 'node:fs';
import * as path from 'node:path';

/** The one way Gatehouse notices that a file (or a folder's files) changed. */
export interface WatchOptions {
  /** Quiet time before `onChange` runs, so one save (write, then rename) is one call. */
  readonly debounceMs?: number;
  /**
   * How often to look as a safety net. fs.watch misses events on some file systems (network
   * mounts, some container overlays, an exhausted inotify limit), and the policy file's watcher
   * is what puts a tightened rule in force, so nothing relies on fs.watch alone.
   */
  readonly pollMs?: number;
  /** Set to false to rely on the poll only (tests of the fallback). */
  readonly events?: boolean;
}

export interface Watcher {
  close(): void;
}

const DEFAULT_DEBOUNCE_MS = 75;
const DEFAULT_FILE_POLL_MS = 1_000;

/**
 * Calls `onChange` when a file changes, including when it is created, replaced by an atomic
 * rename or deleted. Watches the parent directory because editors and `writeFileAtomic` replace
 * the inode, which a watch on the file itself would lose; and stats the file every `pollMs`.
 */
export function watchFile(file: string, onChange: () => void, options: WatchOptions = {}): Watcher {
  const dir = path.dirname(file);
  const base = path.basename(file);
  fs.mkdirSync(dir, { recursive: true });
  const changed = debounced(onChange, options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  const watcher = options.events === false ? undefined : watchEvents(dir, (name) => (name === null || name === base) && changed.fire());
  // The poll compares with what this watcher last saw, taken now. (fs.watchFile compares with its
  // own first stat, taken later on the thread pool: a file written in between became its baseline
  // and never counted as a change.)
  let last = statSignature(statOrUndefined(file));
  let looking = false;
  let closed = false;
  const look = (): void => {
    if (looking) return;
    looking = true;
    fs.stat(file, (error, stats) => {
      looking = false;
      const next = statSignature(error ? undefined : stats);
      if (closed || next === last) return;
      last = next;
      changed.fire();
    });
  };
  const timer = setInterval(look, options.pollMs ?? DEFAULT_FILE_POLL_MS);
  timer.unref();
  return {
    close(): void {
      closed = true;
      changed.cancel();
      clearInterval(timer);
      watcher?.close();
    },
  };
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/** What tells one version of a file from the next. */
function statSignature(stats: fs.Stats | undefined): string {
  if (!stats) return 'missing';
  return `${stats.ino}:${stats.mtimeMs}:${stats.size}`;
}

/**
 * Calls `onChange` when anything in a folder may have changed: on every fs.watch event and on
 * every `pollMs` tick, since a poll cannot cheaply tell appends inside the folder's files apart.
 * For readers that pick up only what is new (the audit follower), an extra call costs a stat.
 */
export function watchDirectory(dir: string, onChange: () => void, options: WatchOptions & { readonly pollMs: number }): Watcher {
  fs.mkdirSync(dir, { recursive: true });
  const changed = debounced(onChange, options.debounceMs ?? 0);
  const watcher = options.events === false ? undefined : watchEvents(dir, () => changed.fire());
  const timer = setInterval(() => changed.fire(), options.pollMs);
  return {
    close(): void {
      changed.cancel();
      clearInterval(timer);
      watcher?.close();
    },
  };
}

/** fs.watch on a folder, or nothing when the platform refuses one (the poll still runs). */
function watchEvents(dir: string, onEvent: (name: string | null) => void): fs.FSWatcher | undefined {
  try {
    const watcher = fs.watch(dir, (_event, name) => onEvent(name));
    watcher.on('error', () => undefined);
    return watcher;
  } catch {
    return undefined;
  }
}

function debounced(callback: () => void, ms: number): { fire(): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    fire(): void {
      clearTimeout(timer);
      timer = setTimeout(callback, ms);
    },
    cancel(): void {
      clearTimeout(timer);
    },
  };
}
