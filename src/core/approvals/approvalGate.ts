import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CallGate } from '../gateway/gateway';
import type { CallContext } from '../tools/gatewayTool';
import type { CatalogEntry } from '../upstreams/catalog';
import { errorResult } from '../upstreams/upstream';
import type { ApprovalQueue, ApprovalRequest } from './approvalQueue';
import { NO_AUDIT, requestAuditFields, type AuditSink } from './audit';
import { argumentsHash, canonicalJson, toolFingerprint } from './canonical';
import { addGrant, qualifiedToolName, setToolDecision, type PolicyTool } from './policy';
import type { PolicyStore } from './policyStore';

export const ADDITIONAL_INFO = 'additional_info';
/** Held calls one client may have waiting at once; past it, new ones are refused until some are decided. */
export const MAX_PENDING_PER_CLIENT = 20;
/** The largest arguments (canonical JSON, in bytes) a call may carry to be held; larger ones are refused. */
export const MAX_HELD_ARGUMENTS_BYTES = 256 * 1024;
const ADDITIONAL_INFO_SCHEMA = {
  type: 'string',
  description:
    'Optional. Shown to the human who approves this call: explain in one or two plain sentences what this call does and why you are making it. Not sent to the tool.',
} as const;

const APPROVAL_REQUIRED_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', const: 'approval_required' },
    request_id: { type: 'string' },
    approval_url: { type: 'string' },
    expires_at: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['status', 'request_id', 'approval_url', 'expires_at'],
};

const BLOCKED_SCHEMA = {
  type: 'object',
  properties: { status: { type: 'string', const: 'blocked' }, reason: { type: 'string' }, message: { type: 'string' } },
  required: ['status', 'reason'],
};

/**
 * The approvals layer on the call path: every upstream call passes the policy. Allowed calls go
 * straight through, denied ones are refused, and "ask" ones are held as approval requests that
 * the agent waits on with await_approval.
 */
export class ApprovalGate implements CallGate {
  private readonly fingerprints = new WeakMap<Tool, string>();
  private readonly decorated = new WeakMap<Tool, Tool>();
  /** "Approve for this session": qualified tool name → fingerprint, per MCP session. */
  private readonly sessionApprovals = new Map<string, Map<string, string>>();
  /**
   * The strictest default-choosing hints each tool has shown in this process: once destructive,
   * always destructive; read-only only while it has never said otherwise. An upstream that
   * re-marks a tool read-only through `list_changed` does not get its calls allowed by that.
   */
  private readonly strictestHints = new Map<string, { destructiveHint?: boolean; readOnlyHint?: boolean }>();

  constructor(
    private readonly policy: PolicyStore,
    private readonly queue: ApprovalQueue,
    private readonly approvalUrl: (requestId: string) => string,
    private readonly audit: AuditSink = NO_AUDIT,
    /** The hash of a server's current entry in servers.json, recorded in each held call. */
    private readonly serverConfigHash: (server: string) => string | undefined = () => undefined,
  ) {
    queue.on('decided', (request) => this.remember(request));
  }

  decorate(entry: CatalogEntry): Tool {
    // What the agent is shown first is what later changes are measured against.
    this.hintsFor(entry);
    const cached = this.decorated.get(entry.tool);
    if (cached) return cached;
    const schema = entry.tool.inputSchema;
    const properties = { ...(schema.properties ?? {}) };
    // A tool that already takes its own `additional_info` keeps it; the gateway then cannot add its own.
    if (!(ADDITIONAL_INFO in properties)) properties[ADDITIONAL_INFO] = ADDITIONAL_INFO_SCHEMA;
    const tool: Tool = { ...entry.tool, inputSchema: { ...schema, properties } };
    // Any call may be held or blocked, and then its structured result is Gatehouse's, not the
    // upstream's. MCP clients validate structured results (even error ones) against outputSchema,
    // so the schema admits all three.
    if (entry.tool.outputSchema) tool.outputSchema = { type: 'object', anyOf: [entry.tool.outputSchema, APPROVAL_REQUIRED_SCHEMA, BLOCKED_SCHEMA] };
    this.decorated.set(entry.tool, tool);
    return tool;
  }

