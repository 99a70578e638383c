import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { errorResult, type CallContext } from './calls/callPath';
import { ADDITIONAL_INFO, ApprovalGate, MAX_HELD_ARGUMENTS_BYTES, RESOURCE_READ, SAMPLING_REQUEST } from './approvals/approvalGate';
import { canonicalJson, sha256Hex } from './approvals/canonical';
import { ApprovalQueue, argumentsToRun, DEFAULT_EXPIRY_MS, type ApprovalRequest, type DecideResult } from './approvals/approvalQueue';
import { canEditArguments, checkEditedArguments } from './approvals/editedArguments';
import type { HumanDecision } from './approvals/humanDecision';
import { BrowserPairing } from './approvals/pairing';
import type { AuditSink } from './approvals/audit';
import { AuditLog, auditExpiredRequests } from './approvals/auditLog';
import { auditLogOptionsFromEnv } from './approvals/auditSettings';
import { PolicyStore } from './approvals/policyStore';
import { ServersGuard } from './approvals/serversGuard';
import { ConsentBroker } from './auth/consent';
import type { ApprovalPrompt } from './gateway/modernServing';
import { oauthGatewayOptions } from './auth/oauthRoutes';
import { OAuthService } from './auth/oauthService';
import { Gateway, type GatewayEnv } from './gateway/gateway';
import { DEFAULT_AWAIT_WINDOW_MS } from './tools/awaitApproval';
import { ownTools } from './tools/ownTools';
import { createUpstreamCallbackRoutes } from './upstreams/upstreamCallback';
import { createApprovalRoutes } from './web/approvalRoutes';
import type { Hono } from 'hono';

export interface GatehouseOptions {
  readonly home: string;
  readonly port?: number;
  readonly expiryMs?: number;
  readonly awaitWindowMs?: number;
  /** Where calls and decisions are recorded; `<home>/audit/` JSONL by default. */
  readonly audit?: AuditSink;
  /** More routes, mounted on the gateway's app after the approval pages. */
  readonly routes?: (app: Hono<GatewayEnv>, gatehouse: Gatehouse) => void;
  /** Browser pairing for the approval pages (tests pass one with their own clock). */
  readonly pairing?: BrowserPairing;
  /** How a held call reaches a 2026-07-28 client that can open URLs; `GATEHOUSE_APPROVAL_PROMPT` by default, else `result`. */
  readonly approvalPrompt?: ApprovalPrompt;
}

/**
 * Everything Gatehouse runs, composed once for both front ends (the editor and `gatehouse serve`):
 * the gateway, OAuth, the policy, the approval queue and its tools. Front ends decide through
 * `decide()` — the in-process human channel — and listen to the queue's events.
 */
export class Gatehouse {
  readonly gateway: Gateway;
  readonly policy: PolicyStore;
  readonly approvals: ApprovalQueue;
  readonly consent: ConsentBroker;
  readonly oauth: OAuthService;
  readonly gate: ApprovalGate;
  readonly audit: AuditSink;
  /** Pairs browsers with the human channel: `pairing.createLink(origin)` for "Pair Browser". */
  readonly pairing: BrowserPairing;
  /** Holds new or changed servers.json entries until the human confirms them. */
  readonly servers: ServersGuard;
  awaitWindowMs: number;

