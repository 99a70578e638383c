import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { canEditArguments } from '../core/approvals/editedArguments';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import { decisionFor, reasonProblem, type ApprovalScope, type HumanDecision } from '../core/approvals/humanDecision';
import { neutralizeText } from '../core/displayText';
import { CommandId } from './commandIds';
import { Disposable } from './disposable';
import { NotificationBurst } from './notificationBurst';
import { commandLink, showPersistentNotification, type PersistentNotification } from './persistentNotification';
import { verdictDetails } from '../core/approvals/plainWords';
import { heldBecause, neutraliseLinks, notificationText, summariseArguments, waitingText, whoAsked } from './promptText';
import type { NotificationsMode } from './settings';

/**
 * The human channel as the editor's UI sees it: the core this window hosts, or (in a follower
 * window) the window that owns the gateway. Decisions made here always count as `editor`.
 */
export interface ApprovalChannel {
  readonly onDidRequestApproval: vscode.Event<ApprovalRequest>;
  /** Held calls this window did not see arrive (restored from pending.json, or found on following). */
  readonly onDidRestorePending?: vscode.Event<number>;
  /** A call was held, decided anywhere or expired: prompts for calls no longer pending close. */
  readonly onDidChangePendingCount?: vscode.Event<number>;
  pendingRequests(): ApprovalRequest[];
  findRequest(id: string): ApprovalRequest | undefined;
  decideRequest(id: string, decision: HumanDecision): Promise<DecideResult>;
}

/** Lets the rest of a burst arrive before the summary counts it. */
const SUMMARY_DELAY_MS = 400;

/** The commands behind a prompt's links. Not in the command palette: each needs this window's nonce. */
export const PromptCommand = {
  approve: 'gatehouse.prompt.approve',
  deny: 'gatehouse.prompt.deny',
  more: 'gatehouse.prompt.more',
  showAll: 'gatehouse.prompt.showAll',
} as const;

const channelNames: Record<string, string> = { editor: 'in the editor', browser: 'in the browser', terminal: 'in the serve terminal' };

/**
 * Keeps every held call in front of the person until it is decided or expires. A toast would
 * hide after a few seconds and could never be withdrawn, so each prompt is a progress
 * notification, which VS Code keeps on screen until the extension ends it: "<client> wants to
 * run <server> › <tool>", the key arguments, `additional_info` and why it was held, with
 * **Approve** first and **Deny** and **More…** (every other decision) beside it. It closes the
 * moment the call is decided anywhere (panel, browser, terminal, another window) or expires. A
 * burst replaces its prompts with one live "N calls waiting" summary.
 *
 * The links run commands that anything able to show a link could name, so each carries a nonce
 * that exists only in this extension host's memory; agent text never becomes a link.
 */
export class ApprovalNotifier extends Disposable {
  private readonly burst = new NotificationBurst();
  private summaryTimer: NodeJS.Timeout | undefined;
  private readonly prompts = new Map<string, PersistentNotification>();
  private summary: { close(): void; update(count: number): void } | undefined;
  private readonly nonce = crypto.randomBytes(16).toString('hex');

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
    if (channel.onDidChangePendingCount) this.register(channel.onDidChangePendingCount(() => this.withdrawSettled()));
    const decide = (decision: HumanDecision) => (id: unknown, nonce: unknown) => {
      if (this.checked(id, nonce)) void decideAndReport(this.channel, id, decision);
    };
    this.register(vscode.commands.registerCommand(PromptCommand.approve, decide(decisionFor('once', 'editor'))));
    this.register(vscode.commands.registerCommand(PromptCommand.deny, decide(decisionFor('deny', 'editor'))));
    this.register(vscode.commands.registerCommand(PromptCommand.more, (id: unknown, nonce: unknown) => {
      if (this.checked(id, nonce)) void showApprovalDetails(this.channel, id);
    }));
    this.register(vscode.commands.registerCommand(PromptCommand.showAll, (nonce: unknown) => {
      if (nonce === this.nonce) void vscode.commands.executeCommand(CommandId.showPending);
    }));
    this.register({
      dispose: () => {
        clearTimeout(this.summaryTimer);
        for (const prompt of this.prompts.values()) prompt.close();
        this.summary?.close();
      },
    });
  }

  private checked(id: unknown, nonce: unknown): id is string {
    if (nonce === this.nonce && typeof id === 'string') return true;
    this.log.warn('Ignored a Gatehouse approval link that this window did not show');
    return false;
  }

  private announce(request: ApprovalRequest): void {
    const mode = this.mode();
    if (mode === 'off') return;
    const inBurst = this.burst.arrive(Date.now());
    if (this.summary) this.summary.update(this.channel.pendingRequests().length);
    else if (mode === 'summary' || inBurst) this.scheduleSummary();
    else this.showRequest(request);
  }

  private scheduleSummary(): void {
    if (this.summaryTimer) return;
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      this.showSummary();
    }, SUMMARY_DELAY_MS);
  }

  /** One summary instead of a column of prompts: the ones already open make way for it. */
  private showSummary(): void {
    const count = this.channel.pendingRequests().length;
    if (count === 0 || this.isDisposed) return;
    for (const prompt of this.prompts.values()) prompt.close();
    this.prompts.clear();
    if (this.summary) {
      this.summary.update(count);
      return;
    }
    const show = commandLink('Show', PromptCommand.showAll, [this.nonce]);
    const notification = showPersistentNotification(`${waitingText(count)} ${show}`);
    this.summary = { close: () => notification.close(), update: (next: number) => notification.update(`${waitingText(next)} ${show}`) };
  }

  private showRequest(request: ApprovalRequest): void {
    const args = [request.id, this.nonce];
    const actions = [commandLink('Approve', PromptCommand.approve, args), commandLink('Deny', PromptCommand.deny, args), commandLink('More…', PromptCommand.more, args)].join(' · ');
    const why = neutraliseLinks(heldBecause(request));
    this.prompts.set(request.id, showPersistentNotification(`${notificationText(request)}. Held because ${why}. ${actions}`));
  }

  /** Closes the prompt of every call that is no longer pending, and the summary once none is. */
  private withdrawSettled(): void {
    const pending = new Set(this.channel.pendingRequests().map((request) => request.id));
    for (const [id, prompt] of this.prompts) {
      if (pending.has(id)) continue;
      prompt.close();
      this.prompts.delete(id);
    }
    if (!this.summary) return;
    if (pending.size === 0) {
      this.summary.close();
      this.summary = undefined;
    } else {
      this.summary.update(pending.size);
    }
  }
}

