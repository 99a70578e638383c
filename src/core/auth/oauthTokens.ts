import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';
import { hashSecret, randomToken } from './oauthClients';
import { SecretStateFile } from './stateFile';

const SigningKeyFileSchema = z.object({
  kid: z.string(),
  alg: z.literal('ES256'),
  privateJwk: z.record(z.string(), z.unknown()),
  publicJwk: z.record(z.string(), z.unknown()),
});

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** The claims Gatehouse puts in an access token (RFC 9068 shape). */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly client_id: string;
  readonly scope: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  /** The refresh-token family the token was issued in, so revoking the family kills it too. */
  readonly fam: string;
}

export interface AccessTokenRequest {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  readonly scope: string;
  readonly familyId: string;
}

/**
 * Signs and verifies access tokens: ES256 JWTs (jose) with a key kept in
 * `<home>/oauth-signing-key.json` (0600), so a restart keeps clients signed in.
 */
export class AccessTokenSigner {
  private key: Promise<SigningKey> | undefined;
  private readonly keyFile: string;

  constructor(
    home: string,
    private readonly now: () => number = Date.now,
    readonly lifetimeSeconds = 3600,
  ) {
    this.keyFile = path.join(home, 'oauth-signing-key.json');
  }

  async sign(request: AccessTokenRequest): Promise<{ token: string; expiresIn: number; jti: string }> {
    const key = await this.signingKey();
    const iat = Math.floor(this.now() / 1000);
    const jti = randomToken(16);
    const token = await new SignJWT({ client_id: request.clientId, scope: request.scope, fam: request.familyId })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(request.issuer)
      .setAudience(request.audience)
      .setSubject(request.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.lifetimeSeconds)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, expiresIn: this.lifetimeSeconds, jti };
  }

  /** Throws (a jose error) unless the token is ours, unexpired, for this issuer and one of these audiences. */
  async verify(token: string, issuer: string, audiences: readonly string[]): Promise<AccessTokenClaims> {
    const key = await this.signingKey();
    const { payload } = await jwtVerify(token, key.publicKey, {
      issuer,
      audience: [...audiences],
      algorithms: ['ES256'],
      typ: 'at+jwt',
      currentDate: new Date(this.now()),
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id', 'scope', 'fam'],
    });
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    if (typeof payload.client_id !== 'string' || typeof payload.scope !== 'string' || typeof payload.fam !== 'string') {
      throw new Error('token claims have the wrong types');
    }
    return {
      iss: payload.iss as string,
      aud: aud as string,
      sub: payload.sub as string,
      client_id: payload.client_id,
      scope: payload.scope,
      exp: payload.exp as number,
      iat: payload.iat as number,
      jti: payload.jti as string,
      fam: payload.fam,
    };
  }

  private signingKey(): Promise<SigningKey> {
    this.key ??= this.loadOrCreateKey();
    return this.key;
  }

  private async loadOrCreateKey(): Promise<SigningKey> {
    const stored = readJsonFile(this.keyFile, SigningKeyFileSchema);
    if (stored) {
      return {
        kid: stored.kid,
        privateKey: (await importJWK(stored.privateJwk as JWK, 'ES256')) as CryptoKey,
        publicKey: (await importJWK(stored.publicJwk as JWK, 'ES256')) as CryptoKey,
      };
    }
    const pair = await generateKeyPair('ES256', { extractable: true });
    const kid = randomToken(8);
    const privateJwk = await exportJWK(pair.privateKey);
    const publicJwk = await exportJWK(pair.publicKey);
    writeJsonFile(this.keyFile, { kid, alg: 'ES256', privateJwk, publicJwk }, 0o600);
    fs.chmodSync(this.keyFile, 0o600);
    return { kid, privateKey: pair.privateKey, publicKey: pair.publicKey };
  }
}

const RefreshTokenRecordSchema = z.object({
  hash: z.string(),
  familyId: z.string(),
  clientId: z.string(),
  scope: z.string(),
  resource: z.string(),
  issuer: z.string(),
  issuedAt: z.number(),
  expiresAt: z.number(),
  usedAt: z.number().optional(),
});
export type RefreshTokenRecord = z.infer<typeof RefreshTokenRecordSchema>;

const TokensFileSchema = z.object({
  version: z.literal(1),
  refreshTokens: z.array(RefreshTokenRecordSchema),
  revokedFamilies: z.array(z.object({ familyId: z.string(), until: z.number() })),
  revokedAccessTokens: z.array(z.object({ jti: z.string(), until: z.number() })),
});
type TokensFile = z.infer<typeof TokensFileSchema>;

