import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auth, extractWWWAuthenticateParams, type AddClientAuthentication, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SecretStateFile } from '../auth/stateFile';
import { GATEHOUSE_VERSION } from '../version';
import { isMachineGrant, machineGrant } from './machineGrants';
import { dpopFetch } from './upstreamDpop';
import { expandEnvReferences, type HttpServerConfig } from './serversConfig';

/** Where the authorization server sends the browser back: a route on the gateway's own loopback port. */
export const UPSTREAM_CALLBACK_PATH = '/oauth/upstream/callback';
/** A sign-in the human started and has not finished is usable this long. */
export const SIGN_IN_TTL_MS = 10 * 60_000;
/** Access tokens are refreshed this long before they expire. */
const REFRESH_MARGIN_MS = 60_000;

export function upstreamCallbackUrl(port: number): string {
  return `http://127.0.0.1:${port}${UPSTREAM_CALLBACK_PATH}`;
}

const PendingSchema = z.object({
  state: z.string(),
  codeVerifier: z.string(),
  redirectUri: z.string(),
  scope: z.string().optional(),
  startedAt: z.string(),
});

const OutcomeSchema = z.object({ ok: z.boolean(), at: z.string(), message: z.string().optional() });

// Whatever the SDK hands us (client information, tokens, discovery state) is kept as it came,
// so `auth()` sees exactly what it saved, including its `issuer` stamps.
const looseRecord = z.record(z.string(), z.unknown());

const UpstreamOAuthFileSchema = z
  .object({
    /** The upstream URL these credentials belong to; a changed URL in servers.json discards them. */
    serverUrl: z.string(),
    client: looseRecord.optional(),
    tokens: looseRecord.optional(),
    /** When the access token expires (ISO time), from `expires_in` at the moment it was saved. */
    tokensExpireAt: z.string().optional(),
    discovery: looseRecord.optional(),
    pending: PendingSchema.optional(),
    /** The last 401 challenge the gateway saw: some servers answer `initialize` without one and challenge later requests. */
    challenge: z.object({ scope: z.string().optional(), resourceMetadataUrl: z.string().optional() }).optional(),
    /** A scope the upstream asked for (403 insufficient_scope) that the current tokens lack. */
    stepUpScope: z.string().optional(),
    /** Why the server needs sign-in again (a refresh that was refused, …), for the human. */
    signInReason: z.string().optional(),
    /** The DPoP signing key (RFC 9449), when the authorization server binds tokens to one. */
    dpopKey: looseRecord.optional(),
    /** How the last sign-in ended, so a `gatehouse login` in another process learns it. */
    outcome: OutcomeSchema.optional(),
  })
  .loose();

export type UpstreamOAuthFile = z.infer<typeof UpstreamOAuthFileSchema>;

export function upstreamOAuthDir(home: string): string {
  return path.join(home, 'upstream-oauth');
}

/**
 * Tokens, client registrations and sign-ins in progress for one upstream, in
 * `<home>/upstream-oauth/<server>.json` (0600). Files, not the editor's SecretStorage, because
 * `gatehouse serve` and `gatehouse login` must use the same sign-in as the editor.
 */
export class UpstreamOAuthStore {
  private readonly file: SecretStateFile<UpstreamOAuthFile>;

  constructor(
    readonly home: string,
    readonly server: string,
    readonly serverUrl: string,
  ) {
    this.file = new SecretStateFile(path.join(upstreamOAuthDir(home), `${server}.json`), UpstreamOAuthFileSchema, () => ({ serverUrl }));
  }

  get path(): string {
    return this.file.file;
  }

  /** The stored state, or an empty one when there is none or it belongs to another URL. */
  read(): UpstreamOAuthFile {
    const stored = this.file.read();
    return stored.serverUrl === this.serverUrl ? stored : { serverUrl: this.serverUrl };
  }

  /** Re-reads the file (another process may have written it), applies `change` and writes it back atomically. */
  update(change: (state: UpstreamOAuthFile) => void): void {
    this.file.update((state) => {
      if (state.serverUrl !== this.serverUrl) {
        for (const key of Object.keys(state)) delete (state as Record<string, unknown>)[key];
        state.serverUrl = this.serverUrl;
      }
      change(state);
    });
  }

  forget(): void {
    fs.rmSync(this.path, { force: true });
  }
}

