import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import * as vscode from 'vscode';
import { connectWithKey, createKey, pickQuickPickItem, statusBarEventually, runningGateway, takeScreenshot } from './harness';


describe('a held call in the editor', () => {
  let home: string;
  let client: Client;

  before(async () => {
    const gateway = await runningGateway();
    home = gateway.home;
    client = await connectWithKey(gateway.url, createKey(home, 'vscode-suite'), 'vscode-suite');
  });

  after(async () => {
    await client?.close();
  });

  it('counts the held call in the status bar and runs it once approved from Show Pending Approvals', async () => {
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name: 'from-vscode.txt', content: 'approved in VS Code' } });
    const holding = held.structuredContent as { status: string; request_id: string };
    assert.equal(holding.status, 'approval_required');
    await statusBarEventually(/Gatehouse 1$/);
    await takeScreenshot('statusbar-pending', 'statusbar');

    const picking = vscode.commands.executeCommand('gatehouse.showPending');
    await pickQuickPickItem('write_note');
    await pickQuickPickItem('Approve');
    await picking;

    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: holding.request_id } });
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'from-vscode.txt'), 'utf8'), 'approved in VS Code');
    await statusBarEventually(/Gatehouse$/);
  });
});
