import * as vscode from 'vscode';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import { decisionFor, reasonProblem, type ApprovalScope, type HumanDecision } from '../core/approvals/humanDecision';
import { CommandId } from './commandIds';
import { Disposable } from './disposable';
import { NotificationBurst } from './notificationBurst';
import type { NotificationsMode } from './settings';

/**
 * The human channel as the editor's UI sees it: the core this window hosts, or (in a follower
 * window) the window that owns the gateway. Decisions made here always count as `editor`.
 */
export interface ApprovalChannel {
  readonly onDidRequestApproval: vscode.Event<ApprovalRequest>;
  /** Held calls this window did not see arrive (restored from pending.json, or found on following). */
  readonly onDidRestorePending?: vscode.Event<number>;
  pendingRequests(): ApprovalRequest[];
  findRequest(id: string): ApprovalRequest | undefined;
  decideRequest(id: string, decision: HumanDecision): Promise<DecideResult>;
}

/** Lets the rest of a burst arrive before the summary counts it. */
const SUMMARY_DELAY_MS = 400;

const channelNames: Record<string, string> = { editor: 'in the editor', browser: 'in the browser', terminal: 'in the serve terminal' };

/**
 * One notification per held call: "<client> wants to run <server> › <tool>", the key
 * arguments and the agent's `additional_info`, with Approve, Deny and Details. A burst becomes one
 * "N calls waiting" summary. VS Code cannot withdraw a notification, so one whose request was
 * decided elsewhere or expired answers a late click by saying so.
 */
export class ApprovalNotifier extends Disposable {
  private readonly burst = new NotificationBurst();
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly channel: ApprovalChannel,
    private readonly mode: () => NotificationsMode,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(channel.onDidRequestApproval((request) => this.announce(request)));
    if (channel.onDidRestorePending) {
      this.register(channel.onDidRestorePending(() => {
        if (this.mode() !== 'off') this.scheduleSummary();
      }));
    }
    this.register({ dispose: () => clearTimeout(this.summaryTimer) });
  }

  private announce(request: ApprovalRequest): void {
    const mode = this.mode();
    if (mode === 'off') return;
    const inBurst = this.burst.arrive(Date.now());
    if (mode === 'summary' || inBurst) this.scheduleSummary();
    else void this.showRequest(request);
  }

  private scheduleSummary(): void {
    if (this.summaryTimer) return;
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      void this.showSummary();
    }, SUMMARY_DELAY_MS);
  }

  private async showSummary(): Promise<void> {
    const count = this.channel.pendingRequests().length;
    if (count === 0 || this.isDisposed) return;
    const show = 'Show';
    const choice = await vscode.window.showWarningMessage(`Gatehouse: ${count} call${count === 1 ? '' : 's'} waiting for your approval`, show);
    if (choice === show) await vscode.commands.executeCommand(CommandId.showPending);
  }

  private async showRequest(request: ApprovalRequest): Promise<void> {
    const [approve, deny, details] = ['Approve', 'Deny', 'Details'];
    const choice = await vscode.window.showWarningMessage(notificationText(request), approve, deny, details);
    if (!choice) return;
    if (choice === details) {
      await showApprovalDetails(this.channel, request.id);
      return;
    }
    const decision = decisionFor(choice === approve ? 'once' : 'deny', 'editor');
    await decideAndReport(this.channel, request.id, decision, this.log);
  }
}

/** "codex wants to run github › create_issue: title: "Fix", body: "…" — “additional info”" */
export function notificationText(request: ApprovalRequest): string {
  const args = summariseArguments(request.arguments);
  const info = request.additionalInfo ? ` — “${truncate(request.additionalInfo, 160)}”` : '';
  return `${request.clientName} wants to run ${request.server} › ${request.originalName}${args ? `: ${args}` : ''}${info}`;
}

/** A decision, or a calm word when the request is no longer pending (decided elsewhere, expired). */
export async function decideAndReport(channel: ApprovalChannel, id: string, decision: HumanDecision, log: vscode.LogOutputChannel): Promise<void> {
  const before = channel.findRequest(id);
  if (before && before.status !== 'pending') {
    void vscode.window.showInformationMessage(settledText(before));
    return;
  }
  const result = await channel.decideRequest(id, decision);
  if (result.ok) {
    log.info(`${decision.kind === 'approve' ? `Approved (${decision.scope})` : 'Denied'} ${result.request.tool} for ${result.request.clientName} (${id})`);
    return;
  }
  const after = channel.findRequest(id);
  void vscode.window.showInformationMessage(after && after.status !== 'pending' ? settledText(after) : `Gatehouse: ${result.message}`);
}

