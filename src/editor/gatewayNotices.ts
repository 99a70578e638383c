import * as vscode from 'vscode';
import type { ConfigFileError } from '../core/store/files';
import type { GatewayState } from './gatewayHost';
import { Setting } from './settings';

type FailedState = Extract<GatewayState, { kind: 'failed' }>;

/** Tells the user why the gateway is not running and offers the action that fixes it. */
export async function showGatewayFailure(state: FailedState, log: vscode.LogOutputChannel): Promise<void> {
  const showLogs = 'Show Logs';
  switch (state.reason) {
    case 'portInUse': {
      const changePort = 'Change Port';
      const choice = await vscode.window.showErrorMessage(
        `Gatehouse could not start: ${state.message}. Choose another port, or stop it and restart the gateway.`,
        changePort,
        showLogs,
      );
      // gatehouse.port has machine scope: in a remote window (SSH, code-server) it lives in the
      // Remote settings, and the User settings do not even show it.
      if (choice === changePort) await vscode.commands.executeCommand(vscode.env.remoteName ? 'workbench.action.openRemoteSettings' : 'workbench.action.openSettings', Setting.port);
      if (choice === showLogs) log.show();
      return;
    }
    case 'badConfig': {
      const openFile = 'Open File';
      const actions = state.file ? [openFile, showLogs] : [showLogs];
      const choice = await vscode.window.showErrorMessage(`Gatehouse could not start: ${state.message}`, ...actions);
      if (choice === openFile && state.file) await vscode.window.showTextDocument(vscode.Uri.file(state.file));
      if (choice === showLogs) log.show();
      return;
    }
    case 'other': {
      const choice = await vscode.window.showErrorMessage(`Gatehouse could not start: ${state.message}`, showLogs);
      if (choice === showLogs) log.show();
      return;
    }
  }
}

/** servers.json broke while the gateway runs: say what is wrong and open the file. */
export async function showServersFileError(error: ConfigFileError): Promise<void> {
  const openFile = 'Open File';
  const choice = await vscode.window.showErrorMessage(`${error.message} The servers that were running keep running.`, openFile);
  if (choice === openFile) await vscode.window.showTextDocument(vscode.Uri.file(error.file));
}
