import type { AuthResult, Authenticator } from './principal';
import { MCP_SCOPE, OAuthProtocolError } from './oauthService';
import type { OAuthService } from './oauthService';

/** Where a 401 points clients for discovery (RFC 9728 §5.1). */
export function resourceMetadataUrl(origin: string): string {
  return `${origin}/.well-known/oauth-protected-resource/mcp`;
}

/** `WWW-Authenticate` for `/mcp`; the gateway appends `error="…"` when credentials were sent. */
export function bearerChallenge(origin: string): string {
  return `Bearer resource_metadata="${resourceMetadataUrl(origin)}", scope="${MCP_SCOPE}"`;
}

/**
 * Checks OAuth access tokens on `/mcp` (GET included). Returns undefined when the request carries
 * no bearer JWT, so that another authenticator (API keys) may take it; a JWT that fails is refused
 * here and not passed on.
 */
export class OAuthAuthenticator implements Authenticator {
  constructor(private readonly service: OAuthService) {}

  async authenticate(request: Request, origin: string): Promise<AuthResult | undefined> {
    const header = request.headers.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return undefined;
    const token = match[1]!;
    // API keys are opaque strings; a JWT has exactly three dot-separated parts.
    if (token.split('.').length !== 3) return undefined;
    try {
      const { claims, client } = await this.service.verifyAccessToken(token, origin);
      const scopes = claims.scope.split(' ').filter(Boolean);
      if (!scopes.includes(MCP_SCOPE)) {
        return { ok: false, status: 403, error: 'insufficient_scope', description: `this token lacks the "${MCP_SCOPE}" scope; sign in again` };
      }
      return { ok: true, principal: { kind: 'oauth', clientId: client.clientId, clientName: client.clientName, scopes } };
    } catch (error) {
      if (error instanceof OAuthProtocolError) return { ok: false, status: 401, error: error.code, description: error.description };
      throw error;
    }
  }

  challenge(origin: string): string {
    return bearerChallenge(origin);
  }
}
