import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Command } from 'commander';
import { registerAuthCommands } from '../../src/cli/authCommands';
import { ConsentBroker } from '../../src/core/auth/consent';
import type { ConsentRequest } from '../../src/core/auth/consent';
import { OAuthAuthenticator } from '../../src/core/auth/oauthAuthenticator';
import { ClientRegistry } from '../../src/core/auth/oauthClients';
import { TokenBucket } from '../../src/core/auth/oauthRoutes';
import { AuthorizeDisplayError, OAuthService } from '../../src/core/auth/oauthService';
import { ConfigFileError } from '../../src/core/store/files';
import { pkcePair, tempHome } from '../helpers/oauthTestKit';

const ORIGIN = 'http://127.0.0.1:7337';

function registerCodexLike(service: OAuthService, redirect = 'http://127.0.0.1:5555/callback'): string {
  return service.register({ client_name: 'Codex', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }).client_id as string;
}

function authorizeQuery(clientId: string, redirect: string): Record<string, string> {
  return { response_type: 'code', client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' };
}

describe('ConsentBroker', () => {
  it('raises consentRequested with an id and settles the promise with the human decision', async () => {
    const broker = new ConsentBroker();
    const seen: ConsentRequest[] = [];
    broker.on('consentRequested', (request) => seen.push(request));
    const decision = broker.request({ clientId: 'c1', clientName: 'Codex', redirectHost: '127.0.0.1:5555', scopes: ['mcp'] });
    assert.equal(seen.length, 1);
    assert.deepEqual(broker.pending().map((request) => request.id), [seen[0]!.id]);
    assert.equal(broker.decide(seen[0]!.id, 'allow'), true);
    assert.equal(await decision, 'allow');
    assert.deepEqual(broker.pending(), []);
  });

  it('refuses a decision for an unknown or already decided request', () => {
    const broker = new ConsentBroker();
    const ticket = broker.begin({ clientId: 'c1', clientName: 'Codex', redirectHost: 'h', scopes: [] });
    assert.equal(broker.decide('nope', 'allow'), false);
    assert.equal(broker.decide(ticket.id, 'deny'), true);
    assert.equal(broker.decide(ticket.id, 'allow'), false);
  });

  it('denies everything still waiting when disposed, rather than allowing it', async () => {
    const broker = new ConsentBroker();
    const decision = broker.request({ clientId: 'c1', clientName: 'Codex', redirectHost: 'h', scopes: [] });
    broker.dispose();
    assert.equal(await decision, 'deny');
  });
});

describe('OAuthService authorization rules', () => {
  let home: string;
  let service: OAuthService;
  beforeEach(() => {
    home = tempHome();
    service = new OAuthService({ home, consent: new ConsentBroker() });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('asks the human the first time, not again for the same redirect URI, and again for another port', async () => {
    const clientId = registerCodexLike(service);
    const asked: ConsentRequest[] = [];
    service.consent.on('consentRequested', (request) => {
      asked.push(request);
      service.consent.decide(request.id, 'allow');
    });
    const first = service.authorize(authorizeQuery(clientId, 'http://127.0.0.1:5555/callback'), ORIGIN);
    assert.equal(first.kind, 'waiting');
    await new Promise((resolve) => setImmediate(resolve));
    const second = service.authorize(authorizeQuery(clientId, 'http://127.0.0.1:5555/callback'), ORIGIN);
    assert.equal(second.kind, 'redirect');
    assert.equal(asked.length, 1);
    assert.deepEqual(service.clients.get(clientId)?.consent?.scopes, ['mcp']);
    // Another loopback port may be another program posing as this public client (RFC 8252 §8.6).
    const otherPort = service.authorize(authorizeQuery(clientId, 'http://127.0.0.1:6666/callback'), ORIGIN);
    assert.equal(otherPort.kind, 'waiting');
    assert.equal(asked.length, 2);
  });

  it('matches loopback redirects on any port, but keeps host and path exact', () => {
    const clientId = registerCodexLike(service, 'http://localhost:5555/cb');
    for (const ok of ['http://localhost:1/cb', 'http://localhost:65000/cb']) {
      assert.doesNotThrow(() => service.authorize(authorizeQuery(clientId, ok), ORIGIN));
    }
    for (const bad of ['http://127.0.0.1:5555/cb', 'http://localhost:5555/other', 'https://localhost:5555/cb', 'http://localhost.evil.example:5555/cb']) {
      assert.throws(() => service.authorize(authorizeQuery(clientId, bad), ORIGIN), AuthorizeDisplayError, bad);
    }
  });

  it('keeps https redirects exact, port included', () => {
    const clientId = service.register({ client_name: 'Web', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }).client_id as string;
    assert.throws(() => service.authorize(authorizeQuery(clientId, 'https://app.example:8443/cb'), ORIGIN), AuthorizeDisplayError);
  });

  it('refuses to register fragments and non-loopback http redirect URIs', () => {
    for (const uri of ['http://127.0.0.1:1/cb#frag', 'http://192.168.1.2/cb', 'http://127.0.0.2/cb']) {
      assert.throws(() => service.register({ redirect_uris: [uri] }), /invalid_redirect_uri|not allowed/, uri);
    }
  });

  it('persists clients in a 0600 file that a second process sees at once', () => {
    const clientId = registerCodexLike(service);
    assert.equal(fs.statSync(service.clients.file).mode & 0o777, 0o600);
    const other = new ClientRegistry(home);
    assert.equal(other.get(clientId)?.clientName, 'Codex');
    other.remove(clientId);
    assert.equal(service.clients.get(clientId), undefined, 'a revoke from the CLI reaches the running service');
  });

  it('reports a damaged client file instead of overwriting it', () => {
    fs.writeFileSync(service.clients.file, '{ not json');
    assert.throws(() => new ClientRegistry(home).list(), ConfigFileError);
    assert.equal(fs.readFileSync(service.clients.file, 'utf8'), '{ not json');
  });

  it('leaves opaque bearer tokens (API keys) to the next authenticator', async () => {
    const authenticator = new OAuthAuthenticator(service);
    const request = new Request(`${ORIGIN}/mcp`, { headers: { authorization: 'Bearer gh_key_abc' } });
    assert.equal(await authenticator.authenticate(request, ORIGIN), undefined);
    assert.equal(await authenticator.authenticate(new Request(`${ORIGIN}/mcp`), ORIGIN), undefined);
    assert.match(authenticator.challenge(ORIGIN), /resource_metadata="http:\/\/127\.0\.0\.1:7337\/\.well-known\/oauth-protected-resource\/mcp"/);
  });
});

describe('TokenBucket', () => {
  it('refuses once the burst is spent and refills with time', () => {
    let now = 0;
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, () => now);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    now += 1000;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });
});

describe('gatehouse clients list|revoke', () => {
  let home: string;
  let lines: string[];
  let program: Command;
  beforeEach(() => {
    home = tempHome();
    lines = [];
    program = new Command().exitOverride().configureOutput({ writeErr: (text) => lines.push(`ERR ${text.trim()}`), writeOut: (text) => lines.push(text.trim()) });
    registerAuthCommands(program, { home, out: (line) => lines.push(line) });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('says how to add a client when none has signed in', async () => {
    await program.parseAsync(['clients', 'list'], { from: 'user' });
    assert.match(lines.join('\n'), /codex mcp login gatehouse/);
  });

  it('lists name, creation and last use, and revokes by id so the tokens stop working', async () => {
    const service = new OAuthService({ home, consent: new ConsentBroker() });
    const clientId = registerCodexLike(service);
    await program.parseAsync(['clients', 'list'], { from: 'user' });
    assert.match(lines.join('\n'), new RegExp(`Codex  \\(${clientId}\\)`));
    assert.match(lines.join('\n'), /last used never/);
    lines.length = 0;
    await program.parseAsync(['clients', 'revoke', clientId], { from: 'user' });
    assert.match(lines.join('\n'), /Revoked Codex/);
    assert.equal(service.clients.get(clientId), undefined);
  });

  it('refuses to revoke an unknown id and says where to find the ids', async () => {
    await assert.rejects(program.parseAsync(['clients', 'revoke', 'gh_nope'], { from: 'user' }));
    assert.match(lines.join('\n'), /gatehouse clients list/);
  });
});
