import * as crypto from 'node:crypto';
import { OAuthClientMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { TooManyConsentsError, type ConsentBroker, type ConsentDecision } from './consent';
import { ClientRegistry, randomToken, redirectHostOf, sameHash, hashSecret, TOKEN_ENDPOINT_AUTH_METHODS } from './oauthClients';
import type { ClientRecord, ConnectedClient, TokenEndpointAuthMethod } from './oauthClients';
import { AccessTokenSigner, TokenLedger } from './oauthTokens';
import type { AccessTokenClaims } from './oauthTokens';

/** The one scope Gatehouse grants: use of the gateway's `/mcp` endpoint. */
export const MCP_SCOPE = 'mcp';

export interface OAuthServiceOptions {
  /** The Gatehouse home (secrets live there, mode 0600). */
  readonly home: string;
  readonly consent: ConsentBroker;
  /** Injectable clock (ms) so expiry is tested without sleeping. */
  readonly now?: () => number;
  readonly codeLifetimeMs?: number;
  readonly accessTokenLifetimeSeconds?: number;
  readonly refreshTokenLifetimeMs?: number;
  readonly refreshReuseGraceMs?: number;
}

/** An RFC 6749 / 7591 / 8707 error with the HTTP status it is sent with. */
export class OAuthProtocolError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
    this.name = 'OAuthProtocolError';
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** A problem with `client_id` or `redirect_uri`: shown to the human, never redirected (RFC 6749 §4.1.2.1). */
export class AuthorizeDisplayError extends Error {
  constructor(
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'AuthorizeDisplayError';
  }
}

export interface ClientCredentials {
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly scope: string;
}

interface AuthorizationCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly issuer: string;
  readonly expiresAt: number;
  used: boolean;
  familyId?: string;
}

interface ValidatedAuthorization {
  readonly client: ClientRecord;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly issuer: string;
}

export type AuthorizeOutcome =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'waiting'; readonly consentId: string };

export type ConsentStatus = { readonly status: 'pending' } | { readonly status: 'decided'; readonly location: string } | { readonly status: 'unknown' };

/** Loopback hosts that a native client may use with any port (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopbackRedirect(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Gatehouse's own OAuth 2.1 authorization server: registration, authorization with consent
 * through the human channel, tokens, revocation, and the client registry behind them.
 * Every method takes the validated request origin, because `localhost` and `127.0.0.1` are
 * different issuers and audiences to clients.
 */
export class OAuthService {
  readonly clients: ClientRegistry;
  readonly signer: AccessTokenSigner;
  readonly ledger: TokenLedger;
  readonly consent: ConsentBroker;
  readonly scopesSupported: readonly string[] = [MCP_SCOPE];
  private readonly now: () => number;
  private readonly codeLifetimeMs: number;
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly waiting = new Map<string, { authorization: ValidatedAuthorization; location?: string; expiresAt: number }>();

  constructor(options: OAuthServiceOptions) {
    this.now = options.now ?? Date.now;
    this.codeLifetimeMs = options.codeLifetimeMs ?? 60_000;
    const accessSeconds = options.accessTokenLifetimeSeconds ?? 3600;
    this.consent = options.consent;
    this.clients = new ClientRegistry(options.home, this.now);
    this.signer = new AccessTokenSigner(options.home, this.now, accessSeconds);
    this.ledger = new TokenLedger(
      options.home,
      this.now,
      options.refreshTokenLifetimeMs ?? 30 * 24 * 3600 * 1000,
      options.refreshReuseGraceMs ?? 10_000,
      accessSeconds * 1000,
    );
  }

  static resourceFor(origin: string): string {
    return `${origin}/mcp`;
  }

  protectedResourceMetadata(origin: string): Record<string, unknown> {
    return {
      resource: OAuthService.resourceFor(origin),
      authorization_servers: [origin],
      scopes_supported: [...this.scopesSupported],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
    };
  }

  authorizationServerMetadata(origin: string): Record<string, unknown> {
    // No client_id_metadata_document_supported: Codex would switch to CIMD, which is not implemented.
    return {
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      registration_endpoint: `${origin}/register`,
      revocation_endpoint: `${origin}/revoke`,
      scopes_supported: [...this.scopesSupported],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    };
  }

