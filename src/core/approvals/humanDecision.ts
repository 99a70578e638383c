import { z } from 'zod';

/**
 * What a human can decide about a held call, in one vocabulary for every channel: the panel's
 * buttons, the notification's quick pick, the serve terminal's keys, the browser's form and the
 * window channel between editor windows all speak in these choices and this schema.
 */

/** What an approval covers: this call, the session's calls of the tool, these exact arguments, or the tool. */
export const APPROVAL_SCOPES = ['once', 'session', 'arguments', 'tool'] as const;
export type ApprovalScope = (typeof APPROVAL_SCOPES)[number];

/** The human channels; `test` is for tests that decide in process. */
export type Channel = 'editor' | 'browser' | 'terminal' | 'test';

/** The longest reason a human can give with a denial (the agent reads it), on every channel. */
export const MAX_REASON_LENGTH = 500;

export const ReasonSchema = z.string().max(MAX_REASON_LENGTH);

/**
 * A decision as a channel hands it over, before Gatehouse stamps the channel it came through.
 * A denial with `scope: 'always'` also writes a deny rule for the tool; it is stored that way too.
 * An approval with `arguments` is "approve with changes": the human edited the call, and the
 * gateway runs (and a grant covers) those arguments, once Gatehouse has checked them.
 */
export const HumanDecisionSchema = z.union([
  z.object({ kind: z.literal('approve'), scope: z.enum(APPROVAL_SCOPES), arguments: z.record(z.string(), z.unknown()).optional() }),
  z.object({ kind: z.literal('deny'), scope: z.literal('always').optional(), reason: ReasonSchema.optional() }),
]);
export type DecisionInput = z.infer<typeof HumanDecisionSchema>;

export type HumanDecision = DecisionInput & { readonly channel: Channel; readonly by?: string };

/** The six choices a human is offered, as buttons, menu items or keys. */
export const DECISION_CHOICES = [...APPROVAL_SCOPES, 'deny', 'denyAlways'] as const;
export type DecisionChoice = (typeof DECISION_CHOICES)[number];

export function isDecisionChoice(value: unknown): value is DecisionChoice {
  return typeof value === 'string' && (DECISION_CHOICES as readonly string[]).includes(value);
}

/** The decision a choice stands for. A reason (trimmed, capped) goes with denials only. */
export function decisionFor(choice: DecisionChoice, channel: Channel, reason?: string): HumanDecision {
  if (choice === 'deny' || choice === 'denyAlways') {
    const kept = capReason(reason);
    return { kind: 'deny', ...(choice === 'denyAlways' ? { scope: 'always' as const } : {}), ...(kept ? { reason: kept } : {}), channel };
  }
  return { kind: 'approve', scope: choice, channel };
}

/** "Approve with changes": approve `scope`, running `args` instead of the agent's arguments. */
export function editedDecisionFor(scope: ApprovalScope, channel: Channel, args: Record<string, unknown>): HumanDecision {
  return { kind: 'approve', scope, arguments: args, channel };
}

/** A reason as Gatehouse keeps it: trimmed, at most MAX_REASON_LENGTH characters, or nothing. */
export function capReason(reason: string | undefined): string | undefined {
  const trimmed = reason?.trim().slice(0, MAX_REASON_LENGTH);
  return trimmed ? trimmed : undefined;
}

/** Why a typed reason cannot be used, for input boxes; undefined when it can. */
export function reasonProblem(reason: string): string | undefined {
  return reason.trim().length > MAX_REASON_LENGTH ? `At most ${MAX_REASON_LENGTH} characters (this is ${reason.trim().length}).` : undefined;
}
