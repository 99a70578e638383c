import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { DpopAlg, DpopKeyPair, DpopSession } from '@modelcontextprotocol/client';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { UpstreamOAuthStore } from './upstreamAuth';

/** Where the DPoP key and tokens live: the upstream's 0600 file. */
export type DpopStore = Pick<UpstreamOAuthStore, 'read' | 'update'>;

interface StoredKey {
  readonly alg: DpopAlg;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

function advertisedAlgs(discovery: Record<string, unknown> | undefined): string[] {
  const metadata = (discovery as OAuthDiscoveryState | undefined)?.authorizationServerMetadata as { dpop_signing_alg_values_supported?: unknown } | undefined;
  const algs = metadata?.dpop_signing_alg_values_supported;
  return Array.isArray(algs) ? algs.filter((a): a is string => typeof a === 'string') : [];
}

function tokenEndpoint(discovery: Record<string, unknown> | undefined): string | undefined {
  return ((discovery as OAuthDiscoveryState | undefined)?.authorizationServerMetadata as { token_endpoint?: string } | undefined)?.token_endpoint;
}

function sameTarget(a: URL, b: string): boolean {
  try {
    const other = new URL(b);
    return a.origin === other.origin && a.pathname.replace(/\/$/, '') === other.pathname.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * The DPoP key is one per upstream sign-in and must be the same in every process (`gatehouse
 * login` gets the token bound to it, the gateway presents it), so it is kept in the upstream's
 * 0600 file next to the refresh token it protects, and made anew when the server's algorithms
 * no longer include its own.
 */
async function loadSession(store: DpopStore, algs: string[]): Promise<DpopSession> {
  // Loaded only for a server that uses DPoP: the 2.x client package is large.
  const { DPOP_SUPPORTED_ALGS, DpopSession } = await import('@modelcontextprotocol/client');
  const stored = store.read().dpopKey as StoredKey | undefined;
  let key = stored && algs.includes(stored.alg) ? stored : undefined;
  if (!key) {
    const alg = (DPOP_SUPPORTED_ALGS as readonly string[]).find((a) => algs.includes(a)) as DpopAlg | undefined;
    if (!alg) throw new Error(`The authorization server asks for DPoP with algorithms Gatehouse cannot sign with (${algs.join(', ')}).`);
    const pair = await generateKeyPair(alg, { extractable: true });
    key = { alg, privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
    const made = key;
    store.update((state) => {
      state.dpopKey = made as unknown as Record<string, unknown>;
    });
  }
  const privateKey = (await importJWK(key.privateJwk, key.alg)) as DpopKeyPair['privateKey'];
  const publicKey = (await importJWK(key.publicJwk, key.alg)) as DpopKeyPair['privateKey'];
  return DpopSession.create({ keyPair: { privateKey, publicKey, publicJwk: key.publicJwk, thumbprint: await calculateJwkThumbprint(key.publicJwk, 'sha256'), alg: key.alg } });
}

async function isTokenNonceChallenge(response: Response): Promise<boolean> {
  if (response.status !== 400 || !response.headers.get('dpop-nonce')) return false;
  try {
    return ((await response.clone().json()) as { error?: string }).error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

/**
 * Sender-constrained tokens (RFC 9449) for an upstream whose authorization server advertises
 * `dpop_signing_alg_values_supported`: a proof on every token request, and a DPoP-bound access
 * token presented as `Authorization: DPoP` with a fresh proof (with `ath`) on every request to
 * the server. A `use_dpop_nonce` challenge, from either, is retried once with the nonce given.
 * Everything else passes through untouched.
 */
export function dpopFetch(store: DpopStore, base: FetchLike = fetch): FetchLike {
  let session: { algs: string; session: Promise<DpopSession> } | undefined;
  return async (url, init) => {
    const { discovery, tokens } = store.read();
    const algs = advertisedAlgs(discovery);
    if (algs.length === 0) return base(url, init);
    const target = new URL(String(url));
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers);
    const endpoint = tokenEndpoint(discovery);
    const isTokenRequest = method === 'POST' && endpoint !== undefined && sameTarget(target, endpoint);
    const stored = tokens as OAuthTokens | undefined;
    const bearer = /^Bearer (.+)$/i.exec(headers.get('authorization') ?? '')?.[1];
    const dpopToken = bearer && stored?.access_token === bearer && stored.token_type?.toLowerCase() === 'dpop' ? bearer : undefined;
    if (!isTokenRequest && !dpopToken) return base(url, init);
    if (session?.algs !== algs.join(' ')) session = { algs: algs.join(' '), session: loadSession(store, algs) };
    const signer = await session.session;
    const send = async (): Promise<Response> => {
      const sent = new Headers(headers);
      if (dpopToken) sent.set('authorization', `DPoP ${dpopToken}`);
      sent.set('dpop', await signer.buildProof({ htm: method, htu: target, ...(dpopToken ? { accessToken: dpopToken } : {}) }));
      const response = await base(url, { ...init, headers: sent });
      signer.observeNonce(response, target);
      return response;
    };
    const first = await send();
    const { isDpopNonceChallenge } = await import('@modelcontextprotocol/client');
    const challenged = isTokenRequest ? await isTokenNonceChallenge(first) : isDpopNonceChallenge(first);
    if (!challenged) return first;
    await first.body?.cancel().catch(() => undefined);
    return send();
  };
}