/** "This call was already approved in the browser." */
export function settledText(request: ApprovalRequest): string {
  const what = `${request.server} › ${request.originalName}`;
  if (request.status === 'expired') return `Gatehouse: ${what} expired before a decision; the agent has to ask again.`;
  const where = request.decision ? (channelNames[request.decision.channel] ?? '') : '';
  return `Gatehouse: ${what} was already ${request.status}${where ? ` ${where}` : ''}.`;
}

interface DetailItem extends vscode.QuickPickItem {
  readonly decision?: () => Promise<HumanDecision | undefined>;
  readonly openPanel?: true;
}

/**
 * Everything about one held call and every way to decide it, in one quick pick: the decisions
 * first (so typing "Approve" picks one), then each argument in full, the matched rule and the expiry.
 */
export async function showApprovalDetails(channel: ApprovalChannel, id: string, log?: vscode.LogOutputChannel): Promise<void> {
  const request = channel.findRequest(id);
  if (!request) {
    void vscode.window.showInformationMessage('Gatehouse: this request is gone (it was decided or expired a while ago).');
    return;
  }
  if (request.status !== 'pending') {
    void vscode.window.showInformationMessage(settledText(request));
    return;
  }
  const approve = (scope: ApprovalScope) => async (): Promise<HumanDecision> => decisionFor(scope, 'editor');
  const separator = (label: string): DetailItem => ({ label, kind: vscode.QuickPickItemKind.Separator });
  const info = (label: string, detail?: string): DetailItem => ({ label, ...(detail ? { detail } : {}) });
  const items: DetailItem[] = [
    separator('Decide'),
    { label: '$(check) Approve', description: 'this call only', decision: approve('once') },
    { label: '$(check-all) Approve for this session', description: `${request.clientName}'s current session, same tool`, decision: approve('session') },
    { label: '$(pass) Always allow these arguments', description: 'remembered in policy.json', decision: approve('arguments') },
    { label: '$(pass-filled) Always allow this tool', description: `${request.server} › ${request.originalName}`, decision: approve('tool') },
    { label: '$(close) Deny', decision: async () => decisionFor('deny', 'editor') },
    { label: '$(comment) Deny with reason…', description: 'the agent sees your reason', decision: () => askDenyReason() },
    { label: '$(circle-slash) Always deny this tool', decision: async () => decisionFor('denyAlways', 'editor') },
    separator('Arguments'),
    ...Object.entries(request.arguments).map(([key, value]) => info(`$(symbol-field) ${key}`, typeof value === 'string' ? value : JSON.stringify(value))),
    separator('Request'),
    info(`$(account) ${request.clientName}`, `client ${request.clientId}`),
    ...(request.additionalInfo ? [info('$(info) The agent says', request.additionalInfo)] : []),
    info(`$(law) ${request.rule ? `Rule ${request.rule.id}: ${request.rule.decision}` : 'No rule matched: the default decision applies'}`, request.rule?.reason ?? request.reason),
    info(`$(watch) Expires ${new Date(request.expiresAt).toLocaleTimeString()}`, `request ${request.id}`),
    separator('More'),
    { label: '$(layout-panel) Open in the Gatehouse panel', description: 'every pending call, rules and history', openPanel: true },
  ];
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, {
      title: `Gatehouse: ${request.clientName} wants to run ${request.server} › ${request.originalName}`,
      placeHolder: summariseArguments(request.arguments) || 'no arguments',
      matchOnDetail: false,
      ignoreFocusOut: true,
    });
    if (!picked) return;
    if (picked.openPanel) {
      await vscode.commands.executeCommand(CommandId.openPanel, 'pending');
      return;
    }
    // Argument and request lines are there to read; picking one shows the list again.
    if (!picked.decision) continue;
    const decision = await picked.decision();
    if (!decision) continue;
    await decideAndReport(channel, request.id, decision, log ?? noLog);
    return;
  }
}

async function askDenyReason(): Promise<HumanDecision | undefined> {
  const reason = await vscode.window.showInputBox({
    title: 'Gatehouse: deny with a reason',
    prompt: 'The agent sees this reason; tell it what to do instead.',
    ignoreFocusOut: true,
    validateInput: reasonProblem,
  });
  return reason === undefined ? undefined : decisionFor('deny', 'editor', reason);
}

const noLog = { info: () => undefined } as unknown as vscode.LogOutputChannel;

export function summariseArguments(args: Record<string, unknown>): string {
  const summary = Object.entries(args)
    .slice(0, 3)
    .map(([key, value]) => `${key}: ${truncate(typeof value === 'string' ? value : JSON.stringify(value), 40)}`)
    .join(', ');
  return Object.keys(args).length > 3 ? `${summary}, …` : summary;
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
