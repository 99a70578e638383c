import * as fs from 'node:fs';
import type { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';

/**
 * A 0600 JSON file shared by the gateway and the CLI. Every read checks the file's stat so that a
 * `gatehouse clients revoke` run in another process takes effect in a running gateway at once.
 */
export class SecretStateFile<T> {
  private cached: T | undefined;
  private stamp = '';

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T>,
    private readonly empty: () => T,
  ) {}

  read(): T {
    const stamp = this.currentStamp();
    if (this.cached === undefined || stamp !== this.stamp) {
      this.cached = readJsonFile(this.file, this.schema) ?? this.empty();
      this.stamp = stamp;
    }
    return this.cached;
  }

  /** Reads the newest content, lets `change` edit it, and writes it back atomically. */
  update<R>(change: (state: T) => R): R {
    const state = this.read();
    const result = change(state);
    writeJsonFile(this.file, state, 0o600);
    this.stamp = this.currentStamp();
    return result;
  }

  private currentStamp(): string {
    try {
      const stat = fs.statSync(this.file);
      return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    } catch {
      return 'missing';
    }
  }
}
