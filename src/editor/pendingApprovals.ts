import * as vscode from 'vscode';
import type { ApprovalRequest } from '../core/approvals/approvalQueue';
import { showApprovalDetails } from './approvalNotifications';
import type { ApprovalChannel } from './approvalNotifications';
import { CommandId } from './commandIds';
import { summariseArguments } from './promptText';

interface RequestItem extends vscode.QuickPickItem {
  readonly request?: ApprovalRequest;
}

/**
 * "Show Pending Approvals": a quick pick of held calls, then the full request and every way to
 * decide it. Decisions go through the human channel (this window's core, or the owner window's).
 */
export async function showPendingApprovals(channel: ApprovalChannel): Promise<void> {
  const pending = channel.pendingRequests();
  if (pending.length === 0) {
    void vscode.window.showInformationMessage('No calls are waiting for your approval.');
    return;
  }
  const requests: RequestItem[] = pending.map((request) => ({
    request,
    label: `${request.clientName} wants to run ${request.server} › ${request.originalName}`,
    description: `expires ${new Date(request.expiresAt).toLocaleTimeString()}`,
    detail: [summariseArguments(request.arguments), request.additionalInfo].filter(Boolean).join(' · '),
  }));
  // The panel decides many calls at once (batch approve, deny with reason) and shows the policy around them.
  const panel: RequestItem = { label: '$(layout-panel) Open the Gatehouse panel', description: 'batch decisions, rules and history' };
  const picked = await vscode.window.showQuickPick<RequestItem>([...requests, panel], {
    title: 'Gatehouse: pending approvals',
    placeHolder: 'Choose a call to decide',
    matchOnDetail: true,
  });
  if (!picked) return;
  if (!picked.request) {
    await vscode.commands.executeCommand(CommandId.openPanel, 'pending');
    return;
  }
  await showApprovalDetails(channel, picked.request.id);
}