  /** RFC 7591 registration. Unknown metadata is ignored; the secret is returned only here. */
  register(body: unknown): Record<string, unknown> {
    const parsed = OAuthClientMetadataSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || 'body';
      const code = field.startsWith('redirect_uris') ? 'invalid_redirect_uri' : 'invalid_client_metadata';
      throw new OAuthProtocolError(code, `${field}: ${issue?.message ?? 'invalid client metadata'}`);
    }
    const metadata = parsed.data;
    if (metadata.redirect_uris.length === 0) throw new OAuthProtocolError('invalid_redirect_uri', 'redirect_uris must name at least one URI');
    for (const uri of metadata.redirect_uris) {
      const url = new URL(uri);
      if (!(url.protocol === 'https:' || isLoopbackRedirect(url)) || url.hash) {
        throw new OAuthProtocolError('invalid_redirect_uri', `${uri} is not allowed: use https, or http on 127.0.0.1, localhost or [::1], without a fragment`);
      }
    }
    const method = (metadata.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    if (!TOKEN_ENDPOINT_AUTH_METHODS.includes(method)) {
      throw new OAuthProtocolError('invalid_client_metadata', `token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`);
    }
    const grantTypes = metadata.grant_types ?? ['authorization_code'];
    const unsupportedGrant = grantTypes.find((grant) => grant !== 'authorization_code' && grant !== 'refresh_token');
    if (unsupportedGrant) throw new OAuthProtocolError('invalid_client_metadata', `grant type ${unsupportedGrant} is not supported`);
    const responseTypes = metadata.response_types ?? ['code'];
    if (responseTypes.some((type) => type !== 'code')) throw new OAuthProtocolError('invalid_client_metadata', 'only the "code" response type is supported');
    const clientName = (metadata.client_name?.trim() || 'Unnamed client').slice(0, 200);
    const { record, clientSecret } = this.clients.register({
      clientName,
      redirectUris: metadata.redirect_uris,
      tokenEndpointAuthMethod: method,
      scope: metadata.scope,
      clientUri: metadata.client_uri,
      softwareId: metadata.software_id,
      softwareVersion: metadata.software_version,
    });
    return {
      client_id: record.clientId,
      client_id_issued_at: Math.floor(Date.parse(record.createdAt) / 1000),
      ...(clientSecret === undefined ? {} : { client_secret: clientSecret, client_secret_expires_at: 0 }),
      client_name: record.clientName,
      redirect_uris: record.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: method,
      ...(metadata.scope === undefined ? {} : { scope: metadata.scope }),
    };
  }