  constructor(readonly options: GatehouseOptions) {
    const { home } = options;
    this.awaitWindowMs = options.awaitWindowMs ?? DEFAULT_AWAIT_WINDOW_MS;
    this.consent = new ConsentBroker();
    this.oauth = new OAuthService({ home, consent: this.consent });
    this.policy = new PolicyStore(home);
    this.approvals = new ApprovalQueue(home, { expiryMs: options.expiryMs ?? DEFAULT_EXPIRY_MS });
    this.pairing = options.pairing ?? new BrowserPairing();
    const approvalRoutes = createApprovalRoutes({ pairing: this.pairing, approvals: this.approvals, consent: this.consent, decide: (id, decision) => this.decide(id, decision) });
    const oauth = oauthGatewayOptions(this.oauth);
    const audit = options.audit ?? new AuditLog(home, auditLogOptionsFromEnv());
    this.audit = audit;
    auditExpiredRequests(this.approvals, audit);
    this.gateway = new Gateway({
      home,
      port: options.port,
      approvalPrompt: options.approvalPrompt ?? (process.env.GATEHOUSE_APPROVAL_PROMPT === 'url-elicitation' ? 'url-elicitation' : 'result'),
      authenticators: oauth.authenticators,
      mcpMiddleware: oauth.mcpMiddleware,
      ownTools: (upstreams) =>
        ownTools({
          upstreams,
          approvals: {
            queue: this.approvals,
            run: (request, context) => this.runApproved(request, context),
            windowMs: () => this.awaitWindowMs,
            audit,
            recheck: (request) => this.approvedCallChanged(request),
          },
        }),
      routes: (app) => {
        oauth.routes(app);
        app.route('/', approvalRoutes);
        app.route('/', createUpstreamCallbackRoutes(home));
        options.routes?.(app, this);
      },
    });
    this.servers = new ServersGuard(home);
    this.gateway.upstreams.admit = (servers) => this.servers.admit(servers);
    this.servers.on('serversConfirmed', ({ replaced }) => this.forgetReplacedServers(replaced));
    this.gate = new ApprovalGate(this.policy, this.approvals, (id) => `http://127.0.0.1:${this.gateway.port}/approvals/${id}`, audit, (server) => this.serverConfigHash(server));
    this.gateway.setCallGate(this.gate);
    this.gateway.on('sessionClosed', (session) => this.gate.sessionClosed(session.id));
    this.gateway.on('conversationEnded', (id) => this.gate.sessionClosed(id));
  }