/** A decision, or a calm word when the request is no longer pending (decided elsewhere, expired). */
export async function decideAndReport(channel: ApprovalChannel, id: string, decision: HumanDecision): Promise<void> {
  const before = channel.findRequest(id);
  if (before && before.status !== 'pending') {
    void vscode.window.showInformationMessage(settledText(before));
    return;
  }
  const result = await channel.decideRequest(id, decision);
  // The window that runs the gateway logs every decision as it happens (gatewayHost.ts).
  if (result.ok) return;
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
  /** "Approve with changes…": the panel's JSON editor for this call. */
  readonly edit?: true;
}

/**
 * Everything about one held call and every way to decide it, in one quick pick: the decisions
 * first (so typing "Approve" picks one), then each argument in full, the matched rule and the expiry.
 */
export async function showApprovalDetails(channel: ApprovalChannel, id: string): Promise<void> {
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
  // Labels and details show agent-written text: invisible and reordering characters made visible.
  const info = (label: string, detail?: string): DetailItem => ({ label: neutralizeText(label), ...(detail ? { detail: neutralizeText(detail) } : {}) });
  const items: DetailItem[] = [
    separator('Decide'),
    { label: '$(check) Approve once', description: 'this call only', decision: approve('once') },
    { label: '$(check-all) Approve for this session', description: neutralizeText(`${request.clientName}'s current session, same tool`), decision: approve('session') },
    { label: '$(pass) Always allow these arguments', description: 'remembered in policy.json', decision: approve('arguments') },
    { label: '$(pass-filled) Always allow this tool', description: neutralizeText(`${request.server} › ${request.originalName}`), decision: approve('tool') },
    ...(canEditArguments(request) ? [{ label: '$(edit) Approve with changes…', description: 'edit the arguments as JSON first; the agent is told', edit: true as const }] : []),
    { label: '$(close) Deny', decision: async () => decisionFor('deny', 'editor') },
    { label: '$(comment) Deny with reason…', description: 'the agent sees your reason', decision: () => askDenyReason() },
    { label: '$(circle-slash) Always deny this tool', decision: async () => decisionFor('denyAlways', 'editor') },
    separator('Arguments'),
    ...Object.entries(request.arguments).map(([key, value]) => info(`$(symbol-field) ${key}`, typeof value === 'string' ? value : JSON.stringify(value))),
    separator('Request'),
    info(`$(account) Asked by ${request.clientName}`, whoAsked(request)),
    ...(request.reopened ? [info('$(history) Asked again', request.reopened)] : []),
    ...(request.additionalInfo ? [info('$(info) The agent says', request.additionalInfo)] : []),
    info(`$(law) Held because ${heldBecause(request)}`, `policy: ${verdictDetails({ decision: 'ask', ...(request.reason ? { reason: request.reason } : {}), ...(request.rule ? { rule: request.rule } : {}) })}`),
    info(`$(watch) Expires ${new Date(request.expiresAt).toLocaleTimeString()}`, `request ${request.id}`),
    separator('More'),
    { label: '$(layout-panel) Open in the Gatehouse panel', description: 'every pending call, rules and history', openPanel: true },
  ];
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, {
      title: neutralizeText(`Gatehouse: ${request.clientName} wants to run ${request.server} › ${request.originalName}`),
      placeHolder: neutralizeText(summariseArguments(request.arguments)) || 'no arguments',
      matchOnDetail: false,
      ignoreFocusOut: true,
    });
    if (!picked) return;
    if (picked.openPanel || picked.edit) {
      // One JSON editor for held calls, the panel's, checked by the core against the tool's schema.
      await vscode.commands.executeCommand(CommandId.openPanel, 'pending', ...(picked.edit ? [request.id] : []));
      return;
    }
    // Argument and request lines are there to read; picking one shows the list again.
    if (!picked.decision) continue;
    const decision = await picked.decision();
    if (!decision) continue;
    await decideAndReport(channel, request.id, decision);
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

