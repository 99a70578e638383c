import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GatehouseApi } from '../../../src/extension';
import { clickNotificationButton, report, statusBarEventually, takeScreenshot } from './harness';

const EXTENSION_ID = 'gatehouse.gatehouse';

describe('the packaged extension in a real VS Code', () => {
  let extension: vscode.Extension<GatehouseApi>;
  let api: GatehouseApi;

  before(async () => {
    const found = vscode.extensions.getExtension<GatehouseApi>(EXTENSION_ID);
    assert.ok(found, `${EXTENSION_ID} is not installed`);
    extension = found;
    api = await extension.activate();
  });

  it('is installed from the .vsix and active', () => {
    assert.equal(extension.isActive, true);
    assert.equal(extension.packageJSON.publisher, 'gatehouse');
    // The runner points extensionDevelopmentPath at the folder `--install-extension` unpacked.
    assert.match(extension.extensionPath, /gatehouse\.gatehouse-\d+\.\d+\.\d+$/);
  });

  it('registers every command the manifest contributes', async () => {
    const contributed = (extension.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(contributed.length >= 9, `only ${contributed.length} commands in the manifest`);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
      'contributed but not registered',
    );
  });

  it('activates without waiting for the gateway, and reports both times', async () => {
    report(`      activation time: ${api.activationMs.toFixed(1)} ms`);
    const gateway = await api.gatewayReady;
    const detail = gateway.kind === 'running' ? gateway.url : gateway.kind === 'failed' ? `${gateway.reason}: ${gateway.message}` : '';
    report(`      gateway ${gateway.kind} ${gateway.readyMs.toFixed(1)} ms after activation began: ${detail}`);
    assert.equal(gateway.kind, 'running', detail);
    // Both are measured from the start of activate(): the gateway came up after activate() had returned.
    assert.ok(gateway.readyMs >= api.activationMs, `gateway ready at ${gateway.readyMs} ms, activation returned at ${api.activationMs} ms`);
  });

  it('serves the gateway on the loopback port from the settings', async () => {
    const gateway = await api.gatewayReady;
    assert.equal(gateway.kind, 'running');
    // The runner sets an ephemeral gatehouse.port in the user settings.
    const port = vscode.workspace.getConfiguration().get<number>('gatehouse.port');
    assert.equal(gateway.url, `http://127.0.0.1:${port}/mcp`);
    const response = await fetch(new URL('/.well-known/gatehouse', gateway.url));
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { product: string }).product, 'gatehouse');
  });

  it('shows the Gatehouse shield in the status bar', async () => {
    await statusBarEventually(/Gatehouse/);
    await takeScreenshot('statusbar', 'statusbar');
  });

  it('lets the runner click a notification button by its text', async () => {
    const shown = vscode.window.showInformationMessage('Gatehouse harness check', 'Press me');
    await clickNotificationButton('Gatehouse harness check', 'Press me');
    assert.equal(await shown, 'Press me');
  });
});