/** The gateway never starts a sign-in by itself: only the human does. This ends a flow that would need one. */
export class SignInRequiredError extends Error {
  constructor(
    readonly server: string,
    readonly reason: string,
  ) {
    super(`${server} needs sign-in: ${reason}`);
    this.name = 'SignInRequiredError';
  }
}

export type ProviderMode = 'background' | 'interactive' | 'exchange';

/** Issuer identifiers compare as URLs, tolerating the one trailing "/" that URL parsing adds to a bare origin. */
function sameIssuer(a: string, b: string): boolean {
  const strip = (value: string): string => value.replace(/\/$/, '');
  try {
    return strip(new URL(a).href) === strip(new URL(b).href);
  } catch {
    return a === b;
  }
}

function unionScopes(...scopes: (string | undefined)[]): string | undefined {
  const all = new Set(scopes.flatMap((s) => (s ? s.split(/\s+/).filter(Boolean) : [])));
  return all.size ? [...all].join(' ') : undefined;
}

function covers(granted: string | undefined, wanted: string | undefined): boolean {
  if (!wanted) return true;
  const have = new Set((granted ?? '').split(/\s+/));
  return wanted.split(/\s+/).every((s) => !s || have.has(s));
}

/**
 * Gatehouse's `OAuthClientProvider` for one HTTP upstream. The SDK's `auth()` does the protocol
 * (discovery, registration, PKCE, resource indicators, refresh); this decides what is stored
 * and who may start a sign-in:
 * - `background` (the gateway's connection): refreshes tokens, but a flow that would need the
 *   browser throws SignInRequiredError instead of redirecting anywhere, and it never registers
 *   a client (that is part of signing in).
 * - `interactive` (the human ran `gatehouse login` or clicked Sign in): ignores stored tokens,
 *   registers if needed and captures the authorization URL for the human's browser.
 * - `exchange` (the browser came back): trades the code for tokens with the stored verifier.
 * With `oauth.grant` set to a grant without a browser (client credentials, JWT bearer,
 * enterprise), there is no redirect: `auth()` asks for tokens with the configured credentials.
 */
