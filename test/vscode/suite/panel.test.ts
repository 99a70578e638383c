import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import * as vscode from 'vscode';
import { ApiKeyStore } from '../../../src/core/auth/apiKeys';
import { connectWithKey, createKey, inWebview, pickQuickPickItem, report, runningGateway, takeScreenshot } from './harness';

/** Reads what the webview shows until it matches: snapshots cross from the extension host asynchronously. */
async function webviewTextEventually(selector: string, pattern: RegExp): Promise<string> {
  let text = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    text = await inWebview('text', selector);
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${selector} reads "${text}", expected ${pattern}`);
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting until ${what}`);
}

async function setTheme(theme: string): Promise<void> {
  await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
  // The webview gets the new theme variables after the workbench repaints.
  await new Promise((resolve) => setTimeout(resolve, 800));
}

const THEMES = { light: 'Default Light Modern', dark: 'Default Dark Modern', hc: 'Default High Contrast' } as const;

/** Screenshots of the panel's current tab in the given themes (each theme switch costs about a second). */
async function screenshotThemes(name: string, themes: ReadonlyArray<keyof typeof THEMES> = ['light', 'dark']): Promise<void> {
  for (const suffix of themes) {
    await setTheme(THEMES[suffix]);
    report(`      screenshot ${await takeScreenshot(`panel-${name}-${suffix}`)}`);
  }
}

