import * as fs from 'node:fs';
import { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type { AddClientAuthentication, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import { expandEnvReferences, type UpstreamOAuthConfig } from './serversConfig';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';

/**
 * The parts of an OAuth provider that a grant without a browser needs: the token request it
 * sends instead of an authorization code, and (private_key_jwt) how the client authenticates.
 */
export interface MachineGrant {
  prepareTokenRequest(scope?: string): Promise<URLSearchParams>;
  readonly addClientAuthentication?: AddClientAuthentication;
}

/** Whether this upstream gets its tokens from configured credentials rather than a human's sign-in. */
export function isMachineGrant(oauth: UpstreamOAuthConfig | undefined): boolean {
  return oauth?.grant !== undefined && oauth.grant !== 'authorization_code';
}

function secret(value: string, what: string): string {
  const expanded = expandEnvReferences(value);
  if (!expanded) throw new Error(`${what} is empty (an \${env:…} reference to a variable that is not set?).`);
  return expanded;
}

function readAssertion(oauth: UpstreamOAuthConfig): string {
  if (oauth.assertionFile) {
    // Read at every token request: workload tokens (Kubernetes, CI) are rotated in place.
    try {
      return fs.readFileSync(oauth.assertionFile, 'utf8').trim();
    } catch (error) {
      throw new Error(`oauth.assertionFile ${oauth.assertionFile} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return secret(oauth.assertion ?? '', 'oauth.assertion');
}

const TokenExchangeResponse = z.object({ access_token: z.string().min(1), issued_token_type: z.string().optional() });

/**
 * Enterprise-managed authorization: the enterprise identity provider trades the user's ID token
 * for an identity assertion grant (ID-JAG, RFC 8693 token exchange) naming this authorization
 * server and resource, which the authorization server then accepts as a JWT-bearer grant.
 */
async function exchangeForIdJag(oauth: UpstreamOAuthConfig, discovery: OAuthDiscoveryState | undefined, scope: string | undefined, fetchFn: FetchLike): Promise<string> {
  const idp = oauth.idp!;
  const metadata = discovery?.authorizationServerMetadata as AuthorizationServerMetadata | undefined;
  const audience = metadata?.issuer ?? discovery?.authorizationServerUrl;
  const resource = (discovery?.resourceMetadata as { resource?: string } | undefined)?.resource;
  if (!audience || !resource) throw new Error('The authorization server or the resource of this upstream is unknown, so no identity assertion can be requested for it.');
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    requested_token_type: ID_JAG,
    subject_token: secret(idp.idToken, 'oauth.idp.idToken'),
    subject_token_type: ID_TOKEN,
    audience: String(audience),
    resource,
    client_id: idp.clientId,
    ...(scope ? { scope } : {}),
  });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (idp.clientSecret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(idp.clientId)}:${encodeURIComponent(secret(idp.clientSecret, 'oauth.idp.clientSecret'))}`).toString('base64')}`;
  const response = await fetchFn(idp.tokenEndpoint, { method: 'POST', headers, body });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 200);
    try {
      const parsed = JSON.parse(text) as { error?: string; error_description?: string };
      detail = [parsed.error, parsed.error_description].filter(Boolean).join(': ') || detail;
    } catch {
      // Not JSON: the start of the body says enough.
    }
    throw new Error(`The identity provider refused the token exchange (HTTP ${response.status}: ${detail}).`);
  }
  const parsed = TokenExchangeResponse.safeParse(JSON.parse(text));
  if (!parsed.success || (parsed.data.issued_token_type !== undefined && parsed.data.issued_token_type !== ID_JAG)) {
    throw new Error('The identity provider answered the token exchange without an identity assertion grant (ID-JAG).');
  }
  return parsed.data.access_token;
}

/**
 * The grant for an upstream configured with `oauth.grant` other than "authorization_code", or
 * undefined for the human's sign-in. Secrets are read from the environment at each token
 * request, never stored.
 */
export function machineGrant(oauth: UpstreamOAuthConfig | undefined, discovery: () => OAuthDiscoveryState | undefined, fetchFn: FetchLike = fetch): MachineGrant | undefined {
  if (!oauth || !isMachineGrant(oauth)) return undefined;
  const withScope = (params: URLSearchParams, scope: string | undefined): URLSearchParams => {
    if (scope) params.set('scope', scope);
    return params;
  };
  switch (oauth.grant) {
    case 'client_credentials':
      return {
        prepareTokenRequest: async (scope) => withScope(new URLSearchParams({ grant_type: 'client_credentials' }), scope),
        ...(oauth.privateKey
          ? {
              addClientAuthentication: (headers, params, url, metadata) => {
                const supported = (metadata as AuthorizationServerMetadata | undefined)?.token_endpoint_auth_signing_alg_values_supported;
                const alg = oauth.privateKeyAlgorithm ?? supported?.find((a) => a !== 'none' && !a.startsWith('HS')) ?? 'RS256';
                const sign = createPrivateKeyJwtAuth({ issuer: oauth.clientId!, subject: oauth.clientId!, privateKey: secret(oauth.privateKey!, 'oauth.privateKey'), alg });
                return sign(headers, params, url, metadata);
              },
            }
          : {}),
      };
    case 'jwt_bearer':
      return { prepareTokenRequest: async (scope) => withScope(new URLSearchParams({ grant_type: JWT_BEARER, assertion: readAssertion(oauth) }), scope) };
    case 'enterprise':
      return { prepareTokenRequest: async (scope) => withScope(new URLSearchParams({ grant_type: JWT_BEARER, assertion: await exchangeForIdJag(oauth, discovery(), scope, fetchFn) }), scope) };
    default:
      return undefined;
  }
}
