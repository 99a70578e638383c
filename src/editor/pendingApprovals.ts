import * as vscode from 'vscode';
import type { ApprovalRequest } from '../core/approvals/approvalQueue';
import type { Gatehouse } from '../core/gatehouse';

interface RequestItem extends vscode.QuickPickItem {
  readonly request: ApprovalRequest;
}

interface DecisionItem extends vscode.QuickPickItem {
  readonly decide: () => ReturnType<Gatehouse['decide']>;
}

/**
 * "Show Pending Approvals": a quick pick of held calls, then the decision. A stand-in until the
 * notifications and the policy panel exist; decisions go through the in-process human channel.
 */
export async function showPendingApprovals(gatehouse: Gatehouse): Promise<void> {
  const pending = gatehouse.approvals.pending();
  if (pending.length === 0) {
    void vscode.window.showInformationMessage('No calls are waiting for your approval.');
    return;
  }
  const picked = await vscode.window.showQuickPick<RequestItem>(
    pending.map((request) => ({
      request,
      label: `${request.clientName} wants to run ${request.server} › ${request.originalName}`,
      description: `expires ${new Date(request.expiresAt).toLocaleTimeString()}`,
      detail: [summariseArguments(request.arguments), request.additionalInfo].filter(Boolean).join(' · '),
    })),
    { title: 'Gatehouse: pending approvals', placeHolder: 'Choose a call to decide', matchOnDetail: true },
  );
  if (!picked) return;
  const { request } = picked;
  const approve = (scope: 'once' | 'session' | 'tool' | 'arguments') => () => gatehouse.decide(request.id, { kind: 'approve', scope, channel: 'editor' });
  const decision = await vscode.window.showQuickPick<DecisionItem>(
    [
      { label: 'Approve', description: 'this call only', decide: approve('once') },
      { label: 'Approve for this session', decide: approve('session') },
      { label: 'Always allow these arguments', decide: approve('arguments') },
      { label: 'Always allow this tool', decide: approve('tool') },
      { label: 'Deny', decide: () => gatehouse.decide(request.id, { kind: 'deny', channel: 'editor' }) },
    ],
    { title: `${request.server} › ${request.originalName}`, placeHolder: JSON.stringify(request.arguments) },
  );
  if (!decision) return;
  const result = decision.decide();
  // The request may have been decided elsewhere or expired while the pick was open.
  if (!result.ok) void vscode.window.showWarningMessage(`Gatehouse: ${result.message}`);
}

function summariseArguments(args: Record<string, unknown>): string {
  const summary = Object.entries(args)
    .slice(0, 3)
    .map(([key, value]) => `${key}: ${truncate(typeof value === 'string' ? value : JSON.stringify(value), 40)}`)
    .join(', ');
  return Object.keys(args).length > 3 ? `${summary}, …` : summary;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
