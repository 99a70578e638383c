import { argumentsToRun, type ApprovalRequest } from '../core/approvals/approvalQueue';

const SCOPE_WORDS: Record<string, string> = { once: 'once', session: 'for this session', tool: 'always for this tool', arguments: 'always for these arguments' };
const CHANNEL_WORDS: Record<string, string> = { editor: 'in the editor', browser: 'in a paired browser', terminal: 'in the serve terminal', test: 'by a test' };

/**
 * The Output log's line for a decision, wherever it was made (a notification, Details, the
 * panel, a batch, the browser, the terminal, another window). Arguments stay out: they may
 * hold secrets, and the audit log keeps them with its redaction.
 */
export function decisionLogLine(request: ApprovalRequest): string {
  const decision = request.decision;
  const what = `${request.server} › ${request.originalName} for ${request.clientName} (${request.id})`;
  const where = decision ? (CHANNEL_WORDS[decision.channel] ?? `via ${decision.channel}`) : '';
  if (decision?.kind === 'deny') {
    return `Denied${decision.scope === 'always' ? ' always' : ''} ${what} ${where}${decision.reason ? `; reason given to the agent: ${decision.reason}` : ''}`;
  }
  const edited = argumentsToRun(request).edited ? ' with changed arguments' : '';
  return `Approved ${SCOPE_WORDS[decision?.scope ?? 'once'] ?? decision?.scope}${edited} ${what} ${where}`;
}
