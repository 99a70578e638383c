import * as vscode from 'vscode';
import { CommandId } from './commandIds';
import { Disposable } from './disposable';
import type { GatewayHost, GatewayState } from './gatewayHost';

/** The shield in the status bar: gateway state at a glance, pending count, click for the queue. */
export class GatehouseStatusBar extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('gatehouse.status', vscode.StatusBarAlignment.Right, 100));
  private pendingCount = 0;

  constructor(private readonly gateway: GatewayHost) {
    super();
    this.item.name = 'Gatehouse';
    this.item.command = CommandId.showPending;
    this.register(gateway.onDidChangeState((state) => this.render(state)));
    this.register(gateway.onDidChangePendingCount((count) => this.setPendingCount(count)));
    this.render(gateway.state);
    this.item.show();
  }

  private setPendingCount(count: number): void {
    this.pendingCount = count;
    this.render(this.gateway.state);
  }

  private render(state: GatewayState): void {
    const failed = state.kind === 'failed';
    const signIn = state.kind === 'running' && (state.needsSignIn?.length ?? 0) > 0;
    const icon = failed ? '$(shield) $(warning)' : signIn ? '$(shield) $(key)' : '$(shield)';
    this.item.text = this.pendingCount > 0 ? `${icon} Gatehouse ${this.pendingCount}` : `${icon} Gatehouse`;
    this.item.backgroundColor = this.pendingCount > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    // The key icon says "needs sign-in" to the eye only; a screen reader hears it here.
    const needsSignIn = state.kind === 'running' ? (state.needsSignIn ?? []) : [];
    this.item.accessibilityInformation = {
      label: `Gatehouse, ${this.pendingCount} pending approval${this.pendingCount === 1 ? '' : 's'}${needsSignIn.length ? `, needs sign-in: ${needsSignIn.join(', ')}` : ''}`,
    };
    this.item.tooltip = tooltipFor(state, this.pendingCount);
  }
}

function tooltipFor(state: GatewayState, pendingCount: number): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendMarkdown('**Gatehouse**\n\n');
  switch (state.kind) {
    case 'running':
      tooltip.appendMarkdown(`MCP endpoint: \`${state.url}\`\n\n`);
      tooltip.appendMarkdown(
        state.ownerPid === undefined
          ? `Upstreams ready: ${state.readyUpstreams} of ${state.totalUpstreams}\n\n${state.needsSignIn?.length ? `Needs sign-in: ${state.needsSignIn.map(escapeMarkdown).join(', ')} (Gatehouse: Sign In to Server…)\n\n` : ''}`
          : `Served by another VS Code window (pid ${state.ownerPid}); this window shows its approvals and takes over if it closes.\n\n`,
      );
      break;
    case 'starting':
      tooltip.appendMarkdown(`Starting on port ${state.port}…\n\n`);
      break;
    case 'failed':
      tooltip.appendMarkdown(`Gateway not running: ${escapeMarkdown(state.message)}\n\n`);
      break;
    case 'stopped':
      tooltip.appendMarkdown('Gateway stopped\n\n');
      break;
  }
  tooltip.appendMarkdown(`Pending approvals: ${pendingCount} (click to show)`);
  return tooltip;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