export class UpstreamOAuthProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private verifier: string | undefined;
  private stateValue: string | undefined;
  readonly prepareTokenRequest?: (scope?: string) => Promise<URLSearchParams>;
  readonly addClientAuthentication?: AddClientAuthentication;

  constructor(
    readonly store: UpstreamOAuthStore,
    readonly config: HttpServerConfig,
    private readonly redirect: () => string,
    readonly mode: ProviderMode,
    private readonly pending?: { codeVerifier: string },
    fetchFn?: FetchLike,
  ) {
    const grant = machineGrant(config.oauth, () => this.discoveryState(), fetchFn);
    if (grant) {
      this.prepareTokenRequest = grant.prepareTokenRequest;
      if (grant.addClientAuthentication) this.addClientAuthentication = grant.addClientAuthentication;
    }
  }

  get redirectUrl(): string | undefined {
    return isMachineGrant(this.config.oauth) ? undefined : this.redirect();
  }

  get clientMetadataUrl(): string | undefined {
    return this.config.oauth?.clientMetadataUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    const scope = this.config.oauth?.scopes?.join(' ');
    return {
      client_name: 'Gatehouse',
      client_uri: 'https://github.com/gatehouse-dev/gatehouse',
      software_id: 'gatehouse',
      software_version: GATEHOUSE_VERSION,
      redirect_uris: this.redirectUrl ? [this.redirectUrl] : [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      // A loopback redirect: a native application in RFC 8252's sense.
      application_type: 'native',
      ...(scope ? { scope } : {}),
    } as OAuthClientMetadata;
  }

  state(): string {
    this.stateValue = crypto.randomBytes(32).toString('base64url');
    return this.stateValue;
  }

  get issuedState(): string | undefined {
    return this.stateValue;
  }

  get issuedVerifier(): string | undefined {
    return this.verifier;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    const configured = this.config.oauth;
    if (configured?.clientId) {
      const secret = configured.clientSecret ? expandEnvReferences(configured.clientSecret) : undefined;
      return { client_id: configured.clientId, ...(secret ? { client_secret: secret } : {}) };
    }
    const stored = this.store.read().client as OAuthClientInformationMixed | undefined;
    if (this.mode === 'interactive' && stored && 'redirect_uris' in stored && Array.isArray(stored.redirect_uris) && !stored.redirect_uris.includes(this.redirect())) {
      // Registered for another port (the gateway moved): register again for this redirect.
      return undefined;
    }
    if (!stored && this.mode === 'background') throw new SignInRequiredError(this.store.server, 'Gatehouse has not signed in to it yet');
    return stored;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    // A pre-registered client lives in servers.json (its secret as ${env:…}); never copy it here.
    if (this.config.oauth?.clientId && info.client_id === this.config.oauth.clientId) return;
    this.store.update((state) => {
      state.client = info as Record<string, unknown>;
    });
  }

  tokens(): OAuthTokens | undefined {
    // A human-started sign-in is a fresh one: it must not be short-cut by refreshing old tokens.
    if (this.mode === 'interactive') return undefined;
    return this.store.read().tokens as OAuthTokens | undefined;
  }

  saveTokens(tokens: OAuthTokens): void {
    // A background refresh that finishes after `gatehouse logout` forgot the sign-in must not bring it back.
    if (this.mode === 'background' && !isMachineGrant(this.config.oauth) && !this.store.read().tokens) throw new SignInRequiredError(this.store.server, 'it was signed out');
    this.store.update((state) => {
      state.tokens = tokens as Record<string, unknown>;
      state.tokensExpireAt = tokens.expires_in !== undefined ? new Date(Date.now() + tokens.expires_in * 1000).toISOString() : undefined;
      if (covers(tokens.scope, state.stepUpScope) || this.mode === 'exchange') delete state.stepUpScope;
      delete state.signInReason;
    });
  }

  redirectToAuthorization(url: URL): void {
    if (this.mode !== 'interactive') throw new SignInRequiredError(this.store.server, this.store.read().signInReason ?? 'it asks for a sign-in');
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    const verifier = this.pending?.codeVerifier ?? this.verifier;
    if (!verifier) throw new Error('No sign-in is in progress for this server.');
    return verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (!fs.existsSync(this.store.path)) return;
    this.store.update((state) => {
      if (scope === 'all' || scope === 'client') delete state.client;
      if (scope === 'all' || scope === 'tokens') {
        if (state.tokens) state.signInReason = 'the provider refused the stored sign-in (it expired or was revoked)';
        delete state.tokens;
        delete state.tokensExpireAt;
      }
      if (scope === 'all' || scope === 'discovery') delete state.discovery;
      if (scope === 'all' || scope === 'verifier') delete state.pending;
    });
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.store.read().discovery as OAuthDiscoveryState | undefined;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    // RFC 8414 §3.3: metadata whose issuer is not the one it was looked up for must not be used
    // (auth() saves discovery before it uses any endpoint, so refusing here stops the flow).
    const issuer = state.authorizationServerMetadata?.issuer;
    if (issuer !== undefined && !sameIssuer(issuer, String(state.authorizationServerUrl))) {
      throw new Error(`The authorization server metadata found for ${state.authorizationServerUrl} names another issuer ("${issuer}"), so Gatehouse does not use it.`);
    }
    this.store.update((stored) => {
      stored.discovery = state as unknown as Record<string, unknown>;
    });
  }
}

/**
 * @hono/node-server replaces the global Response with its own class, so a Response that fetch
 * returns is no `instanceof Response` in the gateway's process, and the SDK then reads an OAuth
 * error as "[object Response]": a refresh the provider refused (`invalid_grant`) looked like a
 * server error, the dead tokens were kept and the reason lost. Every fetch the SDK's `auth()`
 * sees goes through this, which re-makes such a Response with the global class.
 */
export function withGlobalResponse(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const response: Response = await base(url, init);
    if (response instanceof Response) return response;
    const foreign = response as Response;
    return new Response(foreign.body, { status: foreign.status, statusText: foreign.statusText, headers: foreign.headers });
  };
}

/** Whether an HTTP upstream is left to OAuth: a configured Authorization header means a static token instead. */
export function usesOAuth(config: HttpServerConfig): boolean {
  return !Object.keys(config.headers).some((name) => name.toLowerCase() === 'authorization');
}

function staticHeaders(config: HttpServerConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k, expandEnvReferences(v)]));
}