export type RefreshOutcome =
  | { readonly kind: 'rotated'; readonly record: RefreshTokenRecord }
  | { readonly kind: 'unknown' | 'expired' | 'revoked' }
  | { readonly kind: 'reused'; readonly record: RefreshTokenRecord };

/**
 * Refresh tokens (stored as hashes) and revocations, in `<home>/oauth-tokens.json` (0600).
 * Rotation: each refresh token works once; a reuse after the grace window revokes its whole
 * family (OAuth 2.1 §4.3.1), which also kills the access tokens issued in it.
 */
export class TokenLedger {
  private readonly state: SecretStateFile<TokensFile>;

  constructor(
    home: string,
    private readonly now: () => number = Date.now,
    readonly refreshLifetimeMs = 30 * 24 * 3600 * 1000,
    readonly reuseGraceMs = 10_000,
    private readonly accessLifetimeMs = 3600 * 1000,
  ) {
    this.state = new SecretStateFile(path.join(home, 'oauth-tokens.json'), TokensFileSchema, () => ({
      version: 1,
      refreshTokens: [],
      revokedFamilies: [],
      revokedAccessTokens: [],
    }));
  }

  issueRefreshToken(details: Omit<RefreshTokenRecord, 'hash' | 'issuedAt' | 'expiresAt' | 'usedAt'>): string {
    const token = randomToken();
    const now = this.now();
    this.state.update((file) => {
      this.prune(file);
      file.refreshTokens.push({ ...details, hash: hashSecret(token), issuedAt: now, expiresAt: now + this.refreshLifetimeMs });
    });
    return token;
  }

  /** Marks the refresh token used and says whether a successor may be issued. */
  redeem(token: string, clientId: string): RefreshOutcome {
    const hash = hashSecret(token);
    const now = this.now();
    return this.state.update((file): RefreshOutcome => {
      const record = file.refreshTokens.find((candidate) => candidate.hash === hash);
      if (!record || record.clientId !== clientId) return { kind: 'unknown' };
      if (this.familyRevoked(file, record.familyId)) return { kind: 'revoked' };
      if (record.expiresAt <= now) return { kind: 'expired' };
      if (record.usedAt !== undefined) {
        // Two refreshes racing with the same token (a client retrying after a lost response) are tolerated briefly.
        if (now - record.usedAt <= this.reuseGraceMs) return { kind: 'rotated', record: { ...record } };
        this.revokeFamilyIn(file, record.familyId);
        return { kind: 'reused', record: { ...record } };
      }
      record.usedAt = now;
      return { kind: 'rotated', record: { ...record } };
    });
  }

  findRefreshToken(token: string): RefreshTokenRecord | undefined {
    const hash = hashSecret(token);
    return this.state.read().refreshTokens.find((candidate) => candidate.hash === hash);
  }

  revokeFamily(familyId: string): void {
    this.state.update((file) => this.revokeFamilyIn(file, familyId));
  }

  revokeAccessToken(jti: string, expiresAtSeconds: number): void {
    this.state.update((file) => {
      file.revokedAccessTokens.push({ jti, until: expiresAtSeconds * 1000 });
    });
  }

  revokeClient(clientId: string): void {
    this.state.update((file) => {
      const families = new Set(file.refreshTokens.filter((record) => record.clientId === clientId).map((record) => record.familyId));
      for (const familyId of families) this.revokeFamilyIn(file, familyId);
    });
  }

  isFamilyRevoked(familyId: string): boolean {
    return this.familyRevoked(this.state.read(), familyId);
  }

  isAccessTokenRevoked(jti: string): boolean {
    return this.state.read().revokedAccessTokens.some((entry) => entry.jti === jti);
  }

  private familyRevoked(file: TokensFile, familyId: string): boolean {
    return file.revokedFamilies.some((entry) => entry.familyId === familyId);
  }

  private revokeFamilyIn(file: TokensFile, familyId: string): void {
    file.refreshTokens = file.refreshTokens.filter((record) => record.familyId !== familyId);
    if (!this.familyRevoked(file, familyId)) {
      // Kept as long as an access token of the family can live.
      file.revokedFamilies.push({ familyId, until: this.now() + this.accessLifetimeMs });
    }
  }

  private prune(file: TokensFile): void {
    const now = this.now();
    file.refreshTokens = file.refreshTokens.filter(
      (record) => record.expiresAt > now && (record.usedAt === undefined || now - record.usedAt <= this.reuseGraceMs * 2 + 24 * 3600 * 1000),
    );
    file.revokedFamilies = file.revokedFamilies.filter((entry) => entry.until > now);
    file.revokedAccessTokens = file.revokedAccessTokens.filter((entry) => entry.until > now);
  }
}