  fingerprint(entry: CatalogEntry): string {
    let value = this.fingerprints.get(entry.tool);
    if (!value) {
      value = toolFingerprint(entry.tool);
      this.fingerprints.set(entry.tool, value);
    }
    return value;
  }

  policyTool(entry: CatalogEntry): PolicyTool {
    return { name: entry.originalName, server: entry.server, annotations: this.hintsFor(entry), fingerprint: this.fingerprint(entry) };
  }

  private hintsFor(entry: CatalogEntry): { destructiveHint?: boolean; readOnlyHint?: boolean } {
    const key = `${entry.server}\u0000${entry.originalName}`;
    const now = { destructiveHint: entry.tool.annotations?.destructiveHint, readOnlyHint: entry.tool.annotations?.readOnlyHint };
    const seen = this.strictestHints.get(key);
    const merged = seen
      ? { destructiveHint: seen.destructiveHint === true || now.destructiveHint === true, readOnlyHint: seen.readOnlyHint === true && now.readOnlyHint === true }
      : { destructiveHint: now.destructiveHint === true, readOnlyHint: now.readOnlyHint === true };
    this.strictestHints.set(key, merged);
    return merged;
  }

  async call(entry: CatalogEntry, args: Record<string, unknown>, context: CallContext, forward: (args: Record<string, unknown>) => Promise<CallToolResult>): Promise<CallToolResult> {
    const ownsAdditionalInfo = Boolean(entry.tool.inputSchema.properties && ADDITIONAL_INFO in entry.tool.inputSchema.properties);
    const { [ADDITIONAL_INFO]: info, ...rest } = args;
    const forwarded = ownsAdditionalInfo ? args : rest;
    const additionalInfo = typeof info === 'string' && info.trim() ? info.trim().slice(0, 2000) : undefined;
    const tool = this.policyTool(entry);
    const qualified = qualifiedToolName(entry.server, entry.originalName);
    let verdict = this.policy.evaluate(tool, forwarded);
    // A session approval stands in for the default's ask only: a rule that asks (say, for `secret*`
    // paths) was written to ask every time, and a suspended rule or grant means the tool changed.
    if (verdict.decision === 'ask' && verdict.source === 'default' && this.sessionApprovals.get(context.sessionId)?.get(qualified) === tool.fingerprint) {
      verdict = { decision: 'allow', source: 'grant', reason: 'approved for this session' };
    }
    const base = { clientId: context.principal.clientId, clientName: context.principal.clientName, sessionId: context.sessionId, server: entry.server, tool: entry.name };

    if (verdict.decision === 'allow') {
      const started = performance.now();
      const result = await forward(forwarded);
      this.audit.record({ ...base, event: 'allowed', argumentsHash: argumentsHash(forwarded), arguments: forwarded, rule: verdict.rule?.id, decision: 'allow', latencyMs: performance.now() - started, resultStatus: result.isError ? 'error' : 'ok' });
      return result;
    }

    if (verdict.decision === 'deny') {
      const reason = verdict.reason ?? 'the policy denies this tool';
      this.audit.record({ ...base, event: 'denied', argumentsHash: argumentsHash(forwarded), arguments: forwarded, rule: verdict.rule?.id, decision: 'deny', channel: 'policy', reason });
      const message = `Blocked by Gatehouse policy: ${entry.name} is not allowed (${reason}). Do not retry this call or try to get around the block; tell the human what you wanted to do, and they can change the policy if they agree.`;
      return errorResult(message, { status: 'blocked', reason, message });
    }

    // A held call lives in memory and in pending.json until decided: bound what one client can park there.
    const size = Buffer.byteLength(canonicalJson(forwarded), 'utf8');
    const waiting = this.queue.pending().filter((r) => r.clientId === context.principal.clientId).length;
    const limit =
      size > MAX_HELD_ARGUMENTS_BYTES
        ? `its arguments are ${Math.ceil(size / 1024)} KiB, and a call that needs approval may carry at most ${MAX_HELD_ARGUMENTS_BYTES / 1024} KiB`
        : waiting >= MAX_PENDING_PER_CLIENT
          ? `this client already has ${waiting} calls waiting for approval (the limit is ${MAX_PENDING_PER_CLIENT}); wait for the human to decide them, or let them expire`
          : undefined;
    if (limit) {
      this.audit.record({ ...base, event: 'denied', argumentsHash: argumentsHash(forwarded), rule: verdict.rule?.id, decision: 'deny', channel: 'limit', reason: limit });
      const message = `Not held for approval, and not run: ${limit}. Split the work into smaller calls, or ask the human.`;
      return errorResult(message, { status: 'blocked', reason: limit, message });
    }

    const { request } = this.queue.create({
      clientId: context.principal.clientId,
      clientName: context.principal.clientName,
      sessionId: context.sessionId,
      server: entry.server,
      tool: entry.name,
      originalName: entry.originalName,
      arguments: forwarded,
      additionalInfo,
      rule: verdict.rule,
      reason: verdict.reason,
      fingerprint: tool.fingerprint,
      serverConfigHash: this.serverConfigHash(entry.server),
    });
    this.audit.record({ ...base, event: 'held', requestId: request.id, argumentsHash: request.argumentsHash, arguments: request.arguments, rule: verdict.rule?.id, decision: 'ask', reason: verdict.reason });
    return approvalRequiredResult(request, this.approvalUrl(request.id));
  }