/**
 * Wraps fetch for the gateway's own connection. A 401 challenge is remembered for the next
 * sign-in. A 403 `insufficient_scope` is recorded as a step-up the human has to sign in for; the
 * challenge is removed from the response so that the SDK transport does not start an
 * authorization itself.
 */
export function challengeRecordingFetch(store: UpstreamOAuthStore, base: FetchLike = fetch): FetchLike {
  const fetchGlobal = withGlobalResponse(dpopFetch(store, base));
  return async (url, init) => {
    const response = await fetchGlobal(url, init);
    if (response.status === 401) {
      const { scope, resourceMetadataUrl } = extractWWWAuthenticateParams(response);
      if (scope || resourceMetadataUrl) {
        const challenge = { ...(scope ? { scope } : {}), ...(resourceMetadataUrl ? { resourceMetadataUrl: resourceMetadataUrl.href } : {}) };
        if (JSON.stringify(store.read().challenge) !== JSON.stringify(challenge)) {
          store.update((state) => {
            state.challenge = challenge;
          });
        }
      }
      return response;
    }
    if (response.status !== 403) return response;
    const { error, scope } = extractWWWAuthenticateParams(response);
    if (error !== 'insufficient_scope') return response;
    store.update((state) => {
      const granted = (state.tokens as OAuthTokens | undefined)?.scope;
      state.stepUpScope = unionScopes(state.stepUpScope, scope ?? granted);
    });
    const headers = new Headers(response.headers);
    headers.delete('www-authenticate');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

/** When the stored access token should be refreshed, or undefined when there is nothing to refresh. */
export function refreshDueAt(store: UpstreamOAuthStore): number | undefined {
  const state = store.read();
  const tokens = state.tokens as OAuthTokens | undefined;
  if (!tokens?.refresh_token || !state.tokensExpireAt) return undefined;
  // Short-lived tokens are refreshed at half their life, so a refresh never triggers another at once.
  const margin = Math.min(REFRESH_MARGIN_MS, ((tokens.expires_in ?? 0) * 1000) / 2);
  return Date.parse(state.tokensExpireAt) - margin;
}

/** Refreshes the stored tokens through the SDK (`auth()` with the refresh token). Throws SignInRequiredError when refused. */
export async function refreshNow(store: UpstreamOAuthStore, config: HttpServerConfig, redirect: () => string, fetchFn?: FetchLike): Promise<void> {
  const provider = new UpstreamOAuthProvider(store, config, redirect, 'background');
  await auth(provider, { serverUrl: config.url, fetchFn: withGlobalResponse(dpopFetch(store, fetchFn)) });
}

export interface SignInStart {
  readonly authorizationUrl: string;
  readonly state: string;
}

/**
 * Starts a sign-in the human asked for: asks the upstream for its challenge (RFC 9728
 * `resource_metadata` and `scope`), lets `auth()` discover the authorization server, register
 * (or use the configured client id / metadata document) and build the PKCE authorization URL,
 * and stores the verifier and state so that whichever process receives the callback can finish.
 */
export async function startSignIn(options: { home: string; server: string; config: HttpServerConfig; redirectUrl: string; fetchFn?: FetchLike }): Promise<SignInStart> {
  const { config, server } = options;
  if (isMachineGrant(config.oauth)) {
    throw new Error(`${server} gets its tokens from the credentials in servers.json (oauth.grant "${config.oauth?.grant}"), so nobody signs in to it. Gatehouse asks for tokens by itself when it connects.`);
  }
  const store = new UpstreamOAuthStore(options.home, server, config.url);
  const fetchFn = withGlobalResponse(options.fetchFn);
  const stored = store.read();
  const probed = await probeChallenge(config, fetchFn);
  const challenge = probed.scope || probed.resourceMetadataUrl ? probed : { scope: stored.challenge?.scope, resourceMetadataUrl: stored.challenge?.resourceMetadataUrl ? new URL(stored.challenge.resourceMetadataUrl) : undefined };
  const granted = (stored.tokens as OAuthTokens | undefined)?.scope;
  // Step-up keeps what was granted and adds what the upstream asked for.
  const scope = unionScopes(challenge.scope, stored.stepUpScope, stored.stepUpScope ? granted : undefined) ?? config.oauth?.scopes?.join(' ');
  store.update((state) => {
    // A fresh sign-in discovers afresh: the authorization server may have moved.
    delete state.discovery;
    delete state.pending;
    delete state.outcome;
  });
  const provider = new UpstreamOAuthProvider(store, config, () => options.redirectUrl, 'interactive');
  let result: Awaited<ReturnType<typeof auth>>;
  try {
    result = await auth(provider, { serverUrl: config.url, resourceMetadataUrl: challenge.resourceMetadataUrl, scope, fetchFn });
  } catch (error) {
    throw explainStartFailure(server, options.redirectUrl, error);
  }
  if (result !== 'REDIRECT' || !provider.authorizationUrl || !provider.issuedVerifier || !provider.issuedState) {
    throw new Error(`${server} did not ask for a sign-in (it answered without one).`);
  }
  const pending = { state: provider.issuedState, codeVerifier: provider.issuedVerifier, redirectUri: options.redirectUrl, ...(scope ? { scope } : {}), startedAt: new Date().toISOString() };
  store.update((state) => {
    state.pending = pending;
  });
  return { authorizationUrl: provider.authorizationUrl.href, state: pending.state };
}

/** A sign-in that cannot start, in words that say what the human does next. */
function explainStartFailure(server: string, redirectUrl: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/does not support dynamic client registration/i.test(message)) {
    return new Error(
      `${server}'s provider does not let apps register themselves (it offers no dynamic client registration), so Gatehouse needs an OAuth app of yours there. ` +
        `Create one with the redirect URI ${redirectUrl}, add it to "${server}" in servers.json as "oauth": { "clientId": "<its client id>", "clientSecret": "\${env:<VARIABLE>}" } (the secret only if the app has one), and sign in again.`,
      { cause: error },
    );
  }
  return new Error(`The sign-in to ${server} could not start: ${message}`, { cause: error });
}

/** An unauthenticated initialize, to read the upstream's 401 challenge. */
async function probeChallenge(config: HttpServerConfig, fetchFn: FetchLike): Promise<{ resourceMetadataUrl?: URL; scope?: string }> {
  const body = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'gatehouse', version: GATEHOUSE_VERSION } },
  };
  try {
    const response = await fetchFn(config.url, {
      method: 'POST',
      headers: { ...staticHeaders(config), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(body),
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status !== 401 && response.status !== 403) return {};
    const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(response);
    return { resourceMetadataUrl, scope };
  } catch {
    // Unreachable now; discovery below reports the real problem.
    return {};
  }
}

export interface CallbackQuery {
  readonly state?: string;
  readonly code?: string;
  readonly error?: string;
  readonly error_description?: string;
  readonly iss?: string;
}

export type SignInResult = { ok: true; server: string } | { ok: false; server?: string; message: string };

/** Finds which upstream a callback belongs to by its state (single use, bounded in time). */
function findPending(home: string, state: string, servers: ReadonlyMap<string, HttpServerConfig>): { server: string; store: UpstreamOAuthStore; pending: z.infer<typeof PendingSchema> } | undefined {
  for (const [server, config] of servers) {
    const store = new UpstreamOAuthStore(home, server, config.url);
    const pending = store.read().pending;
    if (!pending) continue;
    const a = Buffer.from(pending.state);
    const b = Buffer.from(state);
    if (a.length === b.length && crypto.timingSafeEqual(a, b)) return { server, store, pending };
  }
  return undefined;
}

/**
 * Finishes a sign-in when the browser comes back to the gateway's callback: checks state and
 * (RFC 9207) `iss`, then lets `auth()` exchange the code. The outcome is written to the
 * upstream's file, where `gatehouse login` in another process waits for it.
 */
export async function completeSignIn(options: { home: string; servers: ReadonlyMap<string, HttpServerConfig>; query: CallbackQuery; fetchFn?: FetchLike }): Promise<SignInResult> {
  const { query } = options;
  if (!query.state) return { ok: false, message: 'The sign-in response has no state; start the sign-in again from Gatehouse.' };
  const found = findPending(options.home, query.state, options.servers);
  if (!found) return { ok: false, message: 'This sign-in is unknown or was already used; start it again from Gatehouse.' };
  const { server, store, pending } = found;
  store.update((state) => {
    delete state.pending;
  });
  const fail = (message: string): SignInResult => {
    store.update((state) => {
      state.outcome = { ok: false, at: new Date().toISOString(), message };
    });
    return { ok: false, server, message };
  };
  if (Date.now() - Date.parse(pending.startedAt) > SIGN_IN_TTL_MS) return fail(`The sign-in to ${server} took longer than ${SIGN_IN_TTL_MS / 60_000} minutes; start it again.`);
  if (query.error) {
    const detail = query.error === 'access_denied' ? 'consent was denied' : `${query.error}${query.error_description ? `: ${query.error_description}` : ''}`;
    return fail(`The sign-in to ${server} did not complete (${detail}).`);
  }
  if (!query.code) return fail(`The sign-in response for ${server} has no authorization code.`);
  const metadata = (store.read().discovery as OAuthDiscoveryState | undefined)?.authorizationServerMetadata as { issuer: string; authorization_response_iss_parameter_supported?: boolean } | undefined;
  // RFC 9207: a server that says it sends `iss` must send its own issuer; one that sends it unasked must too.
  if (metadata?.authorization_response_iss_parameter_supported && query.iss === undefined) return fail(`The sign-in response for ${server} lacks the issuer (iss) its authorization server promised; it was not accepted.`);
  if (query.iss !== undefined && metadata && query.iss !== metadata.issuer) return fail(`The sign-in response for ${server} came from "${query.iss}", not from its authorization server "${metadata.issuer}"; it was not accepted.`);
  const config = options.servers.get(server);
  if (!config) return fail(`${server} is no longer configured.`);
  const provider = new UpstreamOAuthProvider(store, config, () => pending.redirectUri, 'exchange', { codeVerifier: pending.codeVerifier });
  try {
    await auth(provider, { serverUrl: config.url, authorizationCode: query.code, fetchFn: withGlobalResponse(dpopFetch(store, options.fetchFn)) });
  } catch (error) {
    return fail(`Exchanging the sign-in code for ${server} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  store.update((state) => {
    state.outcome = { ok: true, at: new Date().toISOString() };
  });
  return { ok: true, server };
}

/** `gatehouse logout`: revokes the tokens where the authorization server offers RFC 7009, and forgets them. */
export async function signOut(options: { home: string; server: string; config: HttpServerConfig; fetchFn?: FetchLike }): Promise<{ revoked: boolean; hadTokens: boolean }> {
  const store = new UpstreamOAuthStore(options.home, options.server, options.config.url);
  const state = store.read();
  const tokens = state.tokens as OAuthTokens | undefined;
  const metadata = (state.discovery as OAuthDiscoveryState | undefined)?.authorizationServerMetadata as { revocation_endpoint?: string } | undefined;
  let revoked = false;
  if (tokens && metadata?.revocation_endpoint) {
    const provider = new UpstreamOAuthProvider(store, options.config, () => '', 'background');
    let client: OAuthClientInformationMixed | undefined;
    try {
      client = provider.clientInformation();
    } catch {
      client = undefined;
    }
    const fetchFn = options.fetchFn ?? fetch;
    for (const [token, hint] of [
      [tokens.refresh_token, 'refresh_token'],
      [tokens.access_token, 'access_token'],
    ] as const) {
      if (!token || !client) continue;
      const body = new URLSearchParams({ token, token_type_hint: hint, client_id: client.client_id });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (client.client_secret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
      try {
        const response = await fetchFn(metadata.revocation_endpoint, { method: 'POST', headers, body });
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) revoked = true;
      } catch {
        // Forgetting still happens; the token expires on its own.
      }
    }
  }
  store.forget();
  return { revoked, hadTokens: Boolean(tokens) };
}

/** A short description of an upstream's sign-in, for `gatehouse servers list`. */
export function describeSignIn(home: string, server: string, config: HttpServerConfig): string {
  if (!usesOAuth(config)) return '';
  if (isMachineGrant(config.oauth)) return `OAuth ${config.oauth?.grant?.replace('_', ' ')} (no sign-in)`;
  const state = new UpstreamOAuthStore(home, server, config.url).read();
  if (state.tokens) return state.stepUpScope ? 'signed in (needs more permission: sign in again)' : 'signed in';
  if (state.signInReason || state.client || state.discovery || config.oauth) return 'needs sign-in';
  return '';
}
