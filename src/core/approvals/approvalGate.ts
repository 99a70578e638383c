import type { CallToolResult, CreateMessageRequest, Tool } from '@modelcontextprotocol/sdk/types.js';
import { errorResult, type CallContext, type CallGate, type CatalogEntry, type ForwardCall, type ResourceReadVerdict } from '../calls/callPath';
import { argumentsToRun, type ApprovalQueue, type ApprovalRequest } from './approvalQueue';
import { NO_AUDIT, recordSoon, requestAuditFields, type AuditSink } from './audit';
import { argumentsHash, canonicalJson, toolFingerprint } from './canonical';
import { addGrant, qualifiedToolName, recordedGrantArguments, setToolDecision, stricter, type PolicyTool, type PolicyVerdict } from './policy';
import type { PolicyStore } from './policyStore';

export const ADDITIONAL_INFO = 'additional_info';
/** Held calls one client may have waiting at once; past it, new ones are refused until some are decided. */
export const MAX_PENDING_PER_CLIENT = 20;
/** The largest arguments (canonical JSON, in bytes) a call may carry to be held; larger ones are refused. */
export const MAX_HELD_ARGUMENTS_BYTES = 256 * 1024;
/**
 * The name rules use for an upstream's sampling requests: `<server>__sampling/createMessage`
 * (no MCP tool name has a "/", so it never names a tool).
 */
