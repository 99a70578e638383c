import type { ApprovalRequest } from '../core/approvals/approvalQueue';
import { decisionFor, MAX_REASON_LENGTH, type DecisionChoice } from '../core/approvals/humanDecision';
import { verdictDetails, verdictInWords } from '../core/approvals/plainWords';
import type { ConsentRequest } from '../core/auth/consent';
import type { PendingPolicyChange } from '../core/approvals/policyStore';
import type { PendingServersChange } from '../core/approvals/serversGuard';
import type { Gatehouse } from '../core/gatehouse';
import { hasInvisibleCharacters, neutralizeText } from '../core/displayText';

/** What the terminal needs from the core: the queue, consent, the in-process decision and pairing. */
export type TerminalGatehouse = Pick<Gatehouse, 'approvals' | 'consent' | 'decide' | 'createPairingLink' | 'pairing' | 'policy' | 'servers' | 'confirmServers' | 'rejectServers'>;

export interface KeyInput {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  setRawMode?(mode: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
}

export interface TerminalApprovalsOptions {
  readonly gatehouse: TerminalGatehouse;
  /** `process.stdin` on a TTY; a PassThrough in tests. */
  readonly input: KeyInput;
  /** Raw output, no newline added (the reason prompt echoes keystrokes). */
  readonly write: (text: string) => void;
  /** Ctrl-C: raw mode turns it into a keystroke, so the owner decides what stopping means. */
  readonly onInterrupt?: () => void;
  readonly now?: () => number;
}

type Item =
  | { readonly kind: 'approval'; readonly request: ApprovalRequest }
  | { readonly kind: 'consent'; readonly request: ConsentRequest }
  | { readonly kind: 'policy'; readonly change: PendingPolicyChange }
  | { readonly kind: 'servers'; readonly change: PendingServersChange };

const MAX_SHOWN_ARGUMENTS = 20;
const MAX_VALUE_CHARS = 600;
const APPROVAL_KEYS = '[a] approve once  [s] for this session  [t] always allow tool  [d] deny  [r] deny with reason  [n] later';
/** One keystroke per decision; [r] (deny with a reason) reads a line first. */
interface KeyedChoice {
  readonly choice: DecisionChoice;
  readonly done: (tool: string) => string;
}
const KEY_CHOICES = new Map<string, KeyedChoice>([
  ['a', { choice: 'once', done: () => 'Approved once' }],
  ['s', { choice: 'session', done: () => 'Approved for this session' }],
  ['t', { choice: 'tool', done: (tool) => `Approved; ${tool} is now always allowed` }],
  ['d', { choice: 'deny', done: () => 'Denied' }],
]);

/**
 * The serve terminal as a human channel: shows each held call and OAuth sign-in,
 * oldest first, and takes one keystroke per decision. Keys are lowercase letters only, so the
 * escape sequences of arrow keys (ESC [ A … D) never decide anything.
 */
export class TerminalApprovals {
  private current: Item | undefined;
  private readonly skipped = new Set<string>();
  private reason: { readonly requestId: string; text: string } | undefined;
  private lastWasCarriageReturn = false;
  private started = false;
  private readonly now: () => number;
  private readonly onData = (chunk: Buffer | string): void => this.handleInput(chunk.toString());
  private readonly onChanged = (): void => this.refresh();
  private readonly onRequested = (request: ApprovalRequest): void => this.announce(`New held call from ${clean(request.clientName)}: ${clean(request.server)} › ${clean(request.originalName)}.`);
  private readonly onConsentRequested = (request: ConsentRequest): void => this.announce(`${clean(request.clientName)} asks to connect.`);
  private readonly onPolicyLoosening = (): void => this.announce('policy.json was edited to allow more.');
  private readonly onServersPending = (): void => this.announce('servers.json was edited to start something new.');
  private unsubscribePolicy: (() => void)[] = [];