describe('the policy panel', () => {
  let home: string;
  let client: Client;
  let theme: unknown;

  before(async () => {
    const gateway = await runningGateway();
    home = gateway.home;
    theme = vscode.workspace.getConfiguration('workbench').get('colorTheme');
    client = await connectWithKey(gateway.url, createKey(home, 'panel-suite'), 'panel-suite');
  });

  // Earlier suites may leave the notification centre or a quick pick open over the panel.
  beforeEach(async () => {
    await vscode.commands.executeCommand('notifications.hideList');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });

  after(async () => {
    await client?.close();
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens from "Gatehouse: Open Panel" on the Pending tab', async () => {
    // Room for the panel in the screenshots: no side bar, no chat.
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
    await vscode.commands.executeCommand('gatehouse.openPanel');
    assert.match(await inWebview('text', '[role="tab"][aria-selected="true"]'), /^Pending/);
    await webviewTextEventually('.panel-header', /Gateway running at http:\/\/127\.0\.0\.1:\d+\/mcp/);
  });

  it('approves a pending request from the Pending list, and await_approval returns the real result', async () => {
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name: 'from-panel.txt', content: 'approved in the panel', additional_info: 'Saving the panel demo note' } });
    const { status, request_id: requestId } = held.structuredContent as { status: string; request_id: string };
    assert.equal(status, 'approval_required');
    await webviewTextEventually(`[data-request-id="${requestId}"]`, /panel-suite wants to run demo › write_note/);
    await screenshotThemes('pending');
    await inWebview('click', `[data-request-id="${requestId}"] button`, { hasText: 'Approve once' });
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: requestId } });
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'from-panel.txt'), 'utf8'), 'approved in the panel');
    await webviewTextEventually('main', /^(?!.*from-panel\.txt)/s);
  });

  it('approves with changes from Details: the panel\'s JSON editor refuses a schema error, then the edited arguments run and the agent\'s result says so', async () => {
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name: 'agent-draft.txt', content: 'the agent wrote this' } });
    const { request_id: requestId } = held.structuredContent as { request_id: string };
    void vscode.commands.executeCommand('gatehouse.showPending');
    await pickQuickPickItem('agent-draft.txt');
    await pickQuickPickItem('Approve with changes');
    const editor = `#edit-arguments-${requestId}`;
    assert.deepEqual(JSON.parse(await webviewTextEventually(editor, /agent-draft\.txt/)), { content: 'the agent wrote this', name: 'agent-draft.txt' });
    await inWebview('fill', editor, { value: '{"name": "../outside.txt", "content": "x"}' });
    await inWebview('click', `[data-request-id="${requestId}"] button`, { hasText: 'Approve with these arguments' });
    await webviewTextEventually(`${editor}-error`, /write_note does not accept these arguments: name must match pattern/);
    await inWebview('fill', editor, { value: '{"name": "human-edit.txt", "content": "the human wrote this"}' });
    await inWebview('click', `[data-request-id="${requestId}"] button`, { hasText: 'Approve with these arguments' });
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: requestId } });
    const answer = result.structuredContent as { status: string; arguments_changed?: boolean; arguments?: unknown; original_arguments?: unknown; message: string };
    assert.equal(answer.status, 'approved');
    assert.equal(answer.arguments_changed, true);
    assert.deepEqual(answer.arguments, { content: 'the human wrote this', name: 'human-edit.txt' });
    assert.deepEqual(answer.original_arguments, { content: 'the agent wrote this', name: 'agent-draft.txt' });
    assert.match(answer.message, /the human changed the arguments before approving/);
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'human-edit.txt'), 'utf8'), 'the human wrote this');
    assert.equal(fs.existsSync(path.join(home, 'demo', 'agent-draft.txt')), false, 'the agent\'s arguments never ran');
  });

  it('switches demo__write_note from ask to allow: policy.json shows it and a call goes straight through', async () => {
    await inWebview('click', '#tab-servers');
    const row = 'tr[data-tool="demo__write_note"]';
    await webviewTextEventually(`${row} td:nth-child(3)`, /ask/);
    await inWebview('click', `${row} button[data-decision="allow"]`);
    const policyFile = path.join(home, 'policy.json');
    const readRules = (): Array<{ tool: string; decision: string }> => (fs.existsSync(policyFile) ? (JSON.parse(fs.readFileSync(policyFile, 'utf8')) as { rules?: Array<{ tool: string; decision: string }> }).rules ?? [] : []);
    await eventually(() => readRules().some((rule) => rule.tool === 'demo__write_note' && rule.decision === 'allow'), 'policy.json allows demo__write_note');
    await webviewTextEventually(`${row} button[aria-pressed="true"]`, /^allow$/);
    const direct = await client.callTool({ name: 'demo__write_note', arguments: { name: 'direct.txt', content: 'no approval needed' } });
    assert.notEqual((direct.structuredContent as { status?: string } | undefined)?.status, 'approval_required');
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'direct.txt'), 'utf8'), 'no approval needed');
    await screenshotThemes('servers', ['light', 'dark', 'hc']);
  });

  it('adds an argument rule, and the "try a call" box reports it as the matching rule', async () => {
    await inWebview('click', '#tab-rules');
    await inWebview('click', 'button', { hasText: 'Add rule' });
    await inWebview('fill', '#rule-tool', { value: 'demo__write_note' });
    await inWebview('fill', '#rule-when', { value: '{"name": {"glob": "*.secret"}}' });
    await inWebview('fill', '#rule-reason', { value: 'secrets stay out of notes' });
    await inWebview('select', '#rule-decision', { value: 'deny' });
    await inWebview('click', 'button', { hasText: 'Save rule' });
    await webviewTextEventually('[role="status"].banner', /Saved rule/);
    const policy = JSON.parse(fs.readFileSync(path.join(home, 'policy.json'), 'utf8')) as { rules: Array<{ id: string; tool: string; decision: string; when?: unknown }> };
    const added = policy.rules.find((rule) => rule.when !== undefined);
    assert.ok(added, 'the argument rule is in policy.json');
    assert.deepEqual([added.tool, added.decision, added.when], ['demo__write_note', 'deny', { name: { glob: '*.secret' } }]);

    await inWebview('fill', '#try-tool', { value: 'demo__write_note' });
    await inWebview('fill', '#try-args', { value: '{"name": "keys.secret", "content": "x"}' });
    const verdict = await webviewTextEventually('#try-result', /deny/);
    assert.match(verdict, new RegExp(`rule "${added.id}"`));
    assert.match(verdict, /secrets stay out of notes/);
    await inWebview('fill', '#try-args', { value: '{"name": "plain.txt"}' });
    const toolRule = policy.rules.find((rule) => rule.tool === 'demo__write_note' && rule.when === undefined);
    await webviewTextEventually('#try-result', new RegExp(`allow.*rule "${toolRule?.id}"`));
    await screenshotThemes('rules');
  });

  it('lists the audit log in History, filtered by decision', async () => {
    await inWebview('click', '#tab-history');
    await webviewTextEventually('table.history tbody', /demo__write_note/);
    await inWebview('select', '#history-decision', { value: 'held' });
    // Held rows carry no channel and no result; decided, executed and allowed rows do.
    const rows = await webviewTextEventually('table.history tbody', /^(?!.*(channel editor|result ok)).*Held for your approval/s);
    assert.match(rows, /panel-suite/);
    await screenshotThemes('history', ['dark']);
  });

  it('creates an API key in Clients and shows it once', async () => {
    await inWebview('click', '#tab-clients');
    await inWebview('fill', '#key-label', { value: 'cursor' });
    await inWebview('click', 'button', { hasText: 'Create API key' });
    const shown = await webviewTextEventually('.created-key', /shown only this once/);
    const key = /gh_[A-Za-z0-9_-]+/.exec(shown)?.[0] ?? assert.fail(`no key in "${shown}"`);
    assert.ok(new ApiKeyStore(home).verify(key), 'the key shown is a working key');
    await screenshotThemes('clients', ['light']);
    await inWebview('click', 'button', { hasText: 'Done' });
    await webviewTextEventually('main', /^(?!.*gh_)/s);
  });

  it('moves between tabs with the arrow keys and keeps its tab when the webview reloads', async () => {
    await inWebview('click', '#tab-pending');
    await inWebview('press', '#tab-pending', { value: 'ArrowRight' });
    await inWebview('press', '#tab-servers', { value: 'ArrowRight' });
    assert.equal(await inWebview('text', '[role="tab"][aria-selected="true"]'), 'Rules');
    await inWebview('fill', '#try-tool', { value: 'demo__echo' });
    await webviewTextEventually('#try-result', /allow/);
    await vscode.commands.executeCommand('workbench.action.webview.reloadWebviewAction');
    // A fresh page has an empty "try a call" box; the tab comes back from the state saved with setState.
    await webviewTextEventually('#try-result', /Type a tool name/);
    assert.equal(await inWebview('text', '[role="tab"][aria-selected="true"]'), 'Rules');
  });

  it('shows an invalid server inline and leaves servers.json unchanged', async () => {
    const serversFile = path.join(home, 'servers.json');
    const before = fs.existsSync(serversFile) ? fs.readFileSync(serversFile, 'utf8') : undefined;
    await inWebview('click', '#tab-servers');
    await inWebview('click', 'button', { hasText: 'Add server' });
    await inWebview('fill', '#server-name', { value: 'not a name!' });
    await inWebview('click', 'input[value="http"]');
    await inWebview('fill', '#server-url', { value: 'ftp://example.com/mcp' });
    await inWebview('click', 'button', { hasText: 'Save server' });
    assert.match(await inWebview('text', '#server-name-error'), /letters, digits/);
    assert.match(await inWebview('text', '#server-url-error'), /not an absolute http/);
    assert.equal(fs.existsSync(serversFile) ? fs.readFileSync(serversFile, 'utf8') : undefined, before);
    await takeScreenshot('panel-server-form-invalid');
  });
});

