import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { Command } from 'commander';
import { Hono } from 'hono';
import { probeGatehouse } from '../core/gateway/gateway';
import { hostAndOriginGuard } from '../core/gateway/guards';
import { loadServers, type HttpServerConfig } from '../core/upstreams/serversConfig';
import { SIGN_IN_TTL_MS, signOut, startSignIn, upstreamCallbackUrl, UpstreamOAuthStore, usesOAuth } from '../core/upstreams/upstreamAuth';
import { createUpstreamCallbackRoutes } from '../core/upstreams/upstreamCallback';

export interface SignInCommandContext {
  readonly home: string;
  /** The gateway's port (GATEHOUSE_PORT or the default): the callback lands there. */
  readonly port: number;
  readonly out: (line: string) => void;
}

const POLL_MS = 250;

function httpServer(home: string, name: string): HttpServerConfig {
  const config = loadServers(home).get(name);
  if (!config) throw new Error(`There is no server named "${name}" in servers.json. Add it with: gatehouse servers add ${name} --url <url>`);
  if (config.type !== 'http') throw new Error(`"${name}" is a ${config.type === 'stdio' ? 'stdio' : 'built-in'} server; only HTTP servers sign in.`);
  if (!usesOAuth(config)) throw new Error(`"${name}" sends its own Authorization header from servers.json; remove that header to let Gatehouse sign in with OAuth instead.`);
  return config;
}

/**
 * Listens for the callback itself when no gateway runs, on the gateway's own port, so the
 * redirect URI is the same one either way (a pre-registered app needs only that one).
 */
async function listenForCallback(home: string, port: number): Promise<ServerType> {
  const app = new Hono<{ Variables: { origin: string } }>();
  app.use('*', hostAndOriginGuard(() => port));
  app.route('/', createUpstreamCallbackRoutes(home));
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${port} on 127.0.0.1 is used by another program, so the sign-in cannot come back there. Set GATEHOUSE_PORT to the port your Gatehouse uses, or free the port.`) : error),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

async function waitForOutcome(store: UpstreamOAuthStore): Promise<{ ok: boolean; message?: string }> {
  const deadline = Date.now() + SIGN_IN_TTL_MS;
  for (;;) {
    const outcome = store.read().outcome;
    if (outcome) return outcome;
    if (Date.now() > deadline) return { ok: false, message: `No sign-in arrived within ${SIGN_IN_TTL_MS / 60_000} minutes.` };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `gatehouse login <server>` and `gatehouse logout <server>`: the human's sign-in to an OAuth upstream. */
export function registerSignInCommands(program: Command, ctx: SignInCommandContext): void {
  program
    .command('login <server>')
    .description('Sign in to an HTTP upstream that needs OAuth: prints a URL to open in your browser and waits until you have signed in. Works with or without a running gateway.')
    .action(async (name: string) => {
      const config = httpServer(ctx.home, name);
      const running = await probeGatehouse(ctx.port);
      const listener = running ? undefined : await listenForCallback(ctx.home, ctx.port);
      const port = listener ? (listener.address() as AddressInfo).port : ctx.port;
      try {
        const { authorizationUrl } = await startSignIn({ home: ctx.home, server: name, config, redirectUrl: upstreamCallbackUrl(port) });
        // One write, so a reader that acts on the URL line has the waiting line too.
        ctx.out(`Open this URL to sign in to ${name}: ${authorizationUrl}\nWaiting for the browser to come back (up to ${SIGN_IN_TTL_MS / 60_000} minutes; Ctrl-C stops). If the provider shows an error page instead of asking you to allow access (an unknown client, a redirect URI it does not accept), check "oauth" for ${name} in servers.json.`);
        const outcome = await waitForOutcome(new UpstreamOAuthStore(ctx.home, name, config.url));
        if (!outcome.ok) throw new Error(outcome.message ?? `The sign-in to ${name} did not complete.`);
        ctx.out(`Signed in to ${name}.${running ? ' The running gateway is connecting to it.' : ' The gateway uses this sign-in when it starts.'}`);
      } finally {
        await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
      }
    });

  program
    .command('logout <server>')
    .description('Sign out of an HTTP upstream: revokes its tokens where the provider offers revocation (RFC 7009) and forgets them.')
    .action(async (name: string) => {
      const config = httpServer(ctx.home, name);
      const { revoked, hadTokens } = await signOut({ home: ctx.home, server: name, config });
      if (!hadTokens) ctx.out(`Gatehouse was not signed in to ${name}; nothing to revoke.`);
      else ctx.out(`Signed out of ${name}: ${revoked ? 'the provider revoked the tokens' : 'the provider offers no revocation, so the tokens were forgotten (they expire on their own)'}.`);
    });
}
