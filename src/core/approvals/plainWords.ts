import type { Decision } from './policy';

/**
 * The policy and the audit log in a person's words. Every front end (notifications, Details, the
 * panel, History, the serve terminal) says "write_note can change or delete things, and you asked
 * to approve such tools" where the policy says `defaults.destructive is "ask"`; the machine names
 * stay in a details line beside it. The reasons read here are the ones `evaluatePolicy` writes,
 * and `test/unit/plainWords.test.ts` runs the real policy to keep the two in step.
 */

/** What a verdict needs to be told in words: the policy's verdict, or a held call's record of it. */
export interface VerdictFacts {
  readonly decision: Decision;
  readonly reason?: string;
  readonly rule?: { readonly id: string; readonly decision: Decision | string; readonly reason?: string };
  readonly grant?: { readonly id: string };
  readonly suspended?: unknown;
}

/** "you asked to approve such tools" for a default's decision. */
function defaultPhrase(decision: Decision, what = 'such tools'): string {
  if (decision === 'allow') return `you let ${what} run`;
  if (decision === 'deny') return `you block ${what}`;
  return `you asked to approve ${what}`;
}

/** Why the policy decides as it does about `tool` (its own name) on `server`, in words. */
export function verdictInWords(verdict: VerdictFacts, tool: string, server: string): string {
  const reason = verdict.reason ?? '';
  if (verdict.suspended || /changed since/.test(reason)) return `${tool} changed since you allowed it (its description or inputs); check it again`;
  if (verdict.rule) {
    if (verdict.rule.reason) return `your rule says: ${verdict.rule.reason}`;
    if (verdict.rule.decision === 'allow') return `you have a rule that lets ${tool} run`;
    if (verdict.rule.decision === 'deny') return `you have a rule that blocks ${tool}`;
    return `you have a rule that asks before ${tool} runs`;
  }
  if (verdict.grant) return `you approved ${tool} with exactly these arguments before`;
  if (/approved for this session/.test(reason)) return `you approved ${tool} for this session`;
  if (/marked destructive/.test(reason)) return `${tool} can change or delete things, and ${defaultPhrase(verdict.decision)}`;
  if (/marked read-only/.test(reason)) return `${tool} only reads, and ${defaultPhrase(verdict.decision, 'reading tools')}`;
  if (/defaults\.servers/.test(reason)) return defaultPhrase(verdict.decision, `every call to ${server}`);
  if (/no rule matches/.test(reason)) return `${tool} is not marked read-only or destructive, and ${defaultPhrase(verdict.decision)}`;
  return reason || 'your policy decides so';
}

/** The machine names behind a verdict, for the details line: `rule rule-1`, `defaults.destructive is "ask"`. */
export function verdictDetails(verdict: VerdictFacts): string {
  if (verdict.rule) return `rule "${verdict.rule.id}" (${verdict.rule.decision})`;
  if (verdict.grant) return `grant "${verdict.grant.id}"`;
  return verdict.reason ?? '';
}

const DECIDED_WORDS: Readonly<Record<string, string>> = {
  approve: 'You approved it',
  'approve:once': 'You approved it once',
  'approve:session': 'You approved it for the session',
  'approve:arguments': 'You approved it, always with these arguments',
  'approve:tool': 'You approved it, always for this tool',
  deny: 'You denied it',
  'deny:always': 'You denied it, always for this tool',
};

const CHANNEL_WORDS: Readonly<Record<string, string>> = { editor: 'in the editor', browser: 'in a paired browser', terminal: 'in the serve terminal', policy: 'by your policy', limit: 'by a limit', test: 'by a test' };

/** One audit line, as the fields History reads. */
export interface AuditFacts {
  readonly event: string;
  readonly decision?: string;
  readonly channel?: string;
  readonly reason?: string;
  readonly resultStatus?: 'ok' | 'error';
  /** Set on the lines of an approval with changes: the hash of the arguments the human approved instead. */
  readonly editedArgumentsHash?: string;
}

/** "You approved it once, in the editor", "Blocked by your policy", "Ran: ok". */
export function auditEntryInWords(entry: AuditFacts): string {
  const where = entry.channel ? CHANNEL_WORDS[entry.channel] ?? `via ${entry.channel}` : '';
  const withWhere = (text: string): string => (where ? `${text}, ${where}` : text);
  switch (entry.event) {
    case 'allowed':
      return entry.resultStatus === 'error' ? 'Ran without asking; the tool reported an error' : 'Ran without asking';
    case 'held':
      return 'Held for your approval';
    case 'decided': {
      const words = DECIDED_WORDS[entry.decision ?? ''] ?? `You decided: ${entry.decision ?? 'unknown'}`;
      return withWhere(entry.editedArgumentsHash ? `${words}, with your changes to its arguments` : words);
    }
    case 'executed': {
      const ran = entry.editedArgumentsHash ? 'Ran with your changed arguments after your approval' : 'Ran after your approval';
      return entry.resultStatus === 'error' ? `${ran}; the tool reported an error` : ran;
    }
    case 'denied':
      return entry.channel === 'limit' ? 'Refused: too many calls waiting' : 'Blocked by your policy';
    case 'expired':
      return 'Expired before anyone decided';
    case 'reopened':
      return 'Asked again (after a restart or a change)';
    case 'error':
      return 'Something went wrong';
    default:
      return entry.event;
  }
}
