import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import * as vscode from 'vscode';
import { ApiKeyStore } from '../../../src/core/auth/apiKeys';
import type { GatehouseApi } from '../../../src/extension';
import { clickNotificationButton, notificationTexts, pickQuickPickItem, takeScreenshot } from './harness';

/** What a user already had in config.toml; every byte of it must survive. */
const USER_CONFIG = [
  '# My Codex settings — hand-written, keep this comment exactly as it is',
  'model = "o3"  # trailing comment too',
  '',
  '[mcp_servers.notes]',
  'command = "/bin/false"',
  'args = ["--serve"]',
  '',
].join('\n');

async function eventually<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function openPreviewDiff(): vscode.TabInputTextDiff | undefined {
  for (const tab of vscode.window.tabGroups.all.flatMap((group) => group.tabs)) {
    if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === 'gatehouse-preview') return tab.input;
  }
  return undefined;
}

type CodexConfig = { mcp_servers: Record<string, Record<string, unknown>> };

/**
 * Opens the notification centre from here before the runner clicks: when the runner opens it by
 * clicking the bell, the bell's "Hide Notifications" hover can cover the buttons of the bottom row.
 */
async function answer(message: string, button: string): Promise<void> {
  await vscode.commands.executeCommand('notifications.showList');
  await clickNotificationButton(message, button);
}

/**
 * The one-time export line waits in a modal, or here (modals are refused in smoke-test mode) in
 * an input box that nothing in the extension host can see; closing it ends the command.
 */
