import { Hono } from 'hono';
import { html } from 'hono/html';
import { completeSignIn, UPSTREAM_CALLBACK_PATH, type SignInResult } from './upstreamAuth';
import { loadServers, type HttpServerConfig } from './serversConfig';

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The HTTP upstreams in servers.json, read afresh: a sign-in may have started in another process. */
export function httpServers(home: string): Map<string, HttpServerConfig> {
  const servers = new Map<string, HttpServerConfig>();
  for (const [name, config] of loadServers(home)) if (config.type === 'http') servers.set(name, config);
  return servers;
}

function resultPage(result: SignInResult): ReturnType<typeof html> {
  const title = result.ok ? `Signed in to ${result.server}` : 'Sign-in did not complete';
  const detail = result.ok ? 'Gatehouse is connecting to it now; every agent that uses Gatehouse shares this sign-in. You can close this tab.' : result.message;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Gatehouse</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>${title}</h1><p>${detail}</p></body></html>`;
}

/**
 * Where an upstream's authorization server sends the browser back after the human signed in.
 * Mounted on the gateway, and on the small listener `gatehouse login` runs when no gateway is up.
 * The state in the query is the only key: it names a sign-in the human started, once.
 */
export function createUpstreamCallbackRoutes(home: string, onResult?: (result: SignInResult) => void): Hono {
  const app = new Hono();
  app.get(UPSTREAM_CALLBACK_PATH, async (c) => {
    const query = c.req.query();
    let result: SignInResult;
    try {
      result = await completeSignIn({ home, servers: httpServers(home), query });
    } catch (error) {
      result = { ok: false, message: `Gatehouse could not finish the sign-in: ${error instanceof Error ? error.message : String(error)}` };
    }
    onResult?.(result);
    c.header('content-security-policy', PAGE_CSP);
    c.header('cache-control', 'no-store');
    c.header('referrer-policy', 'no-referrer');
    return c.html(resultPage(result), result.ok ? 200 : 400);
  });
  return app;
}
