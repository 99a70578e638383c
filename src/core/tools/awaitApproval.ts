import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { argumentsToRun, type ApprovalQueue, type ApprovalRequest } from '../approvals/approvalQueue';
import { canonicalJson } from '../approvals/canonical';
import { requestAuditFields, type AuditSink } from '../approvals/audit';
import type { CallContext, GatewayTool } from '../calls/callPath';
import { resultForModel } from './resultForModel';

export const AWAIT_APPROVAL = 'await_approval';
export const DEFAULT_AWAIT_WINDOW_MS = 50_000;

export interface AwaitApprovalDeps {
  readonly queue: ApprovalQueue;
  /** Runs the stored call of an approved request with exactly its stored arguments, for the awaiting client. */
  readonly run: (request: ApprovalRequest, context: CallContext) => Promise<CallToolResult>;
  /** How long one await_approval call blocks; below the client's tool timeout (Codex: 120 s by default). */
  readonly windowMs: () => number;
  readonly audit: AuditSink;
  /**
   * Checked just before an approved call runs: a message when the tool or its server entry is no
   * longer the one the human approved, which sends the request back to the human.
   */
  readonly recheck?: (request: ApprovalRequest) => string | undefined;
}

/**
 * Waits for the human's decision on a held call. On approval the gateway runs the stored call
 * itself and returns the upstream's result, so the agent never re-issues it.
 */