async function closeExportLine(command: Thenable<unknown>): Promise<void> {
  let done = false;
  void Promise.resolve(command).finally(() => (done = true));
  while (!done) {
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('connecting agents from the editor', () => {
  let url: string;
  let configFile: string;

  before(async () => {
    const api = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.activate();
    const gateway = await api.gatewayReady;
    assert.equal(gateway.kind, 'running');
    url = gateway.url;
    // The runner gives code-server, and so the extension host, a temporary HOME.
    assert.equal(os.homedir(), process.env.HOME);
    assert.match(os.homedir(), /gatehouse|tmp/i, 'the suite must not run against a real home directory');
    configFile = path.join(process.env.CODEX_HOME ?? path.join(os.homedir(), '.codex'), 'config.toml');
    fs.mkdirSync(path.dirname(configFile), { recursive: true });
    fs.writeFileSync(configFile, USER_CONFIG);
  });

  // Earlier suites leave notifications behind; the notification centre only renders the rows in
  // view, so a question that lands above the scrolled list would never be found.
  beforeEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('connects Codex with an environment variable after showing the diff, keeping the user comment byte for byte', async () => {
    const running = vscode.commands.executeCommand('gatehouse.connectCodex');
    await pickQuickPickItem('Environment variable');
    const diff = await eventually(openPreviewDiff, 'the before/after diff');
    const planned = (await vscode.workspace.openTextDocument(diff.modified)).getText();
    assert.ok(planned.includes(url), 'the diff shows the gateway url');
    await takeScreenshot('connect-codex-diff');
    await answer('Connect Codex to Gatehouse', 'Write');
    await closeExportLine(running);
    const key = new ApiKeyStore(process.env.GATEHOUSE_HOME!).list().find((record) => record.label === 'codex');
    assert.ok(key, 'env mode creates a key for Codex');
    const notifications = await notificationTexts();
    assert.ok(!notifications.some((row) => /gh_[A-Za-z0-9_-]{20,}|export GATEHOUSE_TOKEN=/.test(row)), `a one-time key is in the notification centre: ${JSON.stringify(notifications)}`);

    const written = fs.readFileSync(configFile, 'utf8');
    assert.equal(written, planned);
    assert.ok(written.startsWith(USER_CONFIG), 'the user part of config.toml changed');
    const entry = (TOML.parse(written) as unknown as CodexConfig).mcp_servers.gatehouse!;
    assert.equal(entry.url, url);
    assert.equal(entry.bearer_token_env_var, 'GATEHOUSE_TOKEN');
    assert.equal(entry.default_tools_approval_mode, 'approve');
    const backups = fs.readdirSync(path.dirname(configFile)).filter((name) => name.startsWith('config.toml.gatehouse-backup-'));
    assert.equal(backups.length, 1);
    assert.equal(fs.readFileSync(path.join(path.dirname(configFile), backups[0]!), 'utf8'), USER_CONFIG);
    assert.ok(new ApiKeyStore(process.env.GATEHOUSE_HOME!).list().some((record) => record.label === 'codex'), 'env mode creates a key for Codex');
    assert.equal(openPreviewDiff(), undefined, 'the preview closes once answered');
  });

  it('writes nothing when the user cancels', async () => {
    const before = fs.readFileSync(configFile, 'utf8');
    const running = vscode.commands.executeCommand('gatehouse.disconnectClient');
    await pickQuickPickItem('Codex');
    await eventually(openPreviewDiff, 'the before/after diff');
    await answer('Disconnect Codex from Gatehouse', 'Cancel');
    await running;
    assert.equal(fs.readFileSync(configFile, 'utf8'), before);
  });

  it('moves a Codex server behind Gatehouse and restores it', async () => {
    const servers = path.join(process.env.GATEHOUSE_HOME!, 'servers.json');
    const moving = vscode.commands.executeCommand('gatehouse.moveCodexServers');
    await pickQuickPickItem('notes');
    await eventually(openPreviewDiff, 'the before/after diff');
    await answer('Move notes into Gatehouse', 'Write');
    await moving;
    const moved = TOML.parse(fs.readFileSync(configFile, 'utf8')) as unknown as CodexConfig;
    assert.equal(moved.mcp_servers.notes!.enabled, false);
    assert.ok('notes' in (JSON.parse(fs.readFileSync(servers, 'utf8')) as { servers: Record<string, unknown> }).servers);

    const restoring = vscode.commands.executeCommand('gatehouse.restoreCodexServers');
    await eventually(openPreviewDiff, 'the before/after diff');
    await answer('Re-enable notes in Codex', 'Write');
    await restoring;
    const restored = TOML.parse(fs.readFileSync(configFile, 'utf8')) as unknown as CodexConfig;
    assert.notEqual(restored.mcp_servers.notes!.enabled, false);
    assert.ok(!('notes' in (JSON.parse(fs.readFileSync(servers, 'utf8')) as { servers: Record<string, unknown> }).servers));
    assert.ok(fs.readFileSync(configFile, 'utf8').startsWith(USER_CONFIG.split('[mcp_servers.notes]')[0]!));
  });

  it('disconnects Codex, removing only the gatehouse table', async () => {
    const running = vscode.commands.executeCommand('gatehouse.disconnectClient');
    await pickQuickPickItem('Codex');
    await eventually(openPreviewDiff, 'the before/after diff');
    await answer('Disconnect Codex from Gatehouse', 'Write');
    await running;
    const text = fs.readFileSync(configFile, 'utf8');
    assert.ok(!('gatehouse' in (TOML.parse(text) as unknown as CodexConfig).mcp_servers));
    assert.ok(text.startsWith(USER_CONFIG.split('[mcp_servers.notes]')[0]!));
  });

  it('lists the values the user customised and replaces them only after Replace', async () => {
    const customised = `${USER_CONFIG}\n[mcp_servers.gatehouse]\nurl = "${url}"\nbearer_token_env_var = "GATEHOUSE_TOKEN"\ndefault_tools_approval_mode = "approve"\ntool_timeout_sec = 300\n`;
    fs.writeFileSync(configFile, customised);
    const declined = vscode.commands.executeCommand('gatehouse.connectCodex');
    await pickQuickPickItem('Environment variable');
    await answer('You changed values in the gatehouse entry', 'Cancel');
    await declined;
    assert.equal(fs.readFileSync(configFile, 'utf8'), customised);

    const accepted = vscode.commands.executeCommand('gatehouse.connectCodex');
    await pickQuickPickItem('Environment variable');
    await answer('You changed values in the gatehouse entry', 'Replace');
    await eventually(openPreviewDiff, 'the before/after diff');
    await answer('Connect Codex to Gatehouse', 'Write');
    await closeExportLine(accepted);
    const text = fs.readFileSync(configFile, 'utf8');
    assert.equal((TOML.parse(text) as unknown as CodexConfig).mcp_servers.gatehouse!.tool_timeout_sec, 120);
    assert.ok(text.startsWith(USER_CONFIG));
  });

  it('refuses a "gatehouse" server that points elsewhere and writes nothing', async () => {
    const foreign = `${USER_CONFIG}\n[mcp_servers.gatehouse]\ncommand = "some-other-gatehouse"\n`;
    fs.writeFileSync(configFile, foreign);
    const running = vscode.commands.executeCommand('gatehouse.connectCodex');
    await pickQuickPickItem('OAuth sign-in');
    await running;
    assert.equal(fs.readFileSync(configFile, 'utf8'), foreign);
    assert.equal(openPreviewDiff(), undefined, 'no diff is offered for a refused plan');
  });
});
