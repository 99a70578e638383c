import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigFileError } from '../../src/core/store/files';
import { loadServers, type HttpServerConfig } from '../../src/core/upstreams/serversConfig';
import { completeSignIn, describeSignIn, SignInRequiredError, UpstreamOAuthProvider, UpstreamOAuthStore } from '../../src/core/upstreams/upstreamAuth';
import { tempDir, writeServers } from '../helpers/gatewayHarness';

const URL_A = 'https://mcp.example.com/mcp';

function httpConfig(oauth?: HttpServerConfig['oauth']): HttpServerConfig {
  return { type: 'http', url: URL_A, headers: {}, ...(oauth ? { oauth } : {}) };
}

function pendingSignIn(store: UpstreamOAuthStore, state = 'the-state', startedAt = new Date().toISOString()): void {
  store.update((s) => {
    s.pending = { state, codeVerifier: 'verifier', redirectUri: 'http://127.0.0.1:7337/oauth/upstream/callback', startedAt };
    s.discovery = { authorizationServerUrl: 'https://as.example.com', authorizationServerMetadata: { issuer: 'https://as.example.com', authorization_response_iss_parameter_supported: true } };
  });
}

describe('upstream OAuth: servers.json entries', () => {
  it('keeps a pre-registered client id, a ${env:…} secret and scopes', () => {
    const home = tempDir();
    writeServers(home, { gh: { type: 'http', url: URL_A, oauth: { clientId: 'Iv1.abc', clientSecret: '${env:GH_SECRET}', scopes: ['repo', 'read:org'] } } });
    assert.deepEqual(loadServers(home).get('gh'), { type: 'http', url: URL_A, headers: {}, oauth: { clientId: 'Iv1.abc', clientSecret: '${env:GH_SECRET}', scopes: ['repo', 'read:org'] } });
  });

  for (const [what, oauth, message] of [
    ['a secret without a client id', { clientSecret: 's' }, /oauth\.clientSecret needs oauth\.clientId/],
    ['a metadata document that is not https', { clientMetadataUrl: 'http://example.com/client.json' }, /https URL with a path/],
    ['a scope with a space', { scopes: ['a b'] }, /one scope, without spaces/],
    ['an unknown key', { clientid: 'x' }, /clientid/],
    ['client credentials without a client id', { grant: 'client_credentials', clientSecret: 's' }, /needs oauth\.clientId|clientSecret needs/],
    ['client credentials with neither secret nor key', { grant: 'client_credentials', clientId: 'c' }, /exactly one of oauth\.clientSecret and oauth\.privateKey/],
    ['a JWT bearer grant without an assertion', { grant: 'jwt_bearer', clientId: 'c' }, /exactly one of oauth\.assertion and oauth\.assertionFile/],
    ['an enterprise grant without its identity provider', { grant: 'enterprise', clientId: 'c', clientSecret: 's' }, /needs oauth\.idp/],
  ] as const) {
    it(`refuses ${what}, naming the field`, () => {
      const home = tempDir();
      writeServers(home, { gh: { type: 'http', url: URL_A, oauth } });
      assert.throws(() => loadServers(home), (error: unknown) => error instanceof ConfigFileError && message.test(error.message));
    });
  }
});