  constructor(private readonly options: TerminalApprovalsOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { input, gatehouse } = this.options;
    input.setRawMode?.(true);
    input.setEncoding?.('utf8');
    input.on('data', this.onData);
    input.resume();
    gatehouse.approvals.on('requested', this.onRequested);
    gatehouse.approvals.on('decided', this.onChanged);
    gatehouse.approvals.on('expired', this.onChanged);
    gatehouse.consent.on('consentRequested', this.onConsentRequested);
    gatehouse.consent.on('consentDecided', this.onChanged);
    this.unsubscribePolicy = [
      gatehouse.policy.on('pendingLoosening', this.onPolicyLoosening),
      gatehouse.policy.on('changed', this.onChanged),
      gatehouse.servers.on('pendingServers', this.onServersPending),
      gatehouse.servers.on('changed', this.onChanged),
    ];
    // No pairing link unless a person asks for one now: scrollback (`tmux capture-pane`) and `| tee`
    // logs outlive the moment, and an agent that reads one pairs a browser and approves itself.
    this.line('Held calls and sign-ins appear here. Keys: [p] pairing link for a browser  [l] show skipped again  [?] help');
    this.refresh();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    const { input, gatehouse } = this.options;
    input.off('data', this.onData);
    input.setRawMode?.(false);
    input.pause();
    gatehouse.approvals.off('requested', this.onRequested);
    gatehouse.approvals.off('decided', this.onChanged);
    gatehouse.approvals.off('expired', this.onChanged);
    gatehouse.consent.off('consentRequested', this.onConsentRequested);
    gatehouse.consent.off('consentDecided', this.onChanged);
    for (const unsubscribe of this.unsubscribePolicy.splice(0)) unsubscribe();
  }

  private handleInput(text: string): void {
    for (const char of text) {
      const afterCarriageReturn = this.lastWasCarriageReturn;
      this.lastWasCarriageReturn = char === '\r';
      // A terminal sends "\r", a pipe "\n", a paste perhaps "\r\n": one Enter each time.
      if (char === '\n' && afterCarriageReturn) continue;
      if (char === '\u0003') {
        this.options.onInterrupt?.();
        continue;
      }
      if (this.reason) this.reasonKey(char);
      else this.commandKey(char);
    }
  }

  private commandKey(key: string): void {
    const enter = key === '\r' || key === '\n';
    if (key === 'p') return this.printPairingLink();
    if (key === '?' || key === 'h') return this.printHelp();
    if (key === 'u') {
      this.options.gatehouse.pairing.revokeAll();
      return this.line('Unpaired every browser; press [p] for a new pairing link.');
    }
    if (key === 'l') {
      this.skipped.clear();
      this.current = undefined;
      return this.refresh();
    }
    const item = this.current;
    if (!item) return;
    if (item.kind === 'consent') {
      if (key === 'y' || key === 'n') return this.decideConsent(item.request, key === 'y' ? 'allow' : 'deny');
      if (enter) return this.skip(item);
      return;
    }
    if (item.kind === 'policy') {
      if (key === 'y' || key === 'n') return this.decidePolicy(key === 'y');
      if (enter) return this.skip(item);
      return;
    }
    if (item.kind === 'servers') {
      if (key === 'y' || key === 'n') return this.decideServers(key === 'y');
      if (enter) return this.skip(item);
      return;
    }
    const id = item.request.id;
    const keyed = KEY_CHOICES.get(key);
    if (keyed) return this.decideApproval(id, decisionFor(keyed.choice, 'terminal'), keyed.done(clean(item.request.tool)));
    switch (key) {
      case 'r':
        this.reason = { requestId: id, text: '' };
        this.options.write('Reason the agent will see (Enter to deny, Esc to cancel): ');
        return;
      case 'n':
        return this.skip(item);
      default:
        if (enter) this.skip(item);
    }
  }

  private reasonKey(char: string): void {
    const reason = this.reason!;
    if (char === '\r' || char === '\n') {
      this.reason = undefined;
      this.options.write('\n');
      const text = reason.text.trim();
      this.decideApproval(reason.requestId, decisionFor('deny', 'terminal', text), text ? `Denied ("${clean(text)}")` : 'Denied');
    } else if (char === '\u001b') {
      this.reason = undefined;
      this.line(' (cancelled)');
      this.current = undefined;
      this.refresh();
    } else if (char === '\u007f' || char === '\b') {
      if (reason.text.length === 0) return;
      reason.text = [...reason.text].slice(0, -1).join('');
      this.options.write('\b \b');
    } else if (!hasInvisibleCharacters(char) && reason.text.length < MAX_REASON_LENGTH) {
      reason.text += char;
      this.options.write(char);
    }
  }

  private decideApproval(id: string, decision: Parameters<TerminalGatehouse['decide']>[1], done: string): void {
    // Cleared first: the 'decided' event re-enters refresh() and must not report our own decision.
    this.current = undefined;
    const result = this.options.gatehouse.decide(id, decision);
    this.line(result.ok ? `${done}: ${id}` : `Not decided: ${result.message}`);
    this.refresh();
  }

