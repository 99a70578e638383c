import { argumentsToRun, type ApprovalRequest } from '../core/approvals/approvalQueue';
import { auditEntryInWords, verdictInWords } from '../core/approvals/plainWords';
import { neutralizeText } from '../core/displayText';

/**
 * The words of a held-call prompt, free of `vscode` so they are unit-tested in plain Node.
 * Notification messages render `[text](command:…)` as links; agent-written text (arguments,
 * `additional_info`) must never become one, so `](` is broken wherever such text is shown.
 */
export function neutraliseLinks(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

export function summariseArguments(args: Record<string, unknown>): string {
  const summary = Object.entries(args)
    .slice(0, 3)
    .map(([key, value]) => `${key}: ${truncate(typeof value === 'string' ? value : JSON.stringify(value), 40)}`)
    .join(', ');
  return Object.keys(args).length > 3 ? `${summary}, …` : summary;
}

export function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** "codex wants to run github › create_issue: title: "Fix", body: "…" — “additional info”" */
export function notificationText(request: ApprovalRequest): string {
  const args = summariseArguments(request.arguments);
  const info = request.additionalInfo ? ` — “${truncate(request.additionalInfo, 160)}”` : '';
  const reopened = request.reopened ? ' (asked again after a restart or a change)' : '';
  // Invisible and reordering characters shown as [U+XXXX], so the human reads what will run.
  return neutraliseLinks(neutralizeText(`${request.clientName} wants to run ${request.server} › ${request.originalName}${args ? `: ${args}` : ''}${info}${reopened}`));
}

/**
 * Why a call was held, in the words of the person who set the policy ("write_note can change
 * files, and you asked to approve such tools"). The machine wording stays available in Details.
 */
export function heldBecause(request: Pick<ApprovalRequest, 'server' | 'originalName' | 'reason' | 'rule'>): string {
  return verdictInWords({ decision: 'ask', ...(request.reason ? { reason: request.reason } : {}), ...(request.rule ? { rule: request.rule } : {}) }, request.originalName, request.server);
}

/**
 * How the caller signed in, which tells apart clients that share a name: an API key is its label
 * (labels are unique), an OAuth client its registration id (each sign-in may register again).
 */
export function whoAsked(request: Pick<ApprovalRequest, 'clientId' | 'clientName'>): string {
  if (request.clientId.startsWith('key:')) return `with the API key "${request.clientName}"`;
  return `signed in with OAuth as client ${request.clientId.slice(0, 8)} (see the panel's Clients tab)`;
}

/** "You approved it once, in a paired browser: demo__write_note for codex (apr_1)", for the Output log. */
export function decisionLogLine(request: ApprovalRequest): string {
  const decision = request.decision;
  const what = `${request.tool} for ${request.clientName} (${request.id})`;
  if (request.status === 'expired' || !decision) return `Expired before anyone decided: ${what}`;
  const { edited, argumentsHash: editedArgumentsHash } = argumentsToRun(request);
  // The arguments stay out of the Output log (they may hold secrets); the audit log keeps them, redacted.
  const words = auditEntryInWords({ event: 'decided', decision: decision.scope ? `${decision.kind}:${decision.scope}` : decision.kind, channel: decision.channel, ...(edited ? { editedArgumentsHash } : {}) });
  return neutralizeText(`${words}: ${what}${decision.reason ? ` — “${decision.reason}”` : ''}`);
}

/** "5 calls waiting for your approval" */
export function waitingText(count: number): string {
  return `${count} call${count === 1 ? '' : 's'} waiting for your approval`;
}
