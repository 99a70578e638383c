import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { Gateway } from '../../src/core/gateway/gateway';
import { answerConsent, browseAuthorization, MemoryOAuthProvider, tempHome } from '../helpers/oauthTestKit';

async function startGateway(home: string, port: number): Promise<{ gateway: Gateway; broker: ConsentBroker; service: OAuthService }> {
  const broker = new ConsentBroker();
  const service = new OAuthService({ home, consent: broker });
  const gateway = new Gateway({ home, port, ...oauthGatewayOptions(service) });
  await gateway.start();
  return { gateway, broker, service };
}

async function callListIntegrations(url: string, provider: MemoryOAuthProvider): Promise<unknown> {
  const client = new Client({ name: 'oauth-sdk-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  try {
    const result = await client.callTool({ name: 'list_integrations', arguments: {} });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    return result;
  } finally {
    await client.close();
  }
}

describe('OAuth with the MCP SDK client, end to end through the gateway', function () {
  this.timeout(60_000);
  const home = tempHome();
  let running: Awaited<ReturnType<typeof startGateway>> | undefined;

  after(async () => {
    await running?.gateway.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('signs in from a 401, calls list_integrations, refreshes, and survives a gateway restart', async () => {
    running = await startGateway(home, 0);
    const { gateway, broker } = running;
    const port = gateway.port;
    const consent = answerConsent(broker, 'allow');
    const provider = new MemoryOAuthProvider('http://127.0.0.1:49999/callback');

    // 1. An unauthenticated connect hits the 401, discovers, registers and asks for authorization.
    const client = new Client({ name: 'oauth-sdk-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
    await assert.rejects(client.connect(transport), UnauthorizedError);
    assert.ok(provider.client?.client_id, 'the client registered dynamically');
    const authorizationUrl = provider.lastAuthorizationUrl!;
    assert.equal(authorizationUrl.origin, `http://127.0.0.1:${port}`);
    assert.equal(authorizationUrl.searchParams.get('resource'), `http://127.0.0.1:${port}/mcp`);
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');

    // 2. The browser tab waits for the human, then lands on the client's redirect URI.
    const callback = await browseAuthorization(authorizationUrl.href);
    assert.equal(consent.requests.length, 1);
    assert.equal(consent.requests[0]!.clientName, 'SDK test client');
    assert.equal(consent.requests[0]!.redirectHost, '127.0.0.1:49999');
    assert.equal(callback.searchParams.get('iss'), `http://127.0.0.1:${port}`);
    await transport.finishAuth(callback.searchParams.get('code')!);

    const firstAccess = provider.stored!.access_token;
    const claims = decodeJwt(firstAccess);
    assert.equal(claims.aud, `http://127.0.0.1:${port}/mcp`);
    assert.equal(claims.iss, `http://127.0.0.1:${port}`);
    assert.equal(claims.client_id, provider.client!.client_id);
    assert.equal(claims.scope, 'mcp');

    // 3. The token opens /mcp.
    await callListIntegrations(gateway.url, provider);

    // 4. A refresh rotates both tokens, without asking the human again.
    assert.equal(await auth(provider, { serverUrl: gateway.url }), 'AUTHORIZED');
    assert.notEqual(provider.stored!.access_token, firstAccess);
    await callListIntegrations(gateway.url, provider);
    assert.equal(consent.requests.length, 1, 'consent is remembered');

    // 5. A new gateway on the same home and port accepts the token it did not issue itself.
    await gateway.stop();
    // Lets the client's pooled keep-alive sockets see the close, so no request lands on a dead one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    running = await startGateway(home, port);
    await callListIntegrations(running.gateway.url, provider);
    assert.equal(await auth(provider, { serverUrl: running.gateway.url }), 'AUTHORIZED', 'the refresh token survives the restart');
    await callListIntegrations(running.gateway.url, provider);

    const clients = running.service.listClients();
    assert.equal(clients.length, 1);
    assert.equal(clients[0]!.clientName, 'SDK test client');
    assert.ok(clients[0]!.lastUsedAt);
  });

  it('keeps its secrets in 0600 files under the Gatehouse home', () => {
    for (const name of ['oauth-clients.json', 'oauth-tokens.json', 'oauth-signing-key.json']) {
      const mode = fs.statSync(path.join(home, name)).mode & 0o777;
      assert.equal(mode, 0o600, `${name} has mode ${mode.toString(8)}`);
    }
  });
});
