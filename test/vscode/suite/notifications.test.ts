import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import * as vscode from 'vscode';
import type { GatehouseApi } from '../../../src/extension';
import { clickNotificationButton, connectWithKey, createKey, findNotification, notificationTexts, openWindow, pickQuickPickItem, statusBarEventually, report, requestBrowserAction, runningGateway, takeScreenshot } from './harness';

const CLIENT_NAME = 'notify-suite';


/** Polls the notification centre until no notification contains `text`. */
async function notificationGone(text: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!(await notificationTexts()).some((row) => row.includes(text))) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`a notification containing "${text}" is still shown: ${JSON.stringify(await notificationTexts())}`);
}

interface Held {
  readonly status: string;
  readonly request_id: string;
}

describe('approval notifications in the editor', () => {
  let home: string;
  let client: Client;
  let key: string;
  let url: string;

  before(async () => {
    const gateway = await runningGateway();
    home = gateway.home;
    // A label of its own, so this suite's notifications are told apart from other suites'.
    key = createKey(home, CLIENT_NAME);
    url = gateway.url;
    client = await connectSuiteClient();
  });

  function connectSuiteClient(): Promise<Client> {
    return connectWithKey(url, key, CLIENT_NAME);
  }

  // Each test starts with an empty notification centre, so the row it clicks is in view.
  beforeEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  after(async () => {
    await client?.close();
    // An open notification centre would cover the webviews of the suites that follow.
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  async function holdNote(name: string, content: string, info?: string): Promise<Held> {
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name, content, ...(info ? { additional_info: info } : {}) } });
    const holding = held.structuredContent as unknown as Held;
    assert.equal(holding.status, 'approval_required');
    return holding;
  }

  it('runs a held write_note once Approve is clicked on its notification, and the count goes 1 → 0', async () => {
    const started = Date.now();
    const holding = await holdNote('notified-approve.txt', 'approved from a notification', 'Saving the release notes the human asked for.');
    await statusBarEventually(/Gatehouse 1$/);
    await vscode.commands.executeCommand('notifications.showList');
    await takeScreenshot('notification-approval', 'notifications');
    await takeScreenshot('notification-approval-workbench');
    await clickNotificationButton('name: notified-approve.txt', 'Approve');

    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'notified-approve.txt'), 'utf8'), 'approved from a notification');
    await statusBarEventually(/Gatehouse$/);
    await notificationGone('notified-approve.txt');
    report(`      held call → notification → approved → real result in ${Date.now() - started} ms`);
  });

  it('refuses a held write_note when Deny is clicked; the note is never written', async () => {
    const holding = await holdNote('notified-deny.txt', 'must not be written');
    await clickNotificationButton('name: notified-deny.txt', 'Deny');
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    const outcome = result.structuredContent as { status: string; channel?: string };
    assert.equal(outcome.status, 'denied');
    assert.equal(outcome.channel, 'editor');
    assert.equal(fs.existsSync(path.join(home, 'demo', 'notified-deny.txt')), false);
  });

  it('says in plain words why the call was held, and offers Approve first, then Deny and More…', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await holdNote('notified-words.txt', 'explained');
    const text = await findNotification('name: notified-words.txt');
    assert.match(text, /Held because write_note can change or delete things, and you asked to approve such tools/);
    assert.doesNotMatch(text, /defaults\.destructive/, 'machine wording stays in Details');
    assert.match(text, /Approve · Deny · More…/);
    await clickNotificationButton('name: notified-words.txt', 'Deny');
    await notificationGone('notified-words.txt');
  });

  it('withdraws the prompt the moment the call is decided elsewhere', async () => {
    // More than three held calls within 2 s are summed up; let the burst window pass first.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const holding = await holdNote('notified-late.txt', 'decided in the quick pick first');
    await findNotification('name: notified-late.txt');
    const picking = vscode.commands.executeCommand('gatehouse.showPending');
    await pickQuickPickItem('notified-late.txt');
    await pickQuickPickItem('Approve');
    await picking;
    await notificationGone('notified-late.txt');
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
  });

  it('keeps a held call in front of the person a minute later, still decidable from the prompt', async function () {
    this.timeout(150_000);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const holding = await holdNote('notified-later.txt', 'still there after a minute');
    await findNotification('name: notified-later.txt');
    // A toast would have hidden after about 12 s; the prompt stays until it is decided or expires.
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    await clickNotificationButton('name: notified-later.txt', 'Approve');
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
    await notificationGone('notified-later.txt');
  });

  it('offers an approval link that an upstream result carries from another gateway, with an Open button', async () => {
    // Loopback only: the link is never fetched by the test, and nothing listens on port 9.
    const link = 'http://127.0.0.1:9/approve/req_from_hosted_gateway';
    const echoed = await client.callTool({ name: 'demo__echo', arguments: { text: `Approve it at ${link}` } });
    assert.notEqual(echoed.isError, true, JSON.stringify(echoed.content));
    await clickNotificationButton('demo › echo needs approval on 127.0.0.1:9 as well', 'Open');
  });

  it('sums up a burst of 7 held calls in one "calls waiting" notification first, with a Show link', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await Promise.all(Array.from({ length: 7 }, (_, i) => holdNote(`burst-${i}.txt`, `burst ${i}`)));
    await statusBarEventually(/Gatehouse 7$/);
    await findNotification('Gatehouse: 7 calls waiting for your approval');
    // The prompts shown before the burst was recognised make way for the summary.
    await notificationGone('burst-');
    assert.match((await notificationTexts())[0] ?? '', /7 calls waiting for your approval/, 'the summary is the first notification');
    await clickNotificationButton('Gatehouse: 7 calls waiting for your approval', 'Show');
    await takeScreenshot('pending-quick-pick');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    // Leaves no held call behind for the suites that follow.
    for (let i = 0; i < 7; i++) {
      const picking = vscode.commands.executeCommand('gatehouse.showPending');
      await pickQuickPickItem(`burst-${i}.txt`);
      await pickQuickPickItem('Deny');
      await picking;
    }
    await statusBarEventually(/Gatehouse$/);
    await notificationGone('calls waiting for your approval');
  });

  it('announces held calls only as a summary when gatehouse.notifications.mode is "summary", read live', async () => {
    const config = vscode.workspace.getConfiguration();
    await config.update('gatehouse.notifications.mode', 'summary', vscode.ConfigurationTarget.Global);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      await holdNote('summary-mode.txt', 'announced by the summary only');
      await clickNotificationButton('Gatehouse: 1 call waiting for your approval', 'Show');
      await pickQuickPickItem('summary-mode.txt');
      await pickQuickPickItem('Deny');
      await statusBarEventually(/Gatehouse$/);
    } finally {
      await config.update('gatehouse.notifications.mode', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('keeps a held call across a gateway restart and announces it again as "1 call waiting"', async () => {
    const holding = await holdNote('across-restart.txt', 'held before the restart');
    await vscode.commands.executeCommand('gatehouse.restartGateway');
    await clickNotificationButton('Gatehouse: 1 call waiting for your approval', 'Show');
    await pickQuickPickItem('across-restart.txt');
    await pickQuickPickItem('Approve');
    // The agent's session ended with the old gateway; a new session gets the answer by request id.
    await client.close();
    client = await connectSuiteClient();
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'across-restart.txt'), 'utf8'), 'held before the restart');
  });

  it('lets a second window find this window\'s gateway without starting another; code-server keeps secrets per tab, so it says it cannot join', async () => {
    // A second workbench tab is a second window: its own extension host runs the installed
    // extension and finds this window's gateway on the port. Following it needs the window secret
    // from VS Code's SecretStorage, which desktop windows share; code-server has no secret storage
    // provider, so each tab keeps its own in memory and the owner refuses the stranger. Following,
    // deciding from a follower and the handover are tested in test/unit/ownership.test.ts.
    const gateway = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.exports.gatewayReady;
    const port = gateway.kind === 'running' ? new URL(gateway.url).port : assert.fail('gateway not running');
    const second = await openWindow();
    const message = await findNotification('this window cannot join it', second);
    assert.match(message, new RegExp(`Another VS Code window already runs Gatehouse on port ${port}`));
    await requestBrowserAction({ kind: 'screenshot', name: 'second-window', part: 'notifications', window: second });
    const owner = (await (await fetch(`http://127.0.0.1:${port}/.well-known/gatehouse`)).json()) as { pid: number };
    assert.equal(owner.pid, process.pid, 'the gateway still runs in this window');
  });
});
