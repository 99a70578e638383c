import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { CONSENT_PAGE_CSP, errorPage, waitingPage } from '../web/consentPages';
import { AuthorizeDisplayError, OAuthProtocolError } from './oauthService';
import type { ClientCredentials, OAuthService } from './oauthService';
import { OAuthAuthenticator } from './oauthAuthenticator';
import type { GatewayEnv } from '../gateway/gateway';
import type { Authenticator } from './principal';

/** The MCP Inspector's web UI, which calls discovery, `/register`, `/token` and `/mcp` from the browser. */
export const DEFAULT_CORS_ORIGINS: readonly string[] = ['http://localhost:6274', 'http://127.0.0.1:6274'];

export interface RateLimit {
  /** Burst size. */
  readonly capacity: number;
  /** Tokens added back per second. */
  readonly refillPerSecond: number;
}

export interface OAuthRoutesDeps {
  readonly service: OAuthService;
  /**
   * The validated `<scheme>://<host>` of a request. The gateway's Host guard runs first; without
   * it, only loopback hosts are accepted here.
   */
  readonly originOf?: (c: Context) => string | undefined;
  readonly corsOrigins?: readonly string[];
  readonly rateLimits?: { readonly register?: RateLimit; readonly token?: RateLimit };
}

/** A simple in-memory token bucket: all callers are local, so one bucket per endpoint is enough. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit.capacity;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limit.capacity, this.tokens + ((now - this.last) / 1000) * this.limit.refillPerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** CORS for browser-based MCP clients (the Inspector); the gateway uses it on `/mcp` too. */
export function oauthCors(origins: readonly string[] = DEFAULT_CORS_ORIGINS): MiddlewareHandler {
  const browsers = cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID', 'Accept'],
    exposeHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Mcp-Protocol-Version'],
    maxAge: 600,
  });
  // Only a browser sends Origin, and CORS headers mean nothing to anything else. Skipping them
  // for agents matters on /mcp: adding headers around a finished response makes hono rebuild it
  // as a full web Response twice, a sizeable share of an allowed call's cost.
  return async (c, next) => (c.req.header('origin') === undefined ? next() : browsers(c, next));
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

/** Used when no gateway guard supplies the origin: accept loopback `Host` values only. */
export function loopbackOrigin(c: Context): string | undefined {
  const host = c.req.header('host');
  return host && LOOPBACK_HOST.test(host) ? `http://${host.toLowerCase()}` : undefined;
}

/**
 * The authorization server's HTTP surface (discovery, `/register`, `/authorize`, `/token`,
 * `/revoke`), to be mounted on the gateway's hono app with `app.route('/', routes)`.
 */
export function createOAuthRoutes(deps: OAuthRoutesDeps): Hono {
  const { service } = deps;
  // The gateway's Host guard stores the validated origin as the `origin` context variable.
  const originOf = deps.originOf ?? ((c: Context): string | undefined => (c.get('origin') as string | undefined) ?? loopbackOrigin(c));
  const app = new Hono();
  const registerBucket = new TokenBucket(deps.rateLimits?.register ?? { capacity: 30, refillPerSecond: 0.5 });
  const tokenBucket = new TokenBucket(deps.rateLimits?.token ?? { capacity: 60, refillPerSecond: 2 });
  const corsMiddleware = oauthCors(deps.corsOrigins);

  const withOrigin = (c: Context, handle: (origin: string) => Response | Promise<Response>): Response | Promise<Response> => {
    const origin = originOf(c);
    if (!origin) return c.json({ error: 'invalid_request', error_description: 'The Host header is missing or not a loopback address' }, 421);
    return handle(origin);
  };

  for (const path of ['/.well-known/*', '/mcp/.well-known/*', '/register', '/token', '/revoke']) app.use(path, corsMiddleware);

  const protectedResource = (c: Context): Response | Promise<Response> => withOrigin(c, (origin) => c.json(service.protectedResourceMetadata(origin)));
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource', '/mcp/.well-known/oauth-protected-resource']) {
    app.get(path, protectedResource);
  }
  const serverMetadata = (c: Context): Response | Promise<Response> => withOrigin(c, (origin) => c.json(service.authorizationServerMetadata(origin)));
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/oauth-authorization-server/mcp',
    '/.well-known/openid-configuration',
    '/.well-known/openid-configuration/mcp',
    '/mcp/.well-known/oauth-authorization-server',
    '/mcp/.well-known/openid-configuration',
  ]) {
    app.get(path, serverMetadata);
  }

  app.post('/register', (c) =>
    withOrigin(c, async () => {
      if (!registerBucket.take()) return tooMany(c);
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: 'invalid_client_metadata', error_description: 'The body must be a JSON object (RFC 7591)' }, 400);
      }
      try {
        return c.json(service.register(body), 201, { 'Cache-Control': 'no-store' });
      } catch (error) {
        return protocolError(c, error);
      }
    }),
  );

  app.get('/authorize', (c) =>
    withOrigin(c, (origin) => {
      try {
        const outcome = service.authorize(c.req.query(), origin);
        if (outcome.kind === 'redirect') return c.redirect(outcome.location, 302);
        const continueUrl = `/authorize/wait?id=${encodeURIComponent(outcome.consentId)}`;
        return html(c, waitingPage(service.waitingClientName(outcome.consentId) ?? 'A client', continueUrl), 200);
      } catch (error) {
        if (error instanceof AuthorizeDisplayError) return html(c, errorPage(error.title, error.detail), 400);
        throw error;
      }
    }),
  );

  // The waiting tab lands here every second; once decided it is sent on to the client once.
  app.get('/authorize/wait', (c) =>
    withOrigin(c, () => {
      const id = c.req.query('id') ?? '';
      const status = service.consentStatus(id, true);
      if (status.status === 'decided') return c.redirect(status.location, 302);
      if (status.status === 'unknown') {
        return html(c, errorPage('Sign-in request not found', 'This sign-in request has expired or was already completed. Start the sign-in again from your MCP client.'), 404);
      }
      return html(c, waitingPage(service.waitingClientName(id) ?? 'A client', `/authorize/wait?id=${encodeURIComponent(id)}`), 200);
    }),
  );

  app.get('/authorize/status', (c) =>
    withOrigin(c, () => {
      const status = service.consentStatus(c.req.query('id') ?? '', false);
      return c.json({ status: status.status }, status.status === 'unknown' ? 404 : 200, { 'Cache-Control': 'no-store' });
    }),
  );

  app.post('/token', (c) =>
    withOrigin(c, async (origin) => {
      if (!tokenBucket.take()) return tooMany(c);
      try {
        const { form, credentials } = await readForm(c);
        const tokens = await service.token(form, credentials, origin);
        return c.json(tokens, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      } catch (error) {
        return protocolError(c, error);
      }
    }),
  );

  app.post('/revoke', (c) =>
    withOrigin(c, async (origin) => {
      if (!tokenBucket.take()) return tooMany(c);
      try {
        const { form, credentials } = await readForm(c);
        await service.revoke(form, credentials, origin);
        return c.body(null, 200, { 'Cache-Control': 'no-store' });
      } catch (error) {
        return protocolError(c, error);
      }
    }),
  );

  return app;
}

