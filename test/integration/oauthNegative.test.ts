import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { generateKeyPair, SignJWT, decodeJwt, UnsecuredJWT } from 'jose';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { Gateway } from '../../src/core/gateway/gateway';
import { browseAuthorization, pkcePair, tempHome } from '../helpers/oauthTestKit';

const INSPECTOR = 'http://localhost:6274';

/** A gateway with OAuth, a movable clock, and a human who always answers `decision`. */
class Fixture {
  clock = Date.now();
  readonly home = tempHome();
  readonly broker = new ConsentBroker();
  readonly service = new OAuthService({ home: this.home, consent: this.broker, now: () => this.clock, refreshReuseGraceMs: 5_000 });
  readonly gateway = new Gateway({
    home: this.home,
    port: 0,
    ...oauthGatewayOptions(this.service, { rateLimits: { register: { capacity: 1000, refillPerSecond: 100 }, token: { capacity: 1000, refillPerSecond: 100 } } }),
  });
  decision: 'allow' | 'deny' = 'allow';

  constructor() {
    this.broker.on('consentRequested', (request) => this.broker.decide(request.id, this.decision));
  }

  get base(): string {
    return `http://127.0.0.1:${this.gateway.port}`;
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect: string;
}

async function register(base: string, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const redirect = 'http://127.0.0.1:40001/callback';
  const response = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Negative test', redirect_uris: [redirect], token_endpoint_auth_method: 'none', ...metadata }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return { ...((await response.json()) as { client_id: string; client_secret?: string }), redirect };
}

function authorizeUrl(base: string, client: RegisteredClient, challenge: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
    resource: `${base}/mcp`,
    ...extra,
  });
  return `${base}/authorize?${params}`;
}

async function getCode(base: string, client: RegisteredClient, extra: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const callback = await browseAuthorization(authorizeUrl(base, client, challenge, extra));
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback.href}`);
  return { code, verifier };
}

async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

async function exchange(base: string, client: RegisteredClient, code: string, verifier: string, extra: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return postForm(`${base}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect, client_id: client.client_id, ...extra });
}

async function signIn(base: string, client?: RegisteredClient): Promise<{ client: RegisteredClient; access: string; refresh: string }> {
  const registered = client ?? (await register(base));
  const { code, verifier } = await getCode(base, registered);
  const tokens = await exchange(base, registered, code, verifier);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return { client: registered, access: tokens.body.access_token as string, refresh: tokens.body.refresh_token as string };
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'negative', version: '1' } } };

async function callMcp(base: string, token?: string): Promise<Response> {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(INITIALIZE),
  });
}

async function assertRefusedOnMcp(base: string, token: string, status = 401, error = 'invalid_token'): Promise<void> {
  const response = await callMcp(base, token);
  assert.equal(response.status, status);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer resource_metadata="[^"]+", scope="mcp"/);
  assert.match(response.headers.get('www-authenticate') ?? '', new RegExp(`error="${error}"`));
  assert.equal(((await response.json()) as { error: string }).error, error);
}