export function createAwaitApprovalTool(deps: AwaitApprovalDeps): GatewayTool {
  return {
    definition: {
      name: AWAIT_APPROVAL,
      title: 'Await approval',
      description:
        'Waits for the human to decide on a call that Gatehouse held for approval (status "approval_required"). Call it in the same turn as you share the approval_url, ' +
        'without waiting for a chat reply. Returns status "approved" with the call\'s real result (the call has already run: never re-issue it), "denied" with the reason ' +
        '(do not retry the same call), "expired" (re-issue the original call only if still needed), or "pending" (call await_approval again).',
      inputSchema: {
        type: 'object',
        properties: { request_id: { type: 'string', description: 'The request_id from the approval_required result.' } },
        required: ['request_id'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['approved', 'denied', 'expired', 'pending', 'error'] },
          request_id: { type: 'string' },
          message: { type: 'string' },
          reason: { type: 'string' },
          decided_by: { type: 'string' },
          channel: { type: 'string' },
          scope: { type: 'string' },
          expires_at: { type: 'string' },
          arguments_changed: { type: 'boolean', description: 'True when the human changed the arguments before approving: the call ran with `arguments`, not with yours.' },
          arguments: { type: 'object', description: 'The arguments the call ran with, when the human changed them.' },
          original_arguments: { type: 'object', description: 'The arguments you asked for, when the human changed them.' },
          is_error: { type: 'boolean' },
          result: {
            type: 'object',
            description: 'The executed call\'s output: its text, a line for each piece of content that is not text, its own structuredContent, and whether it is an error.',
            properties: {
              is_error: { type: 'boolean' },
              text: { type: 'string' },
              other_content: { type: 'array', items: { type: 'string' } },
              structured_content: { type: 'object' },
            },
            required: ['is_error', 'text'],
          },
        },
        required: ['status', 'request_id', 'message'],
        additionalProperties: false,
      },
      annotations: { title: 'Await approval', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async call(args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
      const id = typeof args.request_id === 'string' ? args.request_id.trim() : '';
      if (!id) return failure(id, 'await_approval needs the request_id from the approval_required result.');
      let request = deps.queue.get(id);
      if (!request) {
        return failure(id, `There is no approval request "${id}". It may have been decided and cleared long ago, or the id is mistyped. If the call is still needed, issue it again.`);
      }
      if (request.clientId !== context.principal.clientId) {
        return failure(id, `The approval request "${id}" belongs to another client; only the client that made the call can await it.`);
      }
      if (request.status === 'pending') request = (await deps.queue.awaitDecision(id, deps.windowMs(), context.signal)) ?? request;
      return answer(request, deps, context);
    },
  };
}

async function answer(request: ApprovalRequest, deps: AwaitApprovalDeps, context: CallContext): Promise<CallToolResult> {
  const id = request.id;
  switch (request.status) {
    case 'pending': {
      const message = `Still pending: the human has not decided yet. Call await_approval again with request_id "${id}" (the request expires at ${request.expiresAt}).`;
      return structured({ status: 'pending', request_id: id, message, expires_at: request.expiresAt });
    }
    case 'expired': {
      const message = 'The approval request expired before the human decided. Nothing was run. If the call is still needed, issue the original call again to get a new request.';
      return structured({ status: 'expired', request_id: id, message });
    }
    case 'denied': {
      const reason = request.decision?.reason ?? 'no reason given';
      const message = `The human denied this call (${reason}). It was not run. Do not retry the same call; read the reason, then adapt your plan or ask the human.`;
      return structured({ status: 'denied', request_id: id, message, reason, ...(request.decision?.channel ? { channel: request.decision.channel } : {}) });
    }
    case 'approved': {
      const decision = request.decision;
      const who = decision?.by ?? 'the human';
      const how = `${decision?.channel ?? 'unknown channel'}${decision?.scope && decision.scope !== 'once' ? `, ${describeScope(decision.scope)}` : ''}`;
      if (request.executedAt && !deps.queue.hasExecution(id)) {
        const message = `Approved by ${who} (${how}); the call already ran at ${request.executedAt}, before Gatehouse restarted, and its result is no longer available. Do not run it again.`;
        return structured({ status: 'approved', request_id: id, message, decided_by: who });
      }
      const firstRun = !deps.queue.hasExecution(id);
      const changed = firstRun ? deps.recheck?.(request) : undefined;
      if (changed && deps.queue.reopen(id, changed)) {
        const message = `Not run: ${changed} The request is pending again until the human decides. Call await_approval again with request_id "${id}".`;
        return structured({ status: 'pending', request_id: id, message, expires_at: request.expiresAt });
      }
      const run = argumentsToRun(request);
      const started = performance.now();
      const result = await deps.queue.execute(request, () => deps.run(request, context));
      if (firstRun) {
        const edit = run.edited ? { editedArguments: run.arguments, editedArgumentsHash: run.argumentsHash } : {};
        deps.audit.record({ event: 'executed', ...requestAuditFields(request), ...edit, channel: decision?.channel, latencyMs: performance.now() - started, resultStatus: result.isError ? 'error' : 'ok' });
      }
      const output = resultForModel(result);
      const outcome = output.is_error ? `it reported an error: ${excerpt(output.text) || 'no error text'}` : 'this is its result';
      const message = run.edited
        ? `Approved with changes by ${who} (${how}): the human changed the arguments before approving. Gatehouse ran ${request.tool} with ${canonicalJson(run.arguments)} instead of the arguments you asked for (${canonicalJson(request.arguments)}); ${outcome}. Do not call it again, and do not re-issue it with your original arguments; take the change into account.`
        : `Approved by ${who} (${how}). Gatehouse ran ${request.tool} with the approved arguments; ${outcome}. Do not call it again.`;
      return {
        content: [{ type: 'text', text: message }, ...result.content],
        structuredContent: {
          status: 'approved',
          request_id: id,
          message,
          decided_by: who,
          ...(decision?.channel ? { channel: decision.channel } : {}),
          ...(decision?.scope ? { scope: decision.scope } : {}),
          ...(run.edited ? { arguments_changed: true, arguments: run.arguments, original_arguments: request.arguments } : {}),
          is_error: output.is_error,
          result: output,
        },
        ...(result.isError ? { isError: true } : {}),
      };
    }
  }
}

/** The start of an error text for the one-line message; the whole text is in `result.text`. */
function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** A refusal of await_approval itself, structured like its other answers so every client shows it. */
function failure(id: string, message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], structuredContent: { status: 'error', request_id: id, message }, isError: true };
}

function describeScope(scope: string): string {
  return { session: 'for this session', tool: 'always for this tool', arguments: 'always for these arguments' }[scope] ?? scope;
}

function structured(content: { status: string; request_id: string; message: string } & Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: content.message }], structuredContent: content };
}
