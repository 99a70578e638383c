import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { z } from 'zod';
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
  consent: z.object({ scopes: z.array(z.string()), grantedAt: z.string() }).optional(),
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

  rememberConsent(clientId: string, scopes: readonly string[]): void {
    this.state.update((file) => {
      const client = file.clients.find((candidate) => candidate.clientId === clientId);
      if (!client) return;
      const merged = new Set([...(client.consent?.scopes ?? []), ...scopes]);
      client.consent = { scopes: [...merged], grantedAt: new Date(this.now()).toISOString() };
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