  async start(): Promise<void> {
    this.policy.load();
    this.approvals.load();
    try {
      await this.gateway.start();
    } catch (error) {
      this.approvals.dispose();
      this.policy.dispose();
      this.consent.dispose();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    this.approvals.dispose();
    this.policy.dispose();
    this.consent.dispose();
    await this.audit.durable?.();
    this.audit.close?.();
  }

  /** A one-time link that pairs a browser for deciding on the approval pages (2 minutes). */
  createPairingLink(): string {
    return this.pairing.createLink(`http://127.0.0.1:${this.gateway.port}`);
  }

  /** The in-process human channel: the editor and the serve terminal decide here. */
  decide(requestId: string, decision: HumanDecision): DecideResult {
    // "Always allow/deny" writes policy.json. When that file is broken Gatehouse will not overwrite
    // it, so such a decision is refused whole (the request stays pending) rather than half done.
    const remembers = (decision.kind === 'approve' && (decision.scope === 'tool' || decision.scope === 'arguments')) || (decision.kind === 'deny' && decision.scope === 'always');
    const problem = this.policy.error();
    if (remembers && problem && this.approvals.get(requestId)?.status === 'pending') {
      return {
        ok: false,
        message: `policy.json has a problem, so Gatehouse cannot remember this decision there (${problem.detail}). Nothing was decided: approve or deny once, or fix policy.json first.`,
      };
    }
    if (decision.kind === 'approve' && decision.arguments !== undefined) {
      const request = this.approvals.get(requestId);
      // Checked as given (null, arrays and all): an edit that fails is never a plain approval.
      if (request?.status === 'pending') {
        const checked = this.checkEdit(request, decision.arguments);
        if (!checked.ok) return { ok: false, message: `${checked.message} Nothing was decided.` };
        return this.approvals.decide(requestId, { ...decision, arguments: checked.arguments });
      }
    }
    return this.approvals.decide(requestId, decision);
  }

  /**
   * Whether the human's edited arguments may run in place of the agent's: only for a tool call
   * (not a sampling request or resource read), on the tool as it is listed now, valid for its
   * input schema, and not denied by the policy.
   */
  checkEdit(request: ApprovalRequest, edited: unknown): ReturnType<typeof checkEditedArguments> {
    if (!canEditArguments(request)) {
      return { ok: false, message: 'Only a tool call\'s arguments can be changed; approve or deny this request as it is.' };
    }
    const entry = this.gateway.upstreams.catalog.get(request.tool);
    if (!entry) return { ok: false, message: `${request.tool} is not available right now (its server is not running), so Gatehouse cannot check the edited arguments.` };
    return checkEditedArguments(edited, {
      tool: entry.tool,
      policyTool: this.gate.policyTool(entry),
      evaluate: (tool, args) => this.policy.evaluate(tool, args),
      maxBytes: MAX_HELD_ARGUMENTS_BYTES,
      ownsAdditionalInfo: Boolean(entry.tool.inputSchema.properties && ADDITIONAL_INFO in entry.tool.inputSchema.properties),
    });
  }

  /** The human confirmed the servers.json change that waits: the new entries start now. */
  confirmServers(): void {
    this.servers.confirmPending();
    this.gateway.upstreams.reload();
  }

  /** The human rejected it: servers.json is put back, and nothing new starts. */
  rejectServers(): void {
    this.servers.rejectPending();
    this.gateway.upstreams.reload();
  }

  /**
   * A replaced entry is another program under an old name: the allow rules and grants the human
   * gave that name (rules whose tool is `<name>__…`) are dropped, so they do not carry over to it.
   * Ask and deny rules stay. Approved calls not yet run are caught by `approvedCallChanged`.
   */
  private forgetReplacedServers(names: readonly string[]): void {
    if (names.length === 0) return;
    const ofReplaced = (tool: string): boolean => names.some((name) => tool.startsWith(`${name}__`));
    try {
      this.policy.update((policy) => ({
        ...policy,
        rules: policy.rules.filter((rule) => rule.decision !== 'allow' || !ofReplaced(rule.tool)),
        grants: policy.grants.filter((grant) => !ofReplaced(grant.tool)),
      }));
    } catch (error) {
      this.audit.record({ event: 'error', reason: `could not drop the allow rules of replaced servers (${names.join(', ')}): ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  private serverConfigHash(server: string): string | undefined {
    const config = this.gateway.upstreams.get(server)?.config;
    return config ? sha256Hex(canonicalJson(config)) : undefined;
  }

  /**
   * Why an approved call must not run as approved: the human approved a tool as it was described
   * then, on the server entry it had then. An upstream that changed the tool (description, schema,
   * default-choosing hints) or a servers.json entry replaced meanwhile sends it back to the human.
   */
  private approvedCallChanged(request: ApprovalRequest): string | undefined {
    const entry = this.gateway.upstreams.catalog.get(request.tool);
    if (request.serverConfigHash !== undefined && this.serverConfigHash(request.server) !== request.serverConfigHash) {
      return `the server entry for "${request.server}" in servers.json changed since the human approved this call.`;
    }
    if (entry && request.fingerprint !== undefined && this.gate.fingerprint(entry) !== request.fingerprint) {
      return `the tool ${request.tool} changed since the human approved this call (its description, schema or annotations are different now).`;
    }
    return undefined;
  }

  /** Runs an approved call with exactly the approved arguments (the human's edit, if any), on the road an allowed call takes, for the client that awaits it. */
  private async runApproved(request: ApprovalRequest, context: CallContext): Promise<CallToolResult> {
    // A held sampling request is relayed by the gate that holds it, never run as a tool.
    if (request.originalName === SAMPLING_REQUEST) return errorResult(`This request was ${request.server}'s request to use your model; Gatehouse relays it itself once the human approves. There is nothing to await.`);
    if (request.originalName === RESOURCE_READ) return this.gateway.readApproved(request.server, String(request.arguments.uri), context);
    return this.gateway.callUpstream({ server: request.server, tool: request.originalName }, argumentsToRun(request).arguments, context);
  }
}
