import * as assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import * as vscode from 'vscode';
import { ApiKeyStore } from '../../../src/core/auth/apiKeys';
import { connectWithKey, contrastRatio, createKey, findNotification, inWebview, notificationTexts, pickQuickPickItem, report, runningGateway, takeScreenshot, webviewPaintedText } from './harness';

const CLIENT_NAME = 'words-suite';

async function webviewTextEventually(selector: string, pattern: RegExp): Promise<string> {
  let text = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    text = await inWebview('text', selector).catch(() => '');
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${selector} reads "${text}", expected ${pattern}`);
}

async function notificationGone(text: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!(await notificationTexts()).some((row) => row.includes(text))) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`a notification containing "${text}" is still shown: ${JSON.stringify(await notificationTexts())}`);
}

const THEMES = { light: 'Default Light Modern', dark: 'Default Dark Modern', hc: 'Default High Contrast', 'hc-light': 'Default High Contrast Light' } as const;

async function setTheme(theme: string): Promise<void> {
  await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
  // The webview gets the new theme variables after the workbench repaints.
  await new Promise((resolve) => setTimeout(resolve, 800));
}

describe('the panel in plain words', () => {
  let client: Client;
  let home: string;
  let theme: unknown;

  before(async () => {
    const gateway = await runningGateway();
    home = gateway.home;
    theme = vscode.workspace.getConfiguration('workbench').get('colorTheme');
    client = await connectWithKey(gateway.url, createKey(home, CLIENT_NAME), CLIENT_NAME);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
  });

  beforeEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });

  after(async () => {
    await client?.close();
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  async function hold(name: string): Promise<string> {
    // More than three held calls within 2 s are summed up; keep each prompt its own.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name, content: `content of ${name}` } });
    const { status, request_id: id } = held.structuredContent as { status: string; request_id: string };
    assert.equal(status, 'approval_required');
    return id;
  }

  it('withdraws the held call\'s notification when it is approved in the panel', async () => {
    const id = await hold('words-panel.txt');
    await findNotification('name: words-panel.txt');
    await vscode.commands.executeCommand('notifications.hideList');
    await vscode.commands.executeCommand('gatehouse.openPanel', 'pending');
    await webviewTextEventually(`[data-request-id="${id}"]`, /words-panel\.txt/);
    await inWebview('click', `[data-request-id="${id}"] button`, { hasText: 'Approve' });
    await notificationGone('words-panel.txt');
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
  });

  it('shows a grant as its tool and arguments, not as a hash', async () => {
    await hold('words-grant.txt');
    const picking = vscode.commands.executeCommand('gatehouse.showPending');
    await pickQuickPickItem('words-grant.txt');
    await pickQuickPickItem('Always allow these arguments');
    await picking;
    await vscode.commands.executeCommand('gatehouse.openPanel', 'rules');
    const covers = await webviewTextEventually('table.grants tbody', /words-grant\.txt/);
    assert.match(covers, /name: "words-grant\.txt"/);
    assert.match(covers, /content: "content of words-grant\.txt"/);
    assert.match(await inWebview('text', 'table.grants thead'), /Allowed with these arguments/);
    // The same arguments now run without asking: the grant covers exactly what it shows.
    const again = await client.callTool({ name: 'demo__write_note', arguments: { name: 'words-grant.txt', content: 'content of words-grant.txt' } });
    assert.notEqual((again.structuredContent as { status?: string }).status, 'approval_required');
  });

  it('answers "try a call" in words, and says that a tool which does not exist does not exist', async () => {
    await inWebview('click', '#tab-rules');
    await inWebview('fill', '#try-tool', { value: 'demo__write_note' });
    await inWebview('fill', '#try-args', { value: '{"name": "other.txt"}' });
    const verdict = await webviewTextEventually('#try-result', /wait for your approval/);
    assert.match(verdict, /write_note can change or delete things, and you asked to approve such tools/);
    assert.match(verdict, /Details: the tool is marked destructive; defaults\.destructive is "ask"/, 'the machine name stays, in the details line');
    await inWebview('fill', '#try-tool', { value: 'demo__no_such_tool' });
    const missing = await webviewTextEventually('#try-result', /no tool/);
    assert.match(missing, /There is no tool "demo__no_such_tool"/);
    assert.doesNotMatch(missing, /\bask\b/);
  });

  it('filters History by what happened, in words', async () => {
    await inWebview('click', '#tab-history');
    await inWebview('select', '#history-decision', { value: 'approved' });
    // The filter applies a moment after the choice; until then the rows are unfiltered.
    const rows = await webviewTextEventually('table.history tbody', /^(?!.*(Held for your approval|Ran )).*You approved it/s);
    assert.match(rows, /You approved it once, in the editor/);
    assert.match(rows, /You approved it, always with these arguments, in the editor/);
    await inWebview('select', '#history-decision', { value: '' });
  });

  it('shows a new API key once, never in the notification centre, and not after a tab switch', async () => {
    await inWebview('click', '#tab-clients');
    await inWebview('fill', '#key-label', { value: 'words-once' });
    await inWebview('click', 'button', { hasText: 'Create API key' });
    const shown = await webviewTextEventually('.created-key', /shown only this once/);
    const key = /gh_[A-Za-z0-9_-]+/.exec(shown)?.[0] ?? assert.fail(`no key in "${shown}"`);
    assert.ok(new ApiKeyStore(home).verify(key), 'the key shown works');
    await inWebview('click', '#tab-history');
    await inWebview('click', '#tab-clients');
    await webviewTextEventually('main', /API keys/);
    assert.doesNotMatch(await inWebview('text', 'main'), /gh_/, 'the key is gone after a tab switch');
    const rows = await notificationTexts();
    assert.ok(!rows.some((row) => row.includes(key) || /gh_[A-Za-z0-9_-]{20,}/.test(row)), `a one-time key is in the notification centre: ${JSON.stringify(rows)}`);
    await vscode.commands.executeCommand('notifications.hideList');
  });

  it('keeps every piece of text at WCAG AA contrast (4.5:1, large text 3:1) in light, dark and high-contrast themes', async function () {
    this.timeout(180_000);
    // Something on every tab: a held call, a rule, a grant (above), history and a key.
    await hold('words-contrast.txt');
    await vscode.commands.executeCommand('notifications.hideList');
    await inWebview('click', '#tab-rules');
    await inWebview('fill', '#try-tool', { value: 'demo__write_note' });
    const failures: string[] = [];
    for (const [name, id] of Object.entries(THEMES)) {
      await setTheme(id);
      let lowest = Infinity;
      let checked = 0;
      for (const tab of ['pending', 'servers', 'rules', 'history', 'clients'] as const) {
        await inWebview('click', `#tab-${tab}`);
        await webviewTextEventually(`#tab-${tab}[aria-selected="true"]`, /\S/);
        if (tab === 'history') await webviewTextEventually('main', /Newest first/);
        for (const painted of await webviewPaintedText('body')) {
          if (painted.inactive) continue;
          const ratio = contrastRatio(painted);
          const needed = painted.large ? 3 : 4.5;
          checked++;
          lowest = Math.min(lowest, ratio);
          if (ratio < needed) failures.push(`${name} ${tab}: "${painted.text}" (${painted.selector}) ${ratio.toFixed(2)}:1, needs ${needed}:1 — ${painted.color} on ${painted.layers.map((layer) => layer.background).join(' < ')}`);
        }
      }
      report(`      ${name}: ${checked} pieces of text, lowest contrast ${lowest.toFixed(2)}:1`);
      await inWebview('click', '#tab-servers');
      report(`      screenshot ${await takeScreenshot(`panel-words-servers-${name}`)}`);
    }
    assert.deepEqual(failures, []);
    // Leaves no held call for the suites that follow.
    await inWebview('click', '#tab-pending');
    const picking = vscode.commands.executeCommand('gatehouse.showPending');
    await pickQuickPickItem('words-contrast.txt');
    await pickQuickPickItem('Deny');
    await picking;
  });
});