  /**
   * `GET /authorize`. Returns a redirect (remembered consent, or an error the client may see) or
   * the id of a consent request the human must decide. Throws AuthorizeDisplayError for a bad
   * client or redirect URI.
   */
  authorize(query: Record<string, string | undefined>, origin: string): AuthorizeOutcome {
    const clientId = query.client_id;
    if (!clientId) throw new AuthorizeDisplayError('Missing client', 'The request has no client_id. Start the sign-in again from your MCP client.');
    const client = this.clients.get(clientId);
    if (!client) {
      throw new AuthorizeDisplayError(
        'Unknown client',
        'This client is not registered with Gatehouse (it may have been revoked). Start the sign-in again from your MCP client so it registers anew.',
      );
    }
    const redirectUri = this.matchRedirectUri(client, query.redirect_uri);
    const state = query.state;
    const fail = (error: string, description: string): AuthorizeOutcome => ({
      kind: 'redirect',
      location: withParams(redirectUri, { error, error_description: description, state, iss: origin }),
    });
    if (query.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be "code"');
    if (!query.code_challenge) return fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
    if (query.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(query.code_challenge)) return fail('invalid_request', 'code_challenge must be a base64url SHA-256 hash');
    const resource = this.resolveResource(query.resource, origin);
    if (!resource) return fail('invalid_target', `resource must be ${OAuthService.resourceFor(origin)}`);
    const scopes = this.resolveScopes(query.scope ?? client.scope);
    if (!scopes) return fail('invalid_scope', `the requested scope is not offered; supported: ${this.scopesSupported.join(' ')}`);

    const authorization: ValidatedAuthorization = { client, redirectUri, state, codeChallenge: query.code_challenge, scopes, resource, issuer: origin };
    // Remembered only for the exact redirect URI the human allowed: another loopback port could be
    // another program posing as this public client (RFC 8252 §8.6).
    if (this.clients.hasConsent(client, scopes, redirectUri)) {
      return { kind: 'redirect', location: this.approve(authorization) };
    }
    this.pruneWaiting();
    let ticket: ReturnType<ConsentBroker['begin']>;
    try {
      ticket = this.consent.begin({ clientId: client.clientId, clientName: client.clientName, redirectHost: redirectHostOf(redirectUri), scopes });
    } catch (error) {
      if (error instanceof TooManyConsentsError) return fail('temporarily_unavailable', error.message);
      throw error;
    }
    const entry: { authorization: ValidatedAuthorization; location?: string; expiresAt: number } = {
      authorization,
      expiresAt: this.now() + 15 * 60_000,
    };
    this.waiting.set(ticket.id, entry);
    void ticket.decision.then((decision) => {
      entry.location = this.settle(authorization, decision);
    });
    return { kind: 'waiting', consentId: ticket.id };
  }

  /** Where the waiting browser tab stands. A decided request is handed out once. */
  consentStatus(consentId: string, consume: boolean): ConsentStatus {
    this.pruneWaiting();
    const entry = this.waiting.get(consentId);
    if (!entry) return { status: 'unknown' };
    if (entry.location === undefined) return { status: 'pending' };
    if (consume) this.waiting.delete(consentId);
    return { status: 'decided', location: entry.location };
  }

  /** Describes a waiting request for the page ("Codex asks to connect"). */
  waitingClientName(consentId: string): string | undefined {
    return this.waiting.get(consentId)?.authorization.client.clientName;
  }

  /** `POST /token`. */
  async token(form: Record<string, string | undefined>, credentials: ClientCredentials, origin: string): Promise<TokenResponse> {
    const client = this.authenticateClient(credentials);
    switch (form.grant_type) {
      case 'authorization_code':
        return this.exchangeCode(form, client, origin);
      case 'refresh_token':
        return this.refresh(form, client, origin);
      case undefined:
      case '':
        throw new OAuthProtocolError('invalid_request', 'grant_type is required');
      default:
        throw new OAuthProtocolError('unsupported_grant_type', `grant_type ${form.grant_type} is not supported; use authorization_code or refresh_token`);
    }
  }

  /** `POST /revoke` (RFC 7009): unknown or foreign tokens are ignored, as the RFC asks. */
  async revoke(form: Record<string, string | undefined>, credentials: ClientCredentials, origin: string): Promise<void> {
    const client = this.authenticateClient(credentials);
    const token = form.token;
    if (!token) throw new OAuthProtocolError('invalid_request', 'token is required');
    const refresh = this.ledger.findRefreshToken(token);
    if (refresh) {
      if (refresh.clientId === client.clientId) this.ledger.revokeFamily(refresh.familyId);
      return;
    }
    try {
      const claims = await this.signer.verify(token, origin, [OAuthService.resourceFor(origin), origin]);
      if (claims.client_id === client.clientId) this.ledger.revokeAccessToken(claims.jti, claims.exp);
    } catch {
      // Not a token of ours: nothing to revoke.
    }
  }

  /** Checks an access token for `/mcp`; throws OAuthProtocolError (invalid_token) when it does not hold. */
  async verifyAccessToken(token: string, origin: string): Promise<{ claims: AccessTokenClaims; client: ClientRecord }> {
    let claims: AccessTokenClaims;
    try {
      claims = await this.signer.verify(token, origin, [OAuthService.resourceFor(origin), origin]);
    } catch (error) {
      const reason = (error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'the access token has expired' : 'the access token is not valid for this server';
      throw new OAuthProtocolError('invalid_token', reason, 401);
    }
    const client = this.clients.get(claims.client_id);
    if (!client) throw new OAuthProtocolError('invalid_token', 'the client of this token has been revoked', 401);
    if (this.ledger.isFamilyRevoked(claims.fam) || this.ledger.isAccessTokenRevoked(claims.jti)) {
      throw new OAuthProtocolError('invalid_token', 'the access token has been revoked', 401);
    }
    this.clients.touch(client.clientId);
    return { claims, client };
  }

  listClients(): ConnectedClient[] {
    return this.clients.list();
  }

  /** Forgets the client and its consent; every token it holds stops working at once. */
  revokeClient(clientId: string): boolean {
    this.ledger.revokeClient(clientId);
    for (const [code, entry] of this.codes) if (entry.clientId === clientId) this.codes.delete(code);
    return this.clients.remove(clientId);
  }

  private matchRedirectUri(client: ClientRecord, requested: string | undefined): string {
    if (requested === undefined) {
      if (client.redirectUris.length === 1) return client.redirectUris[0]!;
      throw new AuthorizeDisplayError('Missing redirect_uri', 'The request has no redirect_uri. Start the sign-in again from your MCP client.');
    }
    let url: URL;
    try {
      url = new URL(requested);
    } catch {
      throw new AuthorizeDisplayError('Invalid redirect_uri', 'The redirect_uri is not a valid URL. Gatehouse did not send you anywhere.');
    }
    const matches = client.redirectUris.some((registered) => {
      if (registered === requested) return true;
      const candidate = new URL(registered);
      // RFC 8252 §7.3: a native app's loopback listener gets a fresh port each time.
      return (
        isLoopbackRedirect(candidate) &&
        isLoopbackRedirect(url) &&
        candidate.hostname === url.hostname &&
        candidate.pathname === url.pathname &&
        candidate.search === url.search
      );
    });
    if (!matches) {
      throw new AuthorizeDisplayError(
        'Unregistered redirect_uri',
        `${client.clientName} asked to send you to ${requested}, which it did not register. Gatehouse did not send you there.`,
      );
    }
    return requested;
  }

  private resolveResource(requested: string | undefined, origin: string): string | undefined {
    const ours = OAuthService.resourceFor(origin);
    if (requested === undefined || requested === '') return ours;
    const candidates = [ours, `${ours}/`, origin, `${origin}/`];
    return candidates.includes(requested) ? requested.replace(/\/$/, '') : undefined;
  }

  /** Unknown scopes are dropped; an empty request gets the default. Undefined when nothing is left. */
  private resolveScopes(requested: string | undefined): string[] | undefined {
    const asked = (requested ?? '').split(' ').filter(Boolean);
    if (asked.length === 0) return [...this.scopesSupported];
    const granted = asked.filter((scope) => this.scopesSupported.includes(scope));
    return granted.length ? [...new Set(granted)] : undefined;
  }

  private settle(authorization: ValidatedAuthorization, decision: ConsentDecision): string {
    if (decision === 'allow' && this.clients.get(authorization.client.clientId)) {
      this.clients.rememberConsent(authorization.client.clientId, authorization.scopes, authorization.redirectUri);
      return this.approve(authorization);
    }
    return withParams(authorization.redirectUri, {
      error: 'access_denied',
      error_description: 'The request was declined in Gatehouse',
      state: authorization.state,
      iss: authorization.issuer,
    });
  }

  private approve(authorization: ValidatedAuthorization): string {
    const code = randomToken();
    this.pruneCodes();
    this.codes.set(hashSecret(code), {
      clientId: authorization.client.clientId,
      redirectUri: authorization.redirectUri,
      codeChallenge: authorization.codeChallenge,
      scopes: authorization.scopes,
      resource: authorization.resource,
      issuer: authorization.issuer,
      expiresAt: this.now() + this.codeLifetimeMs,
      used: false,
    });
    // RFC 9207: `iss` lets the client detect a mix-up between authorization servers.
    return withParams(authorization.redirectUri, { code, state: authorization.state, iss: authorization.issuer });
  }

  private authenticateClient(credentials: ClientCredentials): ClientRecord {
    if (!credentials.clientId) throw new OAuthProtocolError('invalid_client', 'client authentication is required: send client_id', 401);
    const client = this.clients.get(credentials.clientId);
    if (!client) throw new OAuthProtocolError('invalid_client', 'unknown client_id; register the client again', 401);
    if (client.clientSecretHash !== undefined) {
      if (!credentials.clientSecret || !sameHash(hashSecret(credentials.clientSecret), client.clientSecretHash)) {
        throw new OAuthProtocolError('invalid_client', 'client authentication failed', 401);
      }
    }
    return client;
  }

  private async exchangeCode(form: Record<string, string | undefined>, client: ClientRecord, origin: string): Promise<TokenResponse> {
    if (!form.code) throw new OAuthProtocolError('invalid_request', 'code is required');
    if (!form.code_verifier) throw new OAuthProtocolError('invalid_request', 'code_verifier is required (PKCE)');
    const entry = this.codes.get(hashSecret(form.code));
    if (!entry || entry.clientId !== client.clientId) throw new OAuthProtocolError('invalid_grant', 'the authorization code is not valid');
    if (entry.used) {
      // RFC 6749 §4.1.2: a replayed code revokes what it already produced.
      if (entry.familyId) this.ledger.revokeFamily(entry.familyId);
      throw new OAuthProtocolError('invalid_grant', 'the authorization code has already been used');
    }
    if (entry.expiresAt <= this.now()) throw new OAuthProtocolError('invalid_grant', 'the authorization code has expired');
    entry.used = true;
    if (entry.issuer !== origin) throw new OAuthProtocolError('invalid_grant', 'the authorization code was issued by a different origin');
    if (form.redirect_uri !== entry.redirectUri) throw new OAuthProtocolError('invalid_grant', 'redirect_uri does not match the authorization request');
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier) || !sameHash(s256(form.code_verifier), entry.codeChallenge)) {
      throw new OAuthProtocolError('invalid_grant', 'code_verifier does not match the code_challenge');
    }
    if (form.resource !== undefined && this.resolveResource(form.resource, origin) !== entry.resource) {
      throw new OAuthProtocolError('invalid_target', `resource must be ${entry.resource}`);
    }
    const familyId = randomToken(12);
    entry.familyId = familyId;
    return this.issueTokens(client, entry.scopes, entry.resource, origin, familyId);
  }