export const SAMPLING_REQUEST = 'sampling/createMessage';
/** The name rules use for reading an upstream's resources: `<server>__resources/read`, with the argument `uri`. */
export const RESOURCE_READ = 'resources/read';
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
    return {
      name: entry.originalName,
      server: entry.server,
      exposedName: entry.name,
      ...(entry.legacyName ? { legacyName: entry.legacyName } : {}),
      annotations: this.hintsFor(entry),
      fingerprint: this.fingerprint(entry),
    };
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

  async call(entry: CatalogEntry, args: Record<string, unknown>, context: CallContext, forward: ForwardCall): Promise<CallToolResult> {
    const ownsAdditionalInfo = Boolean(entry.tool.inputSchema.properties && ADDITIONAL_INFO in entry.tool.inputSchema.properties);
    const { [ADDITIONAL_INFO]: info, ...rest } = args;
    const forwarded = ownsAdditionalInfo ? args : rest;
    const additionalInfo = typeof info === 'string' && info.trim() ? info.trim().slice(0, 2000) : undefined;
    const tool = this.policyTool(entry);
    const qualified = entry.name;
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
      const latencyMs = performance.now() - started;
      recordSoon(this.audit, () => ({ ...base, event: 'allowed', argumentsHash: argumentsHash(forwarded), arguments: forwarded, rule: verdict.rule?.id, decision: 'allow', latencyMs, resultStatus: result.isError ? 'error' : 'ok' }));
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

  /**
   * An upstream asks to spend the user's model during a call of `context`'s client. A rule for
   * `<server>__sampling/createMessage` decides; with none it waits for the human, however the
   * tool defaults read (a read-only or allowed server does not get the user's model for free).
   * Held, it is an approval request like a call, which Gatehouse itself waits on.
   */
  async authorizeSampling(server: string, params: CreateMessageRequest['params'], context: CallContext, signal: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }> {
    const args: Record<string, unknown> = { ...params };
    delete args._meta;
    const tool: PolicyTool = { name: SAMPLING_REQUEST, server };
    const qualified = qualifiedToolName(server, SAMPLING_REQUEST);
    let verdict: PolicyVerdict = this.policy.evaluate(tool, args);
    if (verdict.source === 'default') verdict = { ...verdict, decision: stricter(verdict.decision, 'ask'), reason: 'sampling waits for the human unless a rule allows it' };
    if (verdict.decision === 'ask' && verdict.source === 'default' && this.sessionApprovals.get(context.sessionId)?.has(qualified)) verdict = { decision: 'allow', source: 'grant', reason: 'approved for this session' };
    const base = { clientId: context.principal.clientId, clientName: context.principal.clientName, sessionId: context.sessionId, server, tool: qualified };
    if (verdict.decision === 'allow') {
      this.audit.record({ ...base, event: 'allowed', argumentsHash: argumentsHash(args), arguments: args, rule: verdict.rule?.id, decision: 'allow' });
      return { ok: true };
    }
    if (verdict.decision === 'deny') {
      const reason = verdict.reason ?? 'the policy denies sampling for this server';
      this.audit.record({ ...base, event: 'denied', argumentsHash: argumentsHash(args), arguments: args, rule: verdict.rule?.id, decision: 'deny', channel: 'policy', reason });
      return { ok: false, reason };
    }
    const { request } = this.queue.create({
      ...base,
      originalName: SAMPLING_REQUEST,
      arguments: args,
      additionalInfo: `The server "${server}" asks to use ${context.principal.clientName}'s model (MCP sampling) while running a call; approving sends it these messages.`,
      rule: verdict.rule,
      reason: verdict.reason,
    });
    this.audit.record({ ...base, event: 'held', requestId: request.id, argumentsHash: request.argumentsHash, arguments: request.arguments, rule: verdict.rule?.id, decision: 'ask', reason: verdict.reason });
    let current = request;
    while (current.status === 'pending' && !signal.aborted) current = (await this.queue.awaitDecision(request.id, 60_000, signal)) ?? current;
    if (current.status === 'approved') {
      // Marks the request as run, so await_approval never treats it as a tool call to execute.
      void this.queue.execute(current, async () => ({ content: [{ type: 'text', text: `Gatehouse relayed ${server}'s sampling request to the client.` }] }));
      return { ok: true };
    }
    if (current.status === 'denied') return { ok: false, reason: `the human denied it (${current.decision?.reason ?? 'no reason given'})` };
    return { ok: false, reason: current.status === 'expired' ? 'the human did not decide in time' : 'the upstream stopped waiting' };
  }

  /**
   * A resource read. Allowed unless a rule for `<server>__resources/read` (which may match on
   * `uri`) asks or denies: resources are data the server offers to read, not actions, so the tool
   * defaults do not apply. A held read is an approval request that await_approval runs.
   */
  authorizeResourceRead(server: string, uri: string, context: CallContext): ResourceReadVerdict {
    const args = { uri };
    const qualified = qualifiedToolName(server, RESOURCE_READ);
    let verdict: PolicyVerdict = this.policy.evaluate({ name: RESOURCE_READ, server }, args);
    if (verdict.source === 'default' && verdict.decision !== 'deny') verdict = { decision: 'allow', source: 'default', reason: 'resource reads are allowed unless a rule says otherwise' };
    if (verdict.decision === 'ask' && verdict.source === 'default' && this.sessionApprovals.get(context.sessionId)?.has(qualified)) verdict = { decision: 'allow', source: 'grant', reason: 'approved for this session' };
    const base = { clientId: context.principal.clientId, clientName: context.principal.clientName, sessionId: context.sessionId, server, tool: qualified };
    if (verdict.decision === 'allow') {
      this.audit.record({ ...base, event: 'allowed', argumentsHash: argumentsHash(args), arguments: args, rule: verdict.rule?.id, decision: 'allow' });
      return { decision: 'allow' };
    }
    if (verdict.decision === 'deny') {
      const reason = verdict.reason ?? 'the policy denies reading this resource';
      this.audit.record({ ...base, event: 'denied', argumentsHash: argumentsHash(args), arguments: args, rule: verdict.rule?.id, decision: 'deny', channel: 'policy', reason });
      return { decision: 'deny', message: `Blocked by Gatehouse policy: reading ${uri} from ${server} is not allowed (${reason}). Do not retry; tell the human what you wanted to read.` };
    }
    const { request } = this.queue.create({ ...base, originalName: RESOURCE_READ, arguments: args, rule: verdict.rule, reason: verdict.reason });
    this.audit.record({ ...base, event: 'held', requestId: request.id, argumentsHash: request.argumentsHash, arguments: request.arguments, rule: verdict.rule?.id, decision: 'ask', reason: verdict.reason });
    return { decision: 'ask', approval: approvalRequiredResult(request, this.approvalUrl(request.id)).structuredContent as Record<string, unknown> & { message: string } };
  }

  /** Forgets "approve for this session" grants when the session ends. */
  sessionClosed(sessionId: string): void {
    this.sessionApprovals.delete(sessionId);
  }

  private remember(request: ApprovalRequest): void {
    const decision = request.decision;
    if (!decision) return;
    const run = argumentsToRun(request);
    // Recorded (and fsynced) just after the waiting agent has been woken, not before.
    queueMicrotask(() =>
      this.audit.record({
        event: 'decided',
        ...requestAuditFields(request),
        ...(run.edited ? { arguments: request.arguments, editedArguments: run.arguments, editedArgumentsHash: run.argumentsHash } : {}),
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
    // The name the agent called (for sampling and resource reads, `<server>__<request>`).
    const qualified = request.tool;
    if (decision.kind === 'approve' && decision.scope === 'session') {
      const approvals = this.sessionApprovals.get(request.sessionId) ?? new Map<string, string>();
      approvals.set(qualified, request.fingerprint ?? '');
      this.sessionApprovals.set(request.sessionId, approvals);
    } else if (decision.kind === 'approve' && decision.scope === 'tool') {
      this.policy.update((policy) => setToolDecision(policy, qualified, 'allow', request.fingerprint));
    } else if (decision.kind === 'approve' && decision.scope === 'arguments') {
      // A grant from an edited call covers what the human approved, never what the agent first asked.
      const approved = argumentsToRun(request);
      this.policy.update((policy) =>
        addGrant(policy, { tool: qualified, argumentsHash: approved.argumentsHash, ...recordedGrantArguments(approved.arguments), ...(request.fingerprint ? { fingerprint: request.fingerprint } : {}), createdAt: new Date().toISOString() }),
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
