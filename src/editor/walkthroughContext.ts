import * as vscode from 'vscode';

/**
 * Context keys the "Get started" walkthrough ticks its steps on (`onContext:` completion
 * events), so a step is done when what it asks for is true, not when a command was merely run.
 */
export const WalkthroughContext = {
  gatewayRunning: 'gatehouse.gatewayRunning',
  codexConnected: 'gatehouse.codexConnected',
} as const;

export function setWalkthroughContext(key: (typeof WalkthroughContext)[keyof typeof WalkthroughContext], value: boolean): void {
  void vscode.commands.executeCommand('setContext', key, value);
}
