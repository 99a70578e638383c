import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as vscode from 'vscode';
import { ConsentBroker } from '../../../src/core/auth/consent';
import { oauthGatewayOptions } from '../../../src/core/auth/oauthRoutes';
import { OAuthService } from '../../../src/core/auth/oauthService';
import { Gateway } from '../../../src/core/gateway/gateway';
import { CAPTURE_BROWSER_ENV } from '../../../src/editor/upstreamSignIn';
import { answerConsent, browseAuthorization } from '../../helpers/oauthTestKit';
import { clickNotificationButton, connectWithKey, createKey, findNotification, inWebview, readStatusBarLabel, report, runningGateway, takeScreenshot } from './harness';

const SERVER = 'signin-up';

async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, what: string, attempts = 100): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < attempts && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  if (!done(value)) assert.fail(`timed out waiting until ${what}; last: ${JSON.stringify(value)}`);
  return value;
}

async function integrationStatus(agent: Client): Promise<string | undefined> {
  const result = (await agent.callTool({ name: 'list_integrations', arguments: {} })) as CallToolResult;
  return (result.structuredContent as { integrations: { name: string; status: string }[] }).integrations.find((i) => i.name === SERVER)?.status;
}

/**
 * The upstream is a second, real Gatehouse with its own OAuth authorization server, running in
 * this extension host on a loopback port. Its human's consent is answered by the test (the
 * upstream's broker, standing in for the person at that other gateway). The one thing mocked is
 * the system browser: CAPTURE_BROWSER_ENV makes the Sign In command write the URL it would give
 * `vscode.env.openExternal` to a file, and the test follows it with real HTTP requests.
 */
describe('signing in to an OAuth upstream in the editor', function () {
  this.timeout(120_000);
  let home: string;
  let gatewayUrl: string;
  let upstream: Gateway;
  let consent: ReturnType<typeof answerConsent>;
  let agent: Client;
  let capture: string;
  let serversBefore: string | undefined;

  before(async () => {
    const gateway = await runningGateway();
    home = gateway.home;
    gatewayUrl = gateway.url;
    const upstreamHome = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-vscode-upstream-'));
    const broker = new ConsentBroker();
    upstream = new Gateway({ home: upstreamHome, port: 0, ...oauthGatewayOptions(new OAuthService({ home: upstreamHome, consent: broker })) });
    await upstream.start();
    consent = answerConsent(broker, 'allow');
    capture = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-vscode-browser-')), 'opened.txt');
    process.env[CAPTURE_BROWSER_ENV] = capture;
    agent = await connectWithKey(gatewayUrl, createKey(home, 'signin-suite'), 'signin-suite');
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  after(async () => {
    delete process.env[CAPTURE_BROWSER_ENV];
    consent?.stop();
    await agent?.close();
    // Leaves servers.json as the suites that follow expect it.
    const file = path.join(home, 'servers.json');
    if (serversBefore === undefined) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, serversBefore);
    await upstream?.stop();
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows a server that needs sign-in, opens its sign-in page from Sign In, and lists its tools once the browser comes back', async () => {
    // The human adds the upstream in the panel's Servers tab.
    const file = path.join(home, 'servers.json');
    serversBefore = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    await vscode.commands.executeCommand('gatehouse.openPanel');
    await inWebview('click', '#tab-servers');
    await inWebview('click', 'button', { hasText: 'Add server' });
    await inWebview('fill', '#server-name', { value: SERVER });
    await inWebview('click', 'input[value="http"]');
    await inWebview('fill', '#server-url', { value: upstream.url });
    await inWebview('click', 'button', { hasText: 'Save server' });

    // Needs sign-in: the agent's view, the notification with Sign In, the status bar and the panel's Servers tab.
    await eventually(() => integrationStatus(agent), (status) => status === 'needs-sign-in', `${SERVER} needs sign-in`);
    const refused = (await agent.callTool({ name: `${SERVER}__demo__echo`, arguments: { text: 'too early' } })) as CallToolResult;
    assert.equal((refused.structuredContent as { status?: string }).status, 'needs_sign_in');
    assert.doesNotMatch(JSON.stringify(refused), /authorize/, 'the agent never gets a sign-in URL');
    const notice = await findNotification(`${SERVER} needs you to sign in`);
    assert.match(notice, /Agents cannot use its tools until you do/);
    assert.match(await eventually(() => readStatusBarLabel('Gatehouse'), (label) => label.includes('needs sign-in'), 'the status bar says needs sign-in'), new RegExp(`needs sign-in: ${SERVER}`));
    assert.match(await eventually(() => inWebview('text', `[data-server="${SERVER}"] .status`), (text) => /needs sign-in/.test(text), 'the panel shows needs sign-in'), /needs sign-in/);
    await takeScreenshot('upstream-needs-sign-in');

    // Sign In on the notification: the editor hands the provider's page to the browser.
    await clickNotificationButton(`${SERVER} needs you to sign in`, 'Sign In');
    const opened = await eventually(() => (fs.existsSync(capture) ? fs.readFileSync(capture, 'utf8').trim() : ''), (text) => text.length > 0, 'the browser is asked to open the sign-in page');
    report(`      the browser was asked to open ${opened.replace(/(state|code_challenge)=[^&]+/g, '$1=…')}`);
    const authorize = new URL(opened);
    assert.equal(authorize.origin, new URL(upstream.url).origin, 'the page is the upstream authorization server');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${new URL(gatewayUrl).origin}/oauth/upstream/callback`, 'the provider sends the browser back to the gateway itself');
    assert.equal(authorize.searchParams.get('resource'), upstream.url);

    // The browser: the upstream's consent page, then the redirect to the gateway's callback.
    const callback = await browseAuthorization(opened);
    assert.equal(callback.origin, new URL(gatewayUrl).origin);
    const landing = await fetch(callback);
    assert.equal(landing.status, 200);
    assert.match(await landing.text(), new RegExp(`Signed in to ${SERVER}`));
    assert.equal(consent.requests.length, 1);
    assert.equal(consent.requests[0]!.clientName, 'Gatehouse');
    await findNotification(`signed in to ${SERVER}`);

    // The tools appear for the agent, and the call runs against the upstream.
    const tools = await eventually(async () => (await agent.listTools()).tools.map((t) => t.name), (names) => names.includes(`${SERVER}__demo__echo`), 'the upstream tools are listed');
    assert.ok(tools.includes(`${SERVER}__demo__echo`));
    const echoed = (await agent.callTool({ name: `${SERVER}__demo__echo`, arguments: { text: 'signed in from the editor' } })) as CallToolResult;
    assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
    assert.match(JSON.stringify(echoed.content), /signed in from the editor/);
    assert.match(await eventually(() => inWebview('text', `[data-server="${SERVER}"] .status`), (text) => /ready/.test(text), 'the panel shows ready'), /ready/);
    assert.doesNotMatch(await readStatusBarLabel('Gatehouse'), /needs sign-in/);
    await takeScreenshot('upstream-signed-in');
    report(`      needs sign-in → Sign In → ${authorize.host}/authorize → callback → ${tools.filter((t) => t.startsWith(SERVER)).length} tools listed`);
  });
});
