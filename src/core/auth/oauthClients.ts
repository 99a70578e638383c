import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../store/files';
import { SecretStateFile } from './stateFile';

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_post', 'client_secret_basic'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

const ClientRecordSchema = z.object({
  clientId: z.string(),
  /** sha256 of the secret; the secret itself is shown once, at registration. */
  clientSecretHash: z.string().optional(),
  clientName: z.string(),
  redirectUris: z.array(z.string()),
  tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS),
  scope: z.string().optional(),
  clientUri: z.string().optional(),
  softwareId: z.string().optional(),
  softwareVersion: z.string().optional(),
  createdAt: z.string(),
  lastUsedAt: z.string().optional(),
  /** The human's remembered "allow", so a refresh or a re-login never prompts again. */
  consent: z
    .object({
      scopes: z.array(z.string()),
      grantedAt: z.string(),
      /** The exact redirect URIs the human allowed; another port or path asks again (RFC 8252 §8.6). */
      redirectUris: z.array(z.string()).optional(),
      /** HMAC over the record with `oauth-consent-key`, so a consent written by hand counts for nothing. */
      mac: z.string().optional(),
    })
    .optional(),
});
export type ClientRecord = z.infer<typeof ClientRecordSchema>;

const ClientsFileSchema = z.object({ version: z.literal(1), clients: z.array(ClientRecordSchema) });
type ClientsFile = z.infer<typeof ClientsFileSchema>;

/** What `gatehouse clients list` and the editor show. */
export interface ConnectedClient {
  readonly clientId: string;
  readonly clientName: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | undefined;
  readonly redirectHosts: readonly string[];
  readonly consentedScopes: readonly string[] | undefined;
}

export interface NewClient {
  readonly clientName: string;
  readonly redirectUris: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly scope?: string;
  readonly clientUri?: string;
  readonly softwareId?: string;
  readonly softwareVersion?: string;
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('base64url');
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

/** Compares hashes in constant time so that secret checks leak nothing through timing. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/** OAuth clients registered through RFC 7591, persisted in `<home>/oauth-clients.json` (0600). */
export class ClientRegistry {
  private readonly state: SecretStateFile<ClientsFile>;
  private readonly lastUseWritten = new Map<string, number>();

  constructor(
    home: string,
    private readonly now: () => number = Date.now,
  ) {
    this.state = new SecretStateFile(path.join(home, 'oauth-clients.json'), ClientsFileSchema, () => ({ version: 1, clients: [] }));
    this.consentKeyFile = path.join(home, 'oauth-consent-key');
  }

  private readonly consentKeyFile: string;

  /**
   * The key consent records are signed with: 32 random bytes in a 0600 file. It makes a consent
   * that something wrote into oauth-clients.json without Gatehouse count for nothing; a same-user
   * process can read this key as it can every file of the user (docs/architecture.md, "The boundary").
   */
  private consentKey(): Buffer {
    try {
      const key = fs.readFileSync(this.consentKeyFile);
      if (key.length === 32) return key;
    } catch {
      // Created below.
    }
    const key = crypto.randomBytes(32);
    writeFileAtomic(this.consentKeyFile, key, 0o600);
    return key;
  }

  private consentMac(clientId: string, consent: { scopes: readonly string[]; grantedAt: string; redirectUris?: readonly string[] }): string {
    const body = JSON.stringify([clientId, [...consent.scopes].sort(), consent.grantedAt, [...(consent.redirectUris ?? [])].sort()]);
    return crypto.createHmac('sha256', this.consentKey()).update(body).digest('base64url');
  }

  /** True when the human allowed these scopes for this exact redirect URI, and the record is Gatehouse's own. */
  hasConsent(client: ClientRecord, scopes: readonly string[], redirectUri: string): boolean {
    const consent = this.signedConsent(client);
    return consent !== undefined && (consent.redirectUris ?? []).includes(redirectUri) && scopes.every((scope) => consent.scopes.includes(scope));
  }

  private signedConsent(client: ClientRecord): ClientRecord['consent'] {
    const consent = client.consent;
    return consent?.mac && sameHash(consent.mac, this.consentMac(client.clientId, consent)) ? consent : undefined;
  }

  get file(): string {
    return this.state.file;
  }

  register(client: NewClient): { record: ClientRecord; clientSecret: string | undefined } {
    const clientSecret = client.tokenEndpointAuthMethod === 'none' ? undefined : randomToken();
    const record: ClientRecord = {
      clientId: `gh_${randomToken(16)}`,
      clientSecretHash: clientSecret === undefined ? undefined : hashSecret(clientSecret),
      clientName: client.clientName,
      redirectUris: [...client.redirectUris],
      tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
      scope: client.scope,
      clientUri: client.clientUri,
      softwareId: client.softwareId,
      softwareVersion: client.softwareVersion,
      createdAt: new Date(this.now()).toISOString(),
    };
    this.state.update((file) => {
      file.clients.push(record);
    });
    return { record, clientSecret };
  }

  get(clientId: string): ClientRecord | undefined {
    return this.state.read().clients.find((client) => client.clientId === clientId);
  }

  list(): ConnectedClient[] {
    return this.state.read().clients.map((client) => ({
      clientId: client.clientId,
      clientName: client.clientName,
      createdAt: client.createdAt,
      lastUsedAt: client.lastUsedAt,
      redirectHosts: [...new Set(client.redirectUris.map(redirectHostOf))],
      consentedScopes: client.consent?.scopes,
    }));
  }

  /** Removes the client; its tokens stop working because every check looks the client up. */
  remove(clientId: string): boolean {
    return this.state.update((file) => {
      const before = file.clients.length;
      file.clients = file.clients.filter((client) => client.clientId !== clientId);
      return file.clients.length !== before;
    });
  }

  rememberConsent(clientId: string, scopes: readonly string[], redirectUri: string): void {
    this.state.update((file) => {
      const client = file.clients.find((candidate) => candidate.clientId === clientId);
      if (!client) return;
      // Only what this process signed itself carries over; anything else was not the human's.
      const previous = this.signedConsent(client);
      const consent = {
        scopes: [...new Set([...(previous?.scopes ?? []), ...scopes])],
        grantedAt: new Date(this.now()).toISOString(),
        redirectUris: [...new Set([...(previous?.redirectUris ?? []), redirectUri])],
      };
      client.consent = { ...consent, mac: this.consentMac(clientId, consent) };
    });
  }

  /** Records use; `/mcp` traffic writes at most once a minute per client. */
  touch(clientId: string, force = false): void {
    const now = this.now();
    const last = this.lastUseWritten.get(clientId) ?? 0;
    if (!force && now - last < 60_000) return;
    this.lastUseWritten.set(clientId, now);
    this.state.update((file) => {
      const client = file.clients.find((candidate) => candidate.clientId === clientId);
      if (client) client.lastUsedAt = new Date(now).toISOString();
    });
  }
}

export function redirectHostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return uri;
  }
}