  private decideConsent(request: ConsentRequest, decision: 'allow' | 'deny'): void {
    this.current = undefined;
    const decided = this.options.gatehouse.consent.decide(request.id, decision);
    this.line(decided ? `${decision === 'allow' ? 'Allowed' : 'Denied'} sign-in for ${clean(request.clientName)}.` : 'Not decided: that sign-in request already ended.');
    this.refresh();
  }

  private decidePolicy(confirm: boolean): void {
    this.current = undefined;
    const { policy } = this.options.gatehouse;
    if (!policy.pendingChange()) {
      this.line('Not decided: that policy change is no longer waiting.');
    } else if (confirm) {
      policy.confirmPending();
      this.line('Confirmed: the edited policy.json is now in force.');
    } else {
      policy.rejectPending();
      this.line('Rejected: policy.json was put back to the policy in force.');
    }
    this.refresh();
  }

  private decideServers(confirm: boolean): void {
    this.current = undefined;
    const { gatehouse } = this.options;
    try {
      if (!gatehouse.servers.pendingChange()) this.line('Not decided: that servers.json change is no longer waiting.');
      else if (confirm) {
        gatehouse.confirmServers();
        this.line('Confirmed: the new servers.json entries start now.');
      } else {
        gatehouse.rejectServers();
        this.line('Rejected: servers.json was put back to the servers in force.');
      }
    } catch (error) {
      this.line(`Not decided: ${clean(error instanceof Error ? error.message : String(error))}`);
    }
    this.refresh();
  }

  private skip(item: Item): void {
    this.skipped.add(keyOf(item));
    this.current = undefined;
    this.line('Later.');
    this.refresh();
  }

  /** Shows the oldest undecided item, unless one is on screen and still waiting. */
  private refresh(): void {
    if (!this.started) return;
    const waiting = this.waitingItems();
    if (this.current) {
      if (waiting.some((item) => keyOf(item) === keyOf(this.current!))) return;
      if (this.reason) {
        this.reason = undefined;
        this.options.write('\n');
      }
      this.line(this.describeEnd(this.current));
      this.current = undefined;
    }
    if (this.reason) return;
    for (const key of [...this.skipped]) if (!waiting.some((item) => keyOf(item) === key)) this.skipped.delete(key);
    const next = waiting.find((item) => !this.skipped.has(keyOf(item)));
    if (!next) {
      if (this.skipped.size) this.line(`${this.skipped.size} waiting for later. Press [l] to go through them again.`);
      return;
    }
    this.current = next;
    this.show(next, waiting.length);
  }

  /** Consent first: someone is watching a browser tab wait for it. Then a policy edit, then held calls, oldest first. */
  private waitingItems(): Item[] {
    const { gatehouse } = this.options;
    const consent = [...gatehouse.consent.pending()].sort((a, b) => a.requestedAt.localeCompare(b.requestedAt)).map((request): Item => ({ kind: 'consent', request }));
    const change = gatehouse.policy.pendingChange();
    const policy: Item[] = change ? [{ kind: 'policy', change }] : [];
    const serversChange = gatehouse.servers.pendingChange();
    if (serversChange) policy.push({ kind: 'servers', change: serversChange });
    const approvals = gatehouse.approvals.pending().map((request): Item => ({ kind: 'approval', request }));
    return [...consent, ...policy, ...approvals];
  }