  private async refresh(form: Record<string, string | undefined>, client: ClientRecord, origin: string): Promise<TokenResponse> {
    if (!form.refresh_token) throw new OAuthProtocolError('invalid_request', 'refresh_token is required');
    const outcome = this.ledger.redeem(form.refresh_token, client.clientId);
    if (outcome.kind === 'reused') throw new OAuthProtocolError('invalid_grant', 'the refresh token was already used; its whole grant has been revoked');
    if (outcome.kind !== 'rotated') throw new OAuthProtocolError('invalid_grant', `the refresh token is ${outcome.kind === 'unknown' ? 'not valid' : outcome.kind}`);
    const record = outcome.record;
    if (record.issuer !== origin) throw new OAuthProtocolError('invalid_grant', 'the refresh token was issued by a different origin');
    if (form.resource !== undefined && this.resolveResource(form.resource, origin) !== record.resource) {
      throw new OAuthProtocolError('invalid_target', `resource must be ${record.resource}`);
    }
    const original = record.scope.split(' ').filter(Boolean);
    let scopes = original;
    if (form.scope) {
      scopes = form.scope.split(' ').filter(Boolean);
      if (scopes.some((scope) => !original.includes(scope))) throw new OAuthProtocolError('invalid_scope', 'a refresh cannot widen the scope');
    }
    return this.issueTokens(client, scopes, record.resource, origin, record.familyId);
  }

  private async issueTokens(client: ClientRecord, scopes: readonly string[], resource: string, origin: string, familyId: string): Promise<TokenResponse> {
    const scope = scopes.join(' ');
    const access = await this.signer.sign({ issuer: origin, audience: resource, clientId: client.clientId, scope, familyId });
    const refreshToken = this.ledger.issueRefreshToken({ familyId, clientId: client.clientId, scope, resource, issuer: origin });
    this.clients.touch(client.clientId, true);
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken, scope };
  }

  private pruneCodes(): void {
    const now = this.now();
    for (const [code, entry] of this.codes) if (entry.expiresAt + this.codeLifetimeMs < now) this.codes.delete(code);
  }

  private pruneWaiting(): void {
    const now = this.now();
    for (const [id, entry] of this.waiting) if (entry.expiresAt < now) this.waiting.delete(id);
  }
}

function s256(verifier: string): string {
  return crypto.createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}
