import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/core/store/files';
import { watchDirectory, watchFile, type Watcher } from '../../src/core/store/watch';
import { tempDir } from '../helpers/gatewayHarness';

/** Resolves on the next change the watcher reports. */
function changes(): { next(): Promise<void>; onChange(): void } {
  let waiting: (() => void) | undefined;
  let pending = 0;
  return {
    next: () =>
      new Promise<void>((resolve) => {
        if (pending > 0) {
          pending -= 1;
          resolve();
        } else waiting = resolve;
      }),
    onChange: () => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve();
      } else pending += 1;
    },
  };
}

describe('watchFile and watchDirectory: the one way to notice a changed file', function () {
  let watcher: Watcher | undefined;
  afterEach(() => watcher?.close());

  for (const events of [true, false]) {
    const how = events ? 'through fs.watch' : 'through the poll alone (as where fs.watch misses events)';
    it(`notices a file created, replaced by an atomic rename, and deleted, ${how}`, async function () {
      const file = path.join(tempDir(), 'policy.json');
      const seen = changes();
      watcher = watchFile(file, seen.onChange, { events, pollMs: 20, debounceMs: 5 });
      fs.writeFileSync(file, '{"a":1}');
      await seen.next();
      writeFileAtomic(file, '{"a":22}');
      await seen.next();
      fs.rmSync(file);
      await seen.next();
    });
  }

  it('ignores other files in the same folder', async function () {
    const dir = tempDir();
    const file = path.join(dir, 'servers.json');
    const seen = changes();
    let calls = 0;
    watcher = watchFile(file, () => (calls++, seen.onChange()), { pollMs: 20, debounceMs: 5 });
    fs.writeFileSync(path.join(dir, 'other.json'), 'x');
    fs.writeFileSync(file, 'y');
    await seen.next();
    assert.equal(calls, 1);
  });

  it('calls a folder watcher on its poll even when fs.watch reports nothing', async function () {
    const dir = tempDir();
    const seen = changes();
    watcher = watchDirectory(dir, seen.onChange, { events: false, pollMs: 20 });
    await seen.next();
    await seen.next();
  });

  it('stops calling once closed', async function () {
    const file = path.join(tempDir(), 'x.json');
    let calls = 0;
    const closed = watchFile(file, () => calls++, { pollMs: 10, debounceMs: 1 });
    closed.close();
    fs.writeFileSync(file, 'changed');
    // Wait on another watcher of the same file: once it has seen the write, the closed one would have too.
    const seen = changes();
    watcher = watchFile(file, seen.onChange, { pollMs: 10, debounceMs: 1 });
    fs.writeFileSync(file, 'changed again');
    await seen.next();
    assert.equal(calls, 0);
  });
});
