/** Who is calling the gateway: an API key holder or an OAuth client. Approvals show `clientName`. */
export interface Principal {
  readonly kind: 'apiKey' | 'oauth';
  /** Stable id: the API key's label, or the OAuth client_id. */
  readonly clientId: string;
  /** What a human sees as "who is asking". */
  readonly clientName: string;
  readonly scopes: readonly string[];
}

/** The outcome of checking a request's credentials. */
export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401 | 403; readonly error: string; readonly description: string };

/**
 * The seam for credentials on `/mcp`. API keys are one authenticator; OAuth access tokens are
 * another. `origin` is the validated `<scheme>://<host>` of the request, so that token audiences
 * and `WWW-Authenticate` metadata URLs match what the client used.
 */
export interface Authenticator {
  authenticate(request: Request, origin: string): Promise<AuthResult | undefined>;
  /** Extra `WWW-Authenticate` header for a 401, or undefined. */
  challenge?(origin: string): string | undefined;
}