/** Everything the gateway needs for OAuth: `new Gateway({ home, ...oauthGatewayOptions(service) })`. */
export function oauthGatewayOptions(
  service: OAuthService,
  options: Omit<OAuthRoutesDeps, 'service'> = {},
): { authenticators: Authenticator[]; routes: (app: Hono<GatewayEnv>) => void; mcpMiddleware: MiddlewareHandler[] } {
  const routes = createOAuthRoutes({ service, ...options });
  return {
    authenticators: [new OAuthAuthenticator(service)],
    routes: (app) => {
      app.route('/', routes);
    },
    mcpMiddleware: [oauthCors(options.corsOrigins)],
  };
}

function html(c: Context, body: string, status: 200 | 400 | 404): Response {
  return c.html(body, status, { 'Content-Security-Policy': CONSENT_PAGE_CSP, 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' });
}

function tooMany(c: Context): Response {
  return c.json({ error: 'slow_down', error_description: 'Too many requests; wait a few seconds and try again' }, 429, { 'Retry-After': '2' });
}

function protocolError(c: Context, error: unknown): Response {
  if (error instanceof OAuthProtocolError) {
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (error.status === 401 && c.req.header('authorization')?.startsWith('Basic ')) headers['WWW-Authenticate'] = 'Basic realm="gatehouse"';
    return c.json(error.toJSON(), error.status as 400 | 401, headers);
  }
  throw error;
}

/** Reads an `application/x-www-form-urlencoded` body and the client's credentials (body or HTTP Basic). */
async function readForm(c: Context): Promise<{ form: Record<string, string | undefined>; credentials: ClientCredentials }> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthProtocolError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const params = new URLSearchParams(await c.req.text());
  const form: Record<string, string | undefined> = {};
  for (const [key, value] of params) {
    if (key in form) throw new OAuthProtocolError('invalid_request', `parameter ${key} appears more than once`);
    form[key] = value;
  }
  const authorization = c.req.header('authorization');
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthProtocolError('invalid_client', 'malformed HTTP Basic credentials', 401);
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    const clientId = formDecoded(decoded.slice(0, colon));
    const clientSecret = formDecoded(decoded.slice(colon + 1));
    if (clientId === undefined || clientSecret === undefined) throw new OAuthProtocolError('invalid_client', 'malformed HTTP Basic credentials (bad percent-encoding)', 401);
    if (form.client_id !== undefined && form.client_id !== clientId) throw new OAuthProtocolError('invalid_request', 'client_id differs between body and Authorization header');
    return { form, credentials: { clientId, clientSecret } };
  }
  return { form, credentials: { clientId: form.client_id, clientSecret: form.client_secret } };
}

/** A form-urlencoded credential part, or undefined when its percent-encoding is broken (`%zz`). */
function formDecoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
