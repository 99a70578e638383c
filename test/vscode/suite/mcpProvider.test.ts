import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ApiKeyStore } from '../../../src/core/auth/apiKeys';
import type { GatehouseApi } from '../../../src/extension';
import { report } from './harness';

describe("VS Code's own MCP client", () => {
  it('starts Gatehouse from the extension provider, with a dedicated "VS Code" key, and sees its tools', async function () {
    const api = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.activate();
    assert.equal((await api.gatewayReady).kind, 'running');
    const started = Date.now();
    await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true, autoTrustChanges: true });
    const names = vscode.lm.tools.map((tool) => tool.name);
    report(`      MCP server started in ${Date.now() - started} ms; lm.tools: ${names.filter((n) => /integrations|demo/.test(n)).join(', ')}`);
    assert.ok(names.some((name) => name.includes('list_integrations')), `no Gatehouse tool among ${names.length} tools`);
    const labels = new ApiKeyStore(process.env.GATEHOUSE_HOME!).list().map((record) => record.label);
    assert.ok(labels.includes('VS Code'), `keys: ${labels.join(', ')}`);
  });
});
