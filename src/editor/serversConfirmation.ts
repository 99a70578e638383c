import * as vscode from 'vscode';
import type { PendingServersChange } from '../core/approvals/serversGuard';
import { neutralizeText } from '../core/displayText';
import type { Gatehouse } from '../core/gatehouse';

/**
 * "servers.json was edited outside Gatehouse": a server that would be started waits for the
 * human. The modal lists each change whole; a long list also opens in a read-only editor tab
 * (scrollable) on request. Dismissing leaves the servers waiting. Returns the unsubscribe function.
 */
export function watchServersChanges(gatehouse: Gatehouse, log: vscode.LogOutputChannel): () => void {
  let asking = false;
  const onPending = (change: PendingServersChange): void => {
    if (asking) return;
    asking = true;
    void askServers(gatehouse, change, log).finally(() => (asking = false));
  };
  const off = gatehouse.servers.on('pendingServers', onPending);
  const waiting = gatehouse.servers.pendingChange();
  if (waiting) onPending(waiting);
  return off;
}

async function askServers(gatehouse: Gatehouse, change: PendingServersChange, log: vscode.LogOutputChannel): Promise<void> {
  const [start, putBack, showAll] = ['Start Them', 'Put servers.json Back', 'Show Whole Change'];
  const title = `servers.json was edited outside Gatehouse: ${change.changes.length} server${change.changes.length === 1 ? '' : 's'} wait to be started`;
  const lines = change.changes.map((line, index) => `[${index + 1}/${change.changes.length}] ${neutralizeText(line)}`);
  for (;;) {
    let choice: string | undefined;
    try {
      choice = await vscode.window.showWarningMessage(title, { modal: true, detail: lines.join('\n\n') }, start, putBack, showAll);
    } catch (error) {
      log.warn(`The servers.json modal could not be shown (${error instanceof Error ? error.message : String(error)}); asking in a notification`);
      choice = await vscode.window.showWarningMessage(`Gatehouse: ${title}.`, showAll, start, putBack);
    }
    if (choice === showAll) {
      const document = await vscode.workspace.openTextDocument({ content: `${title}\n\n${lines.join('\n\n')}\n`, language: 'plaintext' });
      await vscode.window.showTextDocument(document, { preview: true });
      continue;
    }
    if (gatehouse.servers.pendingChange() !== change) {
      void vscode.window.showInformationMessage('Gatehouse: that servers.json change was already decided or has changed; look again.');
      return;
    }
    if (choice === start) {
      gatehouse.confirmServers();
      log.info(`Confirmed servers.json change: ${change.names.join(', ')}`);
    } else if (choice === putBack) {
      gatehouse.rejectServers();
      log.info(`Rejected servers.json change: ${change.names.join(', ')}`);
    }
    return;
  }
}