  /** Forgets "approve for this session" grants when the session ends. */
  sessionClosed(sessionId: string): void {
    this.sessionApprovals.delete(sessionId);
  }

  private remember(request: ApprovalRequest): void {
    const decision = request.decision;
    if (!decision) return;
    // Recorded (and fsynced) just after the waiting agent has been woken, not before.
    queueMicrotask(() =>
      this.audit.record({
        event: 'decided',
        ...requestAuditFields(request),
        decision: decision.scope ? `${decision.kind}:${decision.scope}` : decision.kind,
        channel: decision.channel,
        reason: decision.reason,
      }),
    );
    try {
      this.rememberInPolicy(request, decision);
    } catch (error) {
      // The decision itself stands (the call was approved or denied); only remembering it failed.
      this.audit.record({ event: 'error', ...requestAuditFields(request), reason: `could not remember the decision in policy.json: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  private rememberInPolicy(request: ApprovalRequest, decision: NonNullable<ApprovalRequest['decision']>): void {
    const qualified = qualifiedToolName(request.server, request.originalName);
    if (decision.kind === 'approve' && decision.scope === 'session') {
      const approvals = this.sessionApprovals.get(request.sessionId) ?? new Map<string, string>();
      approvals.set(qualified, request.fingerprint ?? '');
      this.sessionApprovals.set(request.sessionId, approvals);
    } else if (decision.kind === 'approve' && decision.scope === 'tool') {
      this.policy.update((policy) => setToolDecision(policy, qualified, 'allow', request.fingerprint));
    } else if (decision.kind === 'approve' && decision.scope === 'arguments') {
      this.policy.update((policy) =>
        addGrant(policy, { tool: qualified, argumentsHash: request.argumentsHash, ...(request.fingerprint ? { fingerprint: request.fingerprint } : {}), createdAt: new Date().toISOString() }),
      );
    } else if (decision.kind === 'deny' && decision.scope === 'always') {
      this.policy.update((policy) => setToolDecision(policy, qualified, 'deny'));
    }
  }
}

export function approvalRequiredResult(request: ApprovalRequest, approvalUrl: string): CallToolResult {
  const text = [
    `This call needs the human's approval before it runs: ${request.tool}.`,
    `1. Tell the human in plain words what you want to do and why, and share this approval link: ${approvalUrl}`,
    `2. In this same turn, without waiting for a chat reply, call await_approval with request_id "${request.id}". It waits for the decision and returns the call's real result once approved.`,
    `The request expires at ${request.expiresAt}. Do not try to approve it yourself.`,
  ].join('\n');
  // Codex shows the model only the structured part of a result, so the instructions travel there too.
  return {
    content: [{ type: 'text', text }],
    structuredContent: { status: 'approval_required', request_id: request.id, approval_url: approvalUrl, expires_at: request.expiresAt, message: text },
  };
}