describe('upstream OAuth: the provider Gatehouse gives the SDK', () => {
  it('with a grant without a browser, has no redirect, never asks for a sign-in, and sends the grant', async () => {
    const home = tempDir();
    const provider = new UpstreamOAuthProvider(new UpstreamOAuthStore(home, 'svc', URL_A), httpConfig({ grant: 'client_credentials', clientId: 'svc', clientSecret: 's' }), () => 'http://127.0.0.1:1/cb', 'background');
    assert.equal(provider.redirectUrl, undefined);
    assert.equal(String(await provider.prepareTokenRequest?.('read')), 'grant_type=client_credentials&scope=read');
    assert.doesNotThrow(() => provider.saveTokens({ access_token: 'a', token_type: 'Bearer' }));
    assert.equal(describeSignIn(home, 'svc', httpConfig({ grant: 'client_credentials', clientId: 'svc', clientSecret: 's' })), 'OAuth client credentials (no sign-in)');
  });


  it('never starts a sign-in in the background: no registration, no redirect', () => {
    const home = tempDir();
    const store = new UpstreamOAuthStore(home, 'gh', URL_A);
    const provider = new UpstreamOAuthProvider(store, httpConfig(), () => 'http://127.0.0.1:1/cb', 'background');
    assert.throws(() => provider.clientInformation(), SignInRequiredError);
    store.update((s) => {
      s.client = { client_id: 'dcr-client', redirect_uris: ['http://127.0.0.1:1/cb'] };
    });
    assert.equal(provider.clientInformation()?.client_id, 'dcr-client');
    assert.throws(() => provider.redirectToAuthorization(new URL('https://as.example.com/authorize')), SignInRequiredError);
  });

  it('ignores stored tokens in a sign-in the human started, and registers again when the gateway port changed', () => {
    const home = tempDir();
    const store = new UpstreamOAuthStore(home, 'gh', URL_A);
    store.update((s) => {
      s.client = { client_id: 'dcr-client', redirect_uris: ['http://127.0.0.1:1/cb'] };
      s.tokens = { access_token: 'old', token_type: 'Bearer' };
    });
    const provider = new UpstreamOAuthProvider(store, httpConfig(), () => 'http://127.0.0.1:2/cb', 'interactive');
    assert.equal(provider.tokens(), undefined);
    assert.equal(provider.clientInformation(), undefined);
  });

  it('reads a pre-registered secret from the environment and never writes it to the token file', () => {
    const home = tempDir();
    process.env.GATEHOUSE_TEST_SECRET = 's3cret';
    try {
      const store = new UpstreamOAuthStore(home, 'gh', URL_A);
      const provider = new UpstreamOAuthProvider(store, httpConfig({ clientId: 'Iv1.abc', clientSecret: '${env:GATEHOUSE_TEST_SECRET}' }), () => 'http://127.0.0.1:1/cb', 'exchange');
      assert.deepEqual(provider.clientInformation(), { client_id: 'Iv1.abc', client_secret: 's3cret' });
      provider.saveClientInformation({ client_id: 'Iv1.abc', client_secret: 's3cret' });
      provider.saveTokens({ access_token: 'at', token_type: 'Bearer', expires_in: 60 });
      const written = fs.readFileSync(store.path, 'utf8');
      assert.ok(!written.includes('s3cret'));
      assert.equal(fs.statSync(store.path).mode & 0o777, 0o600);
      assert.equal(path.dirname(store.path), path.join(home, 'upstream-oauth'));
    } finally {
      delete process.env.GATEHOUSE_TEST_SECRET;
    }
  });

  it('refuses authorization server metadata whose issuer is not the one it was looked up for (RFC 8414 §3.3)', () => {
    const provider = new UpstreamOAuthProvider(new UpstreamOAuthStore(tempDir(), 'gh', URL_A), httpConfig(), () => '', 'interactive');
    assert.throws(
      () => provider.saveDiscoveryState({ authorizationServerUrl: 'https://as.example.com', authorizationServerMetadata: { issuer: 'https://evil.example.com', authorization_endpoint: 'https://evil.example.com/a', token_endpoint: 'https://evil.example.com/t', response_types_supported: ['code'] } }),
      /names another issuer/,
    );
    provider.saveDiscoveryState({ authorizationServerUrl: 'https://as.example.com/', authorizationServerMetadata: { issuer: 'https://as.example.com', authorization_endpoint: 'https://as.example.com/a', token_endpoint: 'https://as.example.com/t', response_types_supported: ['code'] } });
  });

  it('forgets what it stored when servers.json points the server at another URL', () => {
    const home = tempDir();
    new UpstreamOAuthStore(home, 'gh', URL_A).update((s) => {
      s.tokens = { access_token: 'at', token_type: 'Bearer' };
    });
    assert.equal(new UpstreamOAuthStore(home, 'gh', 'https://other.example.com/mcp').read().tokens, undefined);
    assert.equal(describeSignIn(home, 'gh', httpConfig()), 'signed in');
  });
});

describe('upstream OAuth: the callback', () => {
  const servers = (): Map<string, HttpServerConfig> => new Map([['gh', httpConfig()]]);

  it('accepts nothing without a state it issued, and a state only once', async () => {
    const home = tempDir();
    const store = new UpstreamOAuthStore(home, 'gh', URL_A);
    assert.deepEqual(await completeSignIn({ home, servers: servers(), query: { code: 'c' } }), { ok: false, message: 'The sign-in response has no state; start the sign-in again from Gatehouse.' });
    pendingSignIn(store);
    const forged = await completeSignIn({ home, servers: servers(), query: { state: 'another-state', code: 'c', iss: 'https://as.example.com' } });
    assert.equal(forged.ok, false);
    assert.ok(store.read().pending, 'a wrong state leaves the real sign-in waiting');
    await completeSignIn({ home, servers: servers(), query: { state: 'the-state', error: 'access_denied' } });
    const replay = await completeSignIn({ home, servers: servers(), query: { state: 'the-state', code: 'c', iss: 'https://as.example.com' } });
    assert.match(replay.ok ? '' : replay.message, /unknown or was already used/);
  });

  it('reports denied consent to whoever waits for the sign-in', async () => {
    const home = tempDir();
    const store = new UpstreamOAuthStore(home, 'gh', URL_A);
    pendingSignIn(store);
    const result = await completeSignIn({ home, servers: servers(), query: { state: 'the-state', error: 'access_denied' } });
    assert.deepEqual(result, { ok: false, server: 'gh', message: 'The sign-in to gh did not complete (consent was denied).' });
    assert.equal(store.read().outcome?.message, 'The sign-in to gh did not complete (consent was denied).');
  });

  for (const [what, iss, message] of [
    ['from another issuer', 'https://evil.example.com', /came from "https:\/\/evil\.example\.com"/],
    ['without the promised issuer', undefined, /lacks the issuer/],
  ] as const) {
    it(`refuses a response ${what} (RFC 9207) before exchanging the code`, async () => {
      const home = tempDir();
      const store = new UpstreamOAuthStore(home, 'gh', URL_A);
      pendingSignIn(store);
      const result = await completeSignIn({ home, servers: servers(), query: { state: 'the-state', code: 'c', ...(iss ? { iss } : {}) }, fetchFn: () => Promise.reject(new Error('no request may be made')) });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.message, message);
    });
  }

  it('refuses a sign-in that was started too long ago', async () => {
    const home = tempDir();
    pendingSignIn(new UpstreamOAuthStore(home, 'gh', URL_A), 'the-state', new Date(Date.now() - 11 * 60_000).toISOString());
    const result = await completeSignIn({ home, servers: servers(), query: { state: 'the-state', code: 'c', iss: 'https://as.example.com' } });
    assert.match(result.ok ? '' : result.message, /took longer than 10 minutes/);
  });
});
