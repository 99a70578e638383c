import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import { Gateway } from '../../src/core/gateway/gateway';
import { answerConsent, browseAuthorization, MemoryOAuthProvider, tempHome } from '../helpers/oauthTestKit';

describe('OAuth with the MCP SDK client on /mcp/<server>', function () {
  this.timeout(60_000);
  const home = tempHome();
  let gateway: Gateway | undefined;
  let broker: ConsentBroker | undefined;

  after(async () => {
    await gateway?.stop();
    broker?.dispose();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('signs in from the 401 of a per-server endpoint and then lists that server\u2019s tools under their own names', async () => {
    broker = new ConsentBroker();
    const service = new OAuthService({ home, consent: broker });
    gateway = new Gateway({ home, port: 0, ...oauthGatewayOptions(service) });
    await gateway.start();
    await gateway.upstreams.settled();
    answerConsent(broker, 'allow');
    const url = gateway.endpointUrl('demo');
    const provider = new MemoryOAuthProvider('http://127.0.0.1:49998/callback');

    const first = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    await assert.rejects(new Client({ name: 'oauth-server-endpoint', version: '1.0.0' }).connect(first), UnauthorizedError);
    const callback = await browseAuthorization(provider.lastAuthorizationUrl!.href);
    await first.finishAuth(callback.searchParams.get('code')!);

    const client = new Client({ name: 'oauth-server-endpoint', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('echo'), names.join(', '));
      assert.ok(!names.some((n) => n.startsWith('demo__')));
    } finally {
      await client.close();
    }
  });
});