function rawRequest(port: number, headers: Record<string, string | undefined>, pathname = '/.well-known/oauth-authorization-server'): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: pathname, method: 'GET', setHost: false, headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string> }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('OAuth refusals: each bad request gets the right error', function () {
  this.timeout(30_000);
  let fx: Fixture;

  beforeEach(async () => {
    fx = new Fixture();
    await fx.gateway.start();
  });
  afterEach(async () => fx.stop());

  describe('registration', () => {
    it('refuses a plain-http redirect URI that is not loopback', async () => {
      const response = await fetch(`${fx.base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://evil.example/cb'] }) });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_redirect_uri');
    });

    it('refuses a body that is not JSON', async () => {
      const response = await fetch(`${fx.base}/register`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'redirect_uris=x' });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client_metadata');
    });

    it('refuses a grant type it does not offer', async () => {
      const response = await fetch(`${fx.base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], grant_types: ['client_credentials'] }),
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client_metadata');
    });

    it('issues a secret only to clients that authenticate, and ignores unknown metadata', async () => {
      const publicClient = await register(fx.base, { some_future_field: true });
      assert.equal(publicClient.client_secret, undefined);
      const confidential = await register(fx.base, { token_endpoint_auth_method: 'client_secret_basic' });
      assert.ok(confidential.client_secret);
    });

    it('refuses registrations beyond the rate limit with 429', async () => {
      const limited = new Fixture();
      const gateway = new Gateway({ home: limited.home, port: 0, ...oauthGatewayOptions(limited.service, { rateLimits: { register: { capacity: 2, refillPerSecond: 0.001 } } }) });
      await gateway.start();
      try {
        const base = `http://127.0.0.1:${gateway.port}`;
        await register(base);
        await register(base);
        const third = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/cb'] }) });
        assert.equal(third.status, 429);
        assert.equal(((await third.json()) as { error: string }).error, 'slow_down');
      } finally {
        await gateway.stop();
        fs.rmSync(limited.home, { recursive: true, force: true });
      }
    });
  });

  describe('authorization', () => {
    it('shows an error page, never a redirect, for an unknown client', async () => {
      const response = await fetch(authorizeUrl(fx.base, { client_id: 'gh_nope', redirect: 'http://127.0.0.1:40001/callback' }, pkcePair().challenge), { redirect: 'manual' });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('location'), null);
      assert.match(await response.text(), /Unknown client/);
    });

    it('shows an error page, never a redirect, for a redirect URI the client did not register', async () => {
      const client = await register(fx.base);
      const response = await fetch(authorizeUrl(fx.base, { ...client, redirect: 'https://attacker.example/callback' }, pkcePair().challenge), { redirect: 'manual' });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('location'), null);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    });

    it('accepts another loopback port for the registered redirect URI (RFC 8252) but not another path', async () => {
      const client = await register(fx.base);
      const otherPort = await browseAuthorization(authorizeUrl(fx.base, { ...client, redirect: 'http://127.0.0.1:40999/callback' }, pkcePair().challenge));
      assert.equal(otherPort.port, '40999');
      const otherPath = await fetch(authorizeUrl(fx.base, { ...client, redirect: 'http://127.0.0.1:40001/elsewhere' }, pkcePair().challenge), { redirect: 'manual' });
      assert.equal(otherPath.status, 400);
    });

    const redirectErrors: Array<[string, Record<string, string>, string]> = [
      ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request'],
      ['a missing PKCE challenge', { code_challenge: '' }, 'invalid_request'],
      ['a resource that is not this server', { resource: 'http://127.0.0.1:1/mcp' }, 'invalid_target'],
      ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
      ['a scope it does not offer', { scope: 'admin' }, 'invalid_scope'],
    ];
    for (const [what, params, error] of redirectErrors) {
      it(`redirects with error=${error} for ${what}, with state and iss`, async () => {
        const client = await register(fx.base);
        const response = await fetch(authorizeUrl(fx.base, client, pkcePair().challenge, params), { redirect: 'manual' });
        assert.equal(response.status, 302);
        const location = new URL(response.headers.get('location')!);
        assert.equal(location.searchParams.get('error'), error);
        assert.equal(location.searchParams.get('state'), 'st-1');
        assert.equal(location.searchParams.get('iss'), fx.base);
        assert.equal(location.searchParams.get('code'), null);
      });
    }

    it('redirects with error=access_denied when the human denies', async () => {
      fx.decision = 'deny';
      const client = await register(fx.base);
      const callback = await browseAuthorization(authorizeUrl(fx.base, client, pkcePair().challenge));
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('state'), 'st-1');
      assert.equal(fx.service.clients.get(client.client_id)?.consent, undefined, 'a denial is not remembered as consent');
    });

    it('does not skip consent: without a decision the tab keeps waiting', async () => {
      const quiet = new ConsentBroker();
      const home = tempHome();
      const service = new OAuthService({ home, consent: quiet });
      const gateway = new Gateway({ home, port: 0, ...oauthGatewayOptions(service) });
      await gateway.start();
      try {
        const base = `http://127.0.0.1:${gateway.port}`;
        const client = await register(base);
        const page = await fetch(authorizeUrl(base, client, pkcePair().challenge), { redirect: 'manual' });
        assert.equal(page.status, 200);
        assert.match(await page.text(), /Waiting for approval in your editor/);
        const [pending] = quiet.pending();
        assert.ok(pending);
        const status = await fetch(`${base}/authorize/status?id=${pending.id}`);
        assert.deepEqual(await status.json(), { status: 'pending' });
        const again = await fetch(`${base}/authorize/wait?id=${pending.id}`, { redirect: 'manual' });
        assert.equal(again.status, 200);
        quiet.decide(pending.id, 'allow');
        await new Promise((resolve) => setImmediate(resolve));
        const done = await fetch(`${base}/authorize/wait?id=${pending.id}`, { redirect: 'manual' });
        assert.equal(done.status, 302);
      } finally {
        await gateway.stop();
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  });

  describe('token endpoint', () => {
    it('refuses a wrong PKCE verifier with invalid_grant', async () => {
      const client = await register(fx.base);
      const { code } = await getCode(fx.base, client);
      const result = await exchange(fx.base, client, code, pkcePair().verifier);
      assert.equal(result.status, 400);
      assert.equal(result.body.error, 'invalid_grant');
    });

    it('refuses a reused code and revokes the tokens the first use produced', async () => {
      const client = await register(fx.base);
      const { code, verifier } = await getCode(fx.base, client);
      const first = await exchange(fx.base, client, code, verifier);
      assert.equal(first.status, 200);
      const second = await exchange(fx.base, client, code, verifier);
      assert.equal(second.body.error, 'invalid_grant');
      await assertRefusedOnMcp(fx.base, first.body.access_token as string);
    });

    it('refuses a code older than 60 seconds', async () => {
      const client = await register(fx.base);
      const { code, verifier } = await getCode(fx.base, client);
      fx.clock += 61_000;
      const result = await exchange(fx.base, client, code, verifier);
      assert.equal(result.body.error, 'invalid_grant');
      assert.match(String(result.body.error_description), /expired/);
    });

    it('refuses a redirect_uri that differs from the authorization request', async () => {
      const client = await register(fx.base);
      const { code, verifier } = await getCode(fx.base, client);
      const result = await exchange(fx.base, client, code, verifier, { redirect_uri: 'http://127.0.0.1:40002/callback' });
      assert.equal(result.body.error, 'invalid_grant');
    });

    it("refuses another client's code", async () => {
      const owner = await register(fx.base);
      const thief = await register(fx.base);
      const { code, verifier } = await getCode(fx.base, owner);
      const result = await exchange(fx.base, thief, code, verifier);
      assert.equal(result.body.error, 'invalid_grant');
    });

    it('refuses an unknown client with 401 invalid_client', async () => {
      const result = await postForm(`${fx.base}/token`, { grant_type: 'authorization_code', code: 'x', code_verifier: 'y', client_id: 'gh_unknown' });
      assert.equal(result.status, 401);
      assert.equal(result.body.error, 'invalid_client');
    });

    it('refuses a wrong client secret in HTTP Basic, and accepts the right one', async () => {
      const client = await register(fx.base, { token_endpoint_auth_method: 'client_secret_basic' });
      const { code, verifier } = await getCode(fx.base, client);
      const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect };
      const wrong = await postForm(`${fx.base}/token`, form, { authorization: `Basic ${Buffer.from(`${client.client_id}:nope`).toString('base64')}` });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/);
      const { code: code2, verifier: verifier2 } = await getCode(fx.base, client);
      const right = await postForm(
        `${fx.base}/token`,
        { ...form, code: code2, code_verifier: verifier2 },
        { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
      );
      assert.equal(right.status, 200, JSON.stringify(right.body));
      assert.equal(right.headers.get('cache-control'), 'no-store');
    });

    it('refuses an unsupported grant type and a JSON body', async () => {
      const client = await register(fx.base);
      const grant = await postForm(`${fx.base}/token`, { grant_type: 'password', client_id: client.client_id });
      assert.equal(grant.body.error, 'unsupported_grant_type');
      const json = await fetch(`${fx.base}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code' }) });
      assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
    });

    it('refuses a reused refresh token after the grace window and revokes its whole family', async () => {
      const { client, refresh } = await signIn(fx.base);
      const rotated = await postForm(`${fx.base}/token`, { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id });
      assert.equal(rotated.status, 200);
      fx.clock += 6_000;
      const replay = await postForm(`${fx.base}/token`, { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id });
      assert.equal(replay.body.error, 'invalid_grant');
      const successor = await postForm(`${fx.base}/token`, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token as string, client_id: client.client_id });
      assert.equal(successor.body.error, 'invalid_grant', 'the family is revoked');
      await assertRefusedOnMcp(fx.base, rotated.body.access_token as string);
    });

    it('tolerates two racing refreshes with the same token inside the grace window', async () => {
      const { client, refresh } = await signIn(fx.base);
      const form = { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id };
      const [a, b] = await Promise.all([postForm(`${fx.base}/token`, form), postForm(`${fx.base}/token`, form)]);
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
    });

    it('refuses a refresh that widens the scope', async () => {
      const { client, refresh } = await signIn(fx.base);
      const result = await postForm(`${fx.base}/token`, { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id, scope: 'mcp admin' });
      assert.equal(result.body.error, 'invalid_scope');
    });
  });

  describe('access tokens on /mcp', () => {
    it('answers a request without credentials with 401, the resource metadata URL and a JSON body', async () => {
      for (const method of ['GET', 'POST']) {
        const response = await fetch(`${fx.base}/mcp`, { method, headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify(INITIALIZE) : undefined });
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), `Bearer resource_metadata="${fx.base}/.well-known/oauth-protected-resource/mcp", scope="mcp"`);
        assert.ok(((await response.json()) as { error: string }).error);
      }
    });

    it('accepts a valid token on GET and POST', async () => {
      const { access } = await signIn(fx.base);
      const response = await callMcp(fx.base, access);
      assert.equal(response.status, 200);
      const get = await fetch(`${fx.base}/mcp`, { headers: { authorization: `Bearer ${access}`, accept: 'text/event-stream' } });
      assert.notEqual(get.status, 401);
    });

    it('refuses a token issued for another audience (localhost vs 127.0.0.1)', async () => {
      const { access } = await signIn(`http://localhost:${fx.gateway.port}`);
      assert.equal(decodeJwt(access).aud, `http://localhost:${fx.gateway.port}/mcp`);
      await assertRefusedOnMcp(fx.base, access);
    });

    it('refuses an expired token', async () => {
      const { access } = await signIn(fx.base);
      fx.clock += 3601_000;
      await assertRefusedOnMcp(fx.base, access);
    });

    it('refuses a token whose signature was tampered with', async () => {
      const { access } = await signIn(fx.base);
      const [header, payload, signature] = access.split('.');
      const claims = { ...decodeJwt(access), scope: 'mcp admin' };
      await assertRefusedOnMcp(fx.base, `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`);
      const flipped = signature!.slice(0, -2) + (signature!.endsWith('AA') ? 'BB' : 'AA');
      await assertRefusedOnMcp(fx.base, `${header}.${payload}.${flipped}`);
    });

    it('refuses an unsigned token (alg none)', async () => {
      const { access } = await signIn(fx.base);
      const unsigned = new UnsecuredJWT(decodeJwt(access)).encode();
      await assertRefusedOnMcp(fx.base, unsigned);
    });

    it('refuses a token signed by another key', async () => {
      const { access } = await signIn(fx.base);
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(decodeJwt(access)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
      await assertRefusedOnMcp(fx.base, forged);
    });

    it('answers 403 insufficient_scope for a valid token without the mcp scope', async () => {
      const { client } = await signIn(fx.base);
      const narrow = await fx.service.signer.sign({ issuer: fx.base, audience: `${fx.base}/mcp`, clientId: client.client_id, scope: 'profile', familyId: 'f1' });
      await assertRefusedOnMcp(fx.base, narrow.token, 403, 'insufficient_scope');
    });

    it('refuses every token of a revoked client, access and refresh', async () => {
      const { client, access, refresh } = await signIn(fx.base);
      assert.equal(fx.service.revokeClient(client.client_id), true);
      await assertRefusedOnMcp(fx.base, access);
      const result = await postForm(`${fx.base}/token`, { grant_type: 'refresh_token', refresh_token: refresh, client_id: client.client_id });
      assert.equal(result.body.error, 'invalid_client');
    });

    it('revokes through /revoke (RFC 7009): a revoked refresh token takes its access tokens with it', async () => {
      const { client, access, refresh } = await signIn(fx.base);
      const revoked = await postForm(`${fx.base}/revoke`, { token: refresh, client_id: client.client_id });
      assert.equal(revoked.status, 200);
      await assertRefusedOnMcp(fx.base, access);
      const unknown = await postForm(`${fx.base}/revoke`, { token: 'not-a-token', client_id: client.client_id });
      assert.equal(unknown.status, 200, 'unknown tokens are ignored');
    });

    it('revokes a single access token through /revoke', async () => {
      const { client, access } = await signIn(fx.base);
      await postForm(`${fx.base}/revoke`, { token: access, client_id: client.client_id, token_type_hint: 'access_token' });
      await assertRefusedOnMcp(fx.base, access);
    });
  });

  describe('discovery, Host and CORS', () => {
    it('serves the same metadata at every discovery path, built from the request Host', async () => {
      for (const base of [fx.base, `http://localhost:${fx.gateway.port}`]) {
        for (const pathname of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource', '/mcp/.well-known/oauth-protected-resource']) {
          const prm = (await (await fetch(base + pathname)).json()) as Record<string, unknown>;
          assert.equal(prm.resource, `${base}/mcp`);
          assert.deepEqual(prm.authorization_servers, [base]);
          assert.deepEqual(prm.scopes_supported, ['mcp']);
        }
        for (const pathname of [
          '/.well-known/oauth-authorization-server',
          '/.well-known/oauth-authorization-server/mcp',
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/mcp',
        ]) {
          const as = (await (await fetch(base + pathname)).json()) as Record<string, unknown>;
          assert.equal(as.issuer, base, 'issuer without trailing slash');
          assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
          assert.deepEqual(as.token_endpoint_auth_methods_supported, ['none', 'client_secret_post', 'client_secret_basic']);
          assert.equal(as.authorization_response_iss_parameter_supported, true);
          assert.equal(as.client_id_metadata_document_supported, undefined);
          assert.equal(as.token_endpoint, `${base}/token`);
        }
      }
    });

    it('refuses a foreign or missing Host before any OAuth route', async () => {
      assert.equal(await rawRequest(fx.gateway.port, { host: `127.0.0.1:${fx.gateway.port}` }), 200);
      assert.equal(await rawRequest(fx.gateway.port, { host: `evil.example:${fx.gateway.port}` }), 403);
      // Node's HTTP server itself answers 400 to an HTTP/1.1 request without Host; the guard never sees it.
      assert.ok([400, 403].includes(await rawRequest(fx.gateway.port, { host: undefined })));
      assert.equal(await rawRequest(fx.gateway.port, { host: `evil.example` }, '/register'), 403);
    });

    it("answers the Inspector's CORS preflight on /token and /mcp and exposes the MCP headers", async () => {
      for (const pathname of ['/token', '/register', '/mcp', '/.well-known/oauth-protected-resource/mcp']) {
        const preflight = await fetch(`${fx.base}${pathname}`, {
          method: 'OPTIONS',
          headers: { origin: INSPECTOR, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
        });
        assert.ok(preflight.status === 204 || preflight.status === 200, `${pathname}: ${preflight.status}`);
        assert.equal(preflight.headers.get('access-control-allow-origin'), INSPECTOR, pathname);
      }
      const unauthorized = await fetch(`${fx.base}/mcp`, { method: 'POST', headers: { origin: INSPECTOR, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(unauthorized.headers.get('access-control-allow-origin'), INSPECTOR);
      assert.match(unauthorized.headers.get('access-control-expose-headers') ?? '', /WWW-Authenticate/i);
      assert.match(unauthorized.headers.get('access-control-expose-headers') ?? '', /Mcp-Session-Id/i);
      const other = await fetch(`${fx.base}/token`, { method: 'OPTIONS', headers: { origin: 'http://localhost:9999', 'access-control-request-method': 'POST' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    });
  });
});
