import type { Context, MiddlewareHandler } from 'hono';

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function jsonError(c: Context, status: 400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 503, error: string, description: string): Response {
  return c.json({ error, error_description: description }, status);
}

/**
 * Parses `host[:port]` into a hostname and port. IPv6 literals keep their brackets, as they
 * appear in URLs.
 */
function splitHost(host: string): { hostname: string; port: string } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return undefined;
  return { hostname: match[1].toLowerCase(), port: match[2] ?? '' };
}

function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTNAMES.has(url.hostname.toLowerCase());
}

/**
 * DNS-rebinding defence (MCP transport spec, "Security Warning"): the Host header must name a
 * loopback address with our port, and a browser Origin, when present, must be loopback too.
 * The validated origin is stored for building URLs, since `localhost` and `127.0.0.1` are
 * different origins to OAuth clients.
 */
export function hostAndOriginGuard(port: () => number): MiddlewareHandler<{ Variables: { origin: string } }> {
  return async (c, next) => {
    const host = c.req.header('host');
    const parts = host ? splitHost(host) : undefined;
    if (!parts || !LOOPBACK_HOSTNAMES.has(parts.hostname) || parts.port !== String(port())) {
      return jsonError(c, 403, 'forbidden_host', `Gatehouse only answers requests addressed to 127.0.0.1:${port()} or localhost:${port()}.`);
    }
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== 'null' && !isLoopbackOrigin(origin)) {
      return jsonError(c, 403, 'forbidden_origin', `Requests from the web origin ${origin} are not allowed; Gatehouse only accepts loopback origins.`);
    }
    if (origin === 'null') return jsonError(c, 403, 'forbidden_origin', 'Requests from an opaque origin are not allowed.');
    c.set('origin', `http://${parts.hostname}:${parts.port}`);
    await next();
  };
}
