import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';
import type { Authenticator, AuthResult, Principal } from './principal';

const KEY_PREFIX = 'gh_';

const ApiKeyRecordSchema = z.object({
  label: z.string(),
  /** sha256 of the key. Keys carry 256 bits of randomness, so a plain hash is enough. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  lastUsedAt: z.string().optional(),
});
const ApiKeysFileSchema = z.object({ keys: z.array(ApiKeyRecordSchema).default([]) });

export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

const LABEL = /^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$/;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_VERIFIED_KEYS = 64;

function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * API keys, stored hashed in `<home>/api-keys.json` (mode 0600). The file is re-read when it
 * changes on disk, so keys created by the CLI work in a running gateway at once.
 */
export class ApiKeyStore {
  readonly file: string;
  private cache: { mtimeMs: number; records: ApiKeyRecord[] } | undefined;
  /** Label → when its key was last used (ms), written to the file at most once a minute. */
  private readonly lastUsed = new Map<string, number>();
  /**
   * The hashes of keys that verified, by key: a session presents the same key on every request.
   * Bounded; the records (and so revocation) are still checked on every request.
   */
  private readonly verifiedHashes = new Map<string, Buffer>();
  private readonly recordHashes = new WeakMap<ApiKeyRecord, Buffer>();
  private lastUsedFlush: NodeJS.Timeout | undefined;

  constructor(home: string) {
    this.file = path.join(home, 'api-keys.json');
  }

  list(): ApiKeyRecord[] {
    return this.records().map((r) => this.withLastUse(r));
  }

  /** Creates a key and returns it. This is the only time the key itself is available. */
  create(label: string): string {
    if (!LABEL.test(label)) throw new Error(`"${label}" is not a usable label: use 1-64 letters, digits, spaces, "_", ".", "@" or "-".`);
    const records = this.records();
    if (records.some((r) => r.label === label)) throw new Error(`A key labelled "${label}" already exists. Revoke it first or choose another label.`);
    const key = `${KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
    this.write([...records, { label, hash: hashKey(key), createdAt: new Date().toISOString() }]);
    return key;
  }

  /** Revokes a key by label. Returns false when there was none. */
  revoke(label: string): boolean {
    const records = this.records();
    const kept = records.filter((r) => r.label !== label);
    if (kept.length === records.length) return false;
    this.write(kept);
    return true;
  }

  /** Returns the record of a presented key, comparing hashes in constant time. */
  verify(presented: string): ApiKeyRecord | undefined {
    const candidate = this.verifiedHashes.get(presented) ?? Buffer.from(hashKey(presented), 'hex');
    let match: ApiKeyRecord | undefined;
    for (const record of this.records()) {
      // Compare against every record so the time taken does not reveal which one matched.
      if (crypto.timingSafeEqual(candidate, this.recordHash(record))) match = record;
    }
    if (match) {
      this.noteUse(match.label);
      if (!this.verifiedHashes.has(presented)) {
        if (this.verifiedHashes.size >= MAX_VERIFIED_KEYS) this.verifiedHashes.clear();
        this.verifiedHashes.set(presented, candidate);
      }
    }
    return match;
  }

  flush(): void {
    clearTimeout(this.lastUsedFlush);
    this.lastUsedFlush = undefined;
    if (this.lastUsed.size === 0) return;
    const records = this.records().map((r) => this.withLastUse(r));
    this.write(records);
  }

  private withLastUse(record: ApiKeyRecord): ApiKeyRecord {
    const used = this.lastUsed.get(record.label);
    return { ...record, lastUsedAt: used === undefined ? record.lastUsedAt : new Date(used).toISOString() };
  }

  private recordHash(record: ApiKeyRecord): Buffer {
    let hash = this.recordHashes.get(record);
    if (!hash) {
      hash = Buffer.from(record.hash, 'hex');
      this.recordHashes.set(record, hash);
    }
    return hash;
  }

  private noteUse(label: string): void {
    this.lastUsed.set(label, Date.now());
    if (this.lastUsedFlush) return;
    this.lastUsedFlush = setTimeout(() => this.flush(), LAST_USED_WRITE_INTERVAL_MS);
    this.lastUsedFlush.unref();
  }

  private records(): ApiKeyRecord[] {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch {
      return [];
    }
    if (this.cache?.mtimeMs === mtimeMs) return this.cache.records;
    const records = readJsonFile(this.file, ApiKeysFileSchema)?.keys ?? [];
    this.cache = { mtimeMs, records };
    return records;
  }

  private write(records: ApiKeyRecord[]): void {
    writeJsonFile(this.file, { keys: records }, 0o600);
    this.cache = undefined;
  }
}

/** Reads a key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedApiKey(request: Request): string | undefined {
  const header = request.headers.get('x-api-key')?.trim();
  if (header) return header;
  const authorization = request.headers.get('authorization');
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

export class ApiKeyAuthenticator implements Authenticator {
  constructor(private readonly store: ApiKeyStore) {}

  async authenticate(request: Request): Promise<AuthResult | undefined> {
    const key = presentedApiKey(request);
    // Only claim credentials that look like ours; other bearer tokens (OAuth JWTs) go to the next authenticator.
    if (!key || !key.startsWith(KEY_PREFIX)) return undefined;
    const record = this.store.verify(key);
    if (!record) return { ok: false, status: 401, error: 'invalid_token', description: 'The API key is not valid. Create one with `gatehouse key create <label>`.' };
    // The identity is the key itself (a prefix of its hash), not its label: a second record with the
    // same label, written into api-keys.json by hand, must not share the first key's held calls or
    // session approvals.
    const principal: Principal = { kind: 'apiKey', clientId: `key:${record.hash.slice(0, 16)}`, clientName: record.label, scopes: ['mcp'] };
    return { ok: true, principal };
  }
}
