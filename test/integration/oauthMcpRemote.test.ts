import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ConsentBroker } from '../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../src/core/auth/oauthService';
import type { Principal } from '../../src/core/auth/principal';
import { Gateway } from '../../src/core/gateway/gateway';
import { answerConsent, browseAuthorization, tempHome } from '../helpers/oauthTestKit';

const MCP_REMOTE = path.resolve(__dirname, '../../node_modules/mcp-remote/dist/proxy.js');

describe('mcp-remote signs in to Gatehouse with OAuth as a second real client', function () {
  this.timeout(90_000);
  const home = tempHome('gatehouse-mcp-remote-');
  let gateway: Gateway;
  let broker: ConsentBroker;
  const principals: Principal[] = [];

  before(async () => {
    broker = new ConsentBroker();
    const service = new OAuthService({ home: path.join(home, 'gatehouse'), consent: broker });
    gateway = new Gateway({ home: path.join(home, 'gatehouse'), port: 0, ...oauthGatewayOptions(service) });
    gateway.on('sessionOpened', (session) => principals.push(session.principal));
    await gateway.start();
  });

  after(async () => {
    await gateway.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('registers, waits for consent, follows the redirect to its localhost callback and proxies list_integrations', async () => {
    const consent = answerConsent(broker, 'allow');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, gateway.url],
      // BROWSER=true makes its opener "succeed" without starting a real browser; this test plays the browser.
      env: { PATH: process.env.PATH ?? '', HOME: home, MCP_REMOTE_CONFIG_DIR: path.join(home, 'mcp-auth'), BROWSER: 'true' },
      stderr: 'pipe',
      cwd: home,
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const client = new Client({ name: 'mcp-remote-test', version: '1.0.0' });
    const connected = client.connect(transport);
    try {
      const deadline = Date.now() + 30_000;
      let match: RegExpExecArray | null = null;
      while (!match && Date.now() < deadline) {
        match = /^(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m.exec(stderr);
        if (!match) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(match, `mcp-remote printed no authorization URL:\n${stderr}`);
      const callback = await browseAuthorization(match[1]!);
      assert.match(callback.href, /^http:\/\/localhost:\d+\/oauth\/callback\?code=/);
      const landing = await fetch(callback);
      assert.match(await landing.text(), /Authorization successful/);
      await connected;
      const result = await client.callTool({ name: 'list_integrations', arguments: {} });
      assert.notEqual(result.isError, true, JSON.stringify(result));
    } finally {
      consent.stop();
      await client.close();
    }
    assert.equal(consent.requests.length, 1);
    assert.ok(principals.some((principal) => principal.kind === 'oauth'), `no OAuth session; mcp-remote said:\n${stderr}`);
  });
});
