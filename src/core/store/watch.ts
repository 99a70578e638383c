import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Calls `onChange` when a file changes, including when it is created, replaced by an atomic
 * rename or deleted. Watches the parent directory because editors and `writeFileAtomic` replace
 * the inode, which a watch on the file itself would lose. Events are debounced.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 75): { close(): void } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  fs.mkdirSync(dir, { recursive: true });
  let timer: NodeJS.Timeout | undefined;
  const watcher = fs.watch(dir, (_event, name) => {
    if (name !== null && name !== base) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  watcher.on('error', () => undefined);
  return {
    close(): void {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
