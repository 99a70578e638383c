import * as assert from 'node:assert/strict';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import type { GatehouseApi } from '../../../src/extension';
import { browseAuthorization, MemoryOAuthProvider } from '../../helpers/oauthTestKit';
import { clickNotificationButton, findNotification, takeScreenshot } from './harness';

// VS Code refuses modal dialogs while extension tests run (DialogService "refused to show dialog in
// tests"), so here the consent question arrives through the modal's fallback: a notification with
// the same text and the same Allow / Deny buttons. Both paths call the same consent.decide.
describe('the consent question in the editor', () => {
  // Each test starts with an empty notification centre, so the row it clicks is in view.
  beforeEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  after(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('lets an SDK OAuth client in once Allow is clicked on "… wants to connect to Gatehouse"', async () => {
    const api = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.activate();
    const gateway = await api.gatewayReady;
    assert.equal(gateway.kind, 'running');
    // Nothing listens on the redirect: the test reads the code from the redirect itself.
    const provider = new MemoryOAuthProvider('http://127.0.0.1:49999/callback', 'Consent Suite Client');
    const client = new Client({ name: 'consent-suite', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
    await assert.rejects(client.connect(transport), UnauthorizedError);

    // The browser tab waits on the consent page while the human answers the editor's modal.
    const redirected = browseAuthorization(provider.lastAuthorizationUrl!.href, 1200);
    await clickNotificationButton('Consent Suite Client wants to connect to Gatehouse', 'Allow');
    const callback = await redirected;
    assert.ok(callback.searchParams.get('code'), `no code in ${callback.href}`);
    await transport.finishAuth(callback.searchParams.get('code')!);

    const signedIn = new Client({ name: 'consent-suite', version: '1.0.0' });
    await signedIn.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider }));
    try {
      const tools = await signedIn.listTools();
      assert.ok(tools.tools.some((tool) => tool.name === 'await_approval'));
    } finally {
      await signedIn.close();
    }
  });

  it('names the redirect host and the scopes, and Deny refuses the client', async () => {
    const api = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.activate();
    const gateway = await api.gatewayReady;
    assert.equal(gateway.kind, 'running');
    const provider = new MemoryOAuthProvider('http://127.0.0.1:49998/callback', 'Denied Suite Client');
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
    await assert.rejects(new Client({ name: 'consent-suite', version: '1.0.0' }).connect(transport), UnauthorizedError);
    const redirected = browseAuthorization(provider.lastAuthorizationUrl!.href, 1200);
    const question = await findNotification('Denied Suite Client wants to connect to Gatehouse');
    assert.match(question, /the browser returns to 127\.0\.0\.1:49998\. Scopes: mcp/);
    await takeScreenshot('consent-question', 'notifications');
    await clickNotificationButton('Denied Suite Client wants to connect to Gatehouse', 'Deny');
    const callback = await redirected;
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('code'), null);
  });
});