  private show(item: Item, waitingCount: number): void {
    const count = waitingCount > 1 ? ` (${waitingCount} waiting, oldest first)` : '';
    this.line('');
    if (item.kind === 'consent') {
      const r = item.request;
      const scopes = r.scopes.length ? r.scopes.map(clean).join(' ') : 'none';
      this.line(`Sign-in${count}: ${clean(r.clientName)} (redirect ${clean(r.redirectHost)}, scopes ${scopes}) wants to connect: [y]es / [n]o  (Enter: later)`);
      return;
    }
    if (item.kind === 'policy') {
      // Every change, whole: a removed deny rule must not hide behind a cap or a cut line. The
      // terminal's scrollback is the scrollable view; the count frames the list on both sides.
      const changes = item.change.diffSummary;
      const total = `${changes.length} change${changes.length === 1 ? '' : 's'}`;
      this.line(`Policy change${count}: policy.json was edited outside Gatehouse, and the edit allows more (${total}, all listed). It waits for you:`);
      changes.forEach((loosening, index) => this.line(`  + [${index + 1}/${changes.length}] ${clean(loosening)}`));
      this.line(`  Confirm all ${total} above? [y]es / [n]o, put the file back  (Enter: later)`);
      return;
    }
    if (item.kind === 'servers') {
      const changes = item.change.changes;
      const total = `${changes.length} change${changes.length === 1 ? '' : 's'}`;
      this.line(`Servers change${count}: servers.json was edited outside Gatehouse, and these servers wait to be started (${total}, all listed, whole):`);
      changes.forEach((change, index) => this.line(`  + [${index + 1}/${changes.length}] ${clean(change)}`));
      this.line(`  Start them? [y]es / [n]o, put the file back  (Enter: later)`);
      return;
    }
    const r = item.request;
    this.line(`Held call${count}: ${clean(r.clientName)} wants to run ${clean(r.server)} › ${clean(r.originalName)}`);
    if (r.reopened) this.line(`  asked again: ${clean(r.reopened)}`);
    const entries = Object.entries(r.arguments);
    for (const [name, value] of entries.slice(0, MAX_SHOWN_ARGUMENTS)) this.line(`  ${clean(name)}: ${truncate(clean(JSON.stringify(value) ?? 'undefined'))}`);
    if (entries.length > MAX_SHOWN_ARGUMENTS) this.line(`  … ${entries.length - MAX_SHOWN_ARGUMENTS} more argument(s): see the approval page`);
    if (r.additionalInfo) this.line(`  the agent says: ${truncate(clean(r.additionalInfo), 300)}`);
    // The same words as the editor's prompt, with the policy's own names on the line below.
    const verdict = { decision: 'ask' as const, ...(r.reason ? { reason: r.reason } : {}), ...(r.rule ? { rule: r.rule } : {}) };
    this.line(`  held because ${clean(verdictInWords(verdict, r.originalName, r.server))}`);
    const details = verdictDetails(verdict);
    if (details) this.line(`  (policy: ${clean(details)})`);
    this.line(`  request ${r.id} · expires ${this.describeExpiry(r.expiresAt)}`);
    this.line(`  ${APPROVAL_KEYS}`);
  }

  private describeEnd(item: Item): string {
    if (item.kind === 'consent') return `The sign-in request from ${clean(item.request.clientName)} was decided elsewhere or expired.`;
    if (item.kind === 'policy') return 'The policy change was decided elsewhere.';
    if (item.kind === 'servers') return 'The servers.json change was decided elsewhere.';
    const request = this.options.gatehouse.approvals.get(item.request.id);
    if (!request || request.status === 'expired') return `${item.request.id} expired without a decision.`;
    const channel = request.decision?.channel ?? 'another channel';
    return `${request.id} was ${request.status} in the ${channel === 'browser' ? 'paired browser' : channel}.`;
  }

  private describeExpiry(expiresAt: string): string {
    const at = new Date(expiresAt);
    const minutes = Math.max(0, Math.round((at.getTime() - this.now()) / 60_000));
    return `${at.toLocaleTimeString()} (in ${minutes < 1 ? 'under a minute' : `${minutes} min`})`;
  }

  private announce(text: string): void {
    // Held calls arriving while another one is on screen are queued; say so without redrawing.
    if (this.current || this.reason) this.line(`(${text} ${this.waitingItems().length} waiting.)`);
    else this.refresh();
  }

  private printPairingLink(): void {
    this.line(`Pair a browser to decide on the approval pages (link works once, for 2 minutes): ${this.options.gatehouse.createPairingLink()}`);
  }

  private printHelp(): void {
    this.line(`Held call: ${APPROVAL_KEYS}. Sign-in: [y]es / [n]o. Any time: [p] pairing link, [u] unpair all browsers, [l] show skipped again, Ctrl-C stop Gatehouse.`);
  }

  private line(text: string): void {
    this.options.write(`${text}\n`);
  }
}

function keyOf(item: Item): string {
  return item.kind === 'policy' || item.kind === 'servers' ? item.kind : `${item.kind}:${item.request.id}`;
}

/** Agent-controlled text must not move the cursor, recolour the prompt (a fake "approved" line) or reorder itself. */
function clean(text: string): string {
  return neutralizeText(text);
}

/** Cut long text, saying exactly how much is not shown, so a cut never passes for the whole value. */
function truncate(text: string, max = MAX_VALUE_CHARS): string {
  return text.length > max ? `${text.slice(0, max)} [+${text.length - max} more characters not shown: see the approval page]` : text;
}
