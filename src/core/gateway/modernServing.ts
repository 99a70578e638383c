import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  createRequestStateCodec,
  inputRequired,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type AuthInfo,
  type InputRequest,
  type McpHttpHandler,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CallToolResult, ClientCapabilities, RequestMeta, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';
import type { CallContext, ClientLink } from '../calls/callPath';
import { AWAIT_APPROVAL } from '../tools/awaitApproval';
import { GATEHOUSE_VERSION } from '../version';
import { AGGREGATE_INSTRUCTIONS, page, serverInstructions, type SessionBackend } from './endpointBasics';
import { ParkedCalls, type ParkedCall } from './inputRounds';
import type { GatewayView } from './views';

/**
 * What a retried call carries back (MCP 2026-07-28 `requestState`, HMAC-sealed by the SDK's codec
 * and bound to the client): the held call it waits on, or the parked upstream call and the key of
 * the question the client answers.
 */
type RoundState = { readonly approval: string; readonly url: string; readonly expires: string } | { readonly parked: string; readonly key: string };

/**
 * How a held call reaches a 2026-07-28 client: the `approval_required` result every client
 * understands (the default), or, for clients that declare URL elicitation, an input-required URL
 * elicitation of the approval page (`url-elicitation`). Claude Code and Codex both negotiate
 * 2026-07-28 and declare URL elicitation but answer such prompts by themselves in `-p`/`exec`
 * mode, so the native prompt is opt-in rather than what those models meet by default.
 */
export type ApprovalPrompt = 'result' | 'url-elicitation';

/**
 * The 2026-07-28 revision of the MCP endpoint: no initialize and no session; every request carries
 * its own protocol version and client capabilities in `_meta`. The SDK's `createMcpHandler`
 * (strict, `legacy: 'reject'`: 2025-era traffic goes to `McpSessions`) does the protocol, including
 * `server/discover`, `subscriptions/listen` and the input-required rounds; this class gives it a
 * per-request `Server` over the same `SessionBackend`, so authentication, policy, approvals and the
 * audit log are the 2025 sessions' own.
 *
 * Without a session, "this session" (the scope of an "approve for this session" grant and of
 * reusing an identical held call) is the client's conversation: the same principal on the same
 * endpoint, until it has been idle for the session idle time.
 */
export class ModernServing extends EventEmitter<{ conversationEnded: [conversationId: string] }> {
  private readonly handlers = new Map<string, McpHttpHandler>();
  private readonly conversations = new Map<string, number>();
  private readonly parked = new ParkedCalls();
  /** Open `subscriptions/listen` streams that named resources: their subscriber id → endpoint. */
  private readonly listenStreams = new Map<string, GatewayView>();
  // A per-process key: a held call or a parked upstream call lives only in this process anyway.
  private readonly codec = createRequestStateCodec<RoundState>({
    key: crypto.randomBytes(32),
    ttlSeconds: 15 * 60,
    bind: (ctx) => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.clientId ?? ''}`,
  });
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly backend: SessionBackend,
    private readonly idleMs: number,
    private readonly approvalPrompt: ApprovalPrompt = 'result',
  ) {
    super();
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, idleMs / 4)));
    this.sweeper.unref();
  }

  /** Serves one 2026-07-28 request of an authenticated principal on `view`'s endpoint. */
  handle(request: Request, principal: Principal, view: GatewayView, parsedBody?: unknown): Promise<Response> {
    this.conversations.set(conversationId(principal, view), Date.now());
    const authInfo: AuthInfo = { token: '', clientId: principal.clientId, scopes: [...principal.scopes], extra: { principal } };
    const uris = listenedResources(parsedBody);
    if (uris.length > 0) this.subscribeWhileOpen(view, uris, request.signal);
    return this.handlerFor(view).fetch(request, { authInfo, ...(parsedBody === undefined ? {} : { parsedBody }) });
  }

  /**
   * 2026-07-28 has no resources/subscribe: a `subscriptions/listen` stream names the resources
   * it wants `resources/updated` for. The upstream subscriptions behind them (one per resource,
   * shared with 2025 sessions) last as long as the stream; the SDK's listen router delivers each
   * update only to the streams that named that URI.
   */
  private subscribeWhileOpen(view: GatewayView, uris: readonly string[], closed: AbortSignal): void {
    const listenId = `mcp-2026-listen:${crypto.randomUUID()}`;
    this.listenStreams.set(listenId, view);
    const subscribed = Promise.all(uris.map((uri) => this.backend.subscribe(view, listenId, uri, true, closed).then(() => uri, () => undefined)));
    const end = (): void => {
      this.listenStreams.delete(listenId);
      void subscribed.then((done) => Promise.all(done.filter((uri): uri is string => uri !== undefined).map((uri) => this.backend.subscribe(view, listenId, uri, false, AbortSignal.timeout(10_000)).catch(() => undefined))));
    };
    if (closed.aborted) end();
    else closed.addEventListener('abort', end, { once: true });
  }

  /** An upstream's `resources/updated`, for the listen streams among `subscriberIds`: once per endpoint, under its URI. */
  resourceUpdated(subscriberIds: Iterable<string>, server: string, uri: string): void {
    const views = new Map<string, GatewayView>();
    for (const id of subscriberIds) {
      const view = this.listenStreams.get(id);
      if (view) views.set(view.key, view);
    }
    for (const view of views.values()) this.handlers.get(view.key)?.notify.resourceUpdated(view.toClientUri(server, uri));
  }

  /** `notifications/*\/list_changed` to every open `subscriptions/listen` stream. */
  notify(kind: 'tools' | 'resources' | 'prompts'): void {
    for (const handler of this.handlers.values()) {
      if (kind === 'tools') handler.notify.toolsChanged();
      else if (kind === 'resources') handler.notify.resourcesChanged();
      else handler.notify.promptsChanged();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.handlers.values()].map((h) => h.close().catch(() => undefined)));
    this.handlers.clear();
  }

  private handlerFor(view: GatewayView): McpHttpHandler {
    let handler = this.handlers.get(view.key);
    if (!handler) {
      handler = createMcpHandler((ctx) => this.serverFor(view, principalOf(ctx.authInfo)), { legacy: 'reject', responseMode: 'auto' });
      this.handlers.set(view.key, handler);
    }
    return handler;
  }

  /** One request's SDK server: the same tools, resources and prompts as a 2025 session of `view`. */
  private serverFor(view: GatewayView, principal: Principal): Server {
    const backend = this.backend;
    const server = new Server(
      { name: view.server ? `gatehouse-${view.server}` : 'gatehouse', title: view.server ? `${view.server} via Gatehouse` : 'Gatehouse', version: GATEHOUSE_VERSION },
      {
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, completions: {} },
        instructions: view.server ? serverInstructions(view.server) : AGGREGATE_INSTRUCTIONS,
        requestState: { verify: (state, ctx) => this.codec.verify(state, ctx) },
      },
    );
    const context = (ctx: ServerContext, client?: ClientLink, signal?: AbortSignal): CallContext => ({
      principal,
      sessionId: conversationId(principal, view),
      signal: signal ?? ctx.mcpReq.signal,
      meta: ctx.mcpReq._meta as RequestMeta | undefined,
      client: client ?? this.link(ctx, undefined),
      resourceUri: (upstream, uri) => view.toClientUri(upstream, uri),
    });
    server.setRequestHandler('tools/list', (request) => page('tools', backend.listTools(view), request.params?.cursor) as never);
    server.setRequestHandler('tools/call', async (request, ctx) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      return (await this.callTool(view, request.params.name, args, ctx, context)) as never;
    });
    server.setRequestHandler('resources/list', (request) => page('resources', backend.listResources(view), request.params?.cursor) as never);
    server.setRequestHandler('resources/templates/list', (request) => page('resourceTemplates', backend.listResourceTemplates(view), request.params?.cursor) as never);
    server.setRequestHandler('resources/read', async (request, ctx) => (await backend.readResource(view, request.params.uri, context(ctx))) as never);
    server.setRequestHandler('prompts/list', (request) => page('prompts', backend.listPrompts(view), request.params?.cursor) as never);
    server.setRequestHandler('prompts/get', async (request, ctx) => (await backend.getPrompt(view, request.params.name, request.params.arguments, context(ctx))) as never);
    server.setRequestHandler('completion/complete', async (request, ctx) => (await backend.complete(view, request.params as never, ctx.mcpReq.signal)) as never);
    return server;
  }

  /**
   * A call for a 2026-07-28 client. A first call runs as it would for any client; when the
   * upstream asks the client something during it, the client gets an input-required result and
   * the call waits, parked, for its retry. A held call becomes a URL elicitation of the approval
   * page for clients that declare URL elicitation, and its retry waits on the human's decision
   * exactly as await_approval does: what the client answers is never read.
   */
  private async callTool(view: GatewayView, name: string, args: Record<string, unknown>, ctx: ServerContext, context: (ctx: ServerContext, client?: ClientLink, signal?: AbortSignal) => CallContext): Promise<unknown> {
    const principal = principalOf(ctx.http?.authInfo);
    const state = ctx.mcpReq.requestState<RoundState>();
    if (state && 'approval' in state) {
      return asCallResult(await this.backend.callTool(view, AWAIT_APPROVAL, { request_id: state.approval }, context(ctx)), state);
    }
    let call: ParkedCall | undefined;
    if (state && 'parked' in state) {
      call = this.parked.find(state.parked, principal.clientId);
      if (!call) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'This call is no longer waiting for input (it finished, timed out, or Gatehouse restarted): call the tool again without requestState.');
      const response = ctx.mcpReq.inputResponses?.[state.key];
      if (response && typeof response === 'object') call.answer(state.key, response as Record<string, unknown>);
    } else {
      const fresh = this.parked.open(principal.clientId);
      fresh.start((ask) => this.backend.callTool(view, name, args, context(ctx, this.link(ctx, ask), fresh.signal)));
      call = fresh;
    }
    const outcome = await call.next(ctx.mcpReq.signal);
    if ('ask' in outcome) {
      const requestState = await this.codec.mint({ parked: this.parked.park(call), key: outcome.ask.key }, ctx);
      return inputRequired({ inputRequests: { [outcome.ask.key]: asInputRequest(outcome.ask.request) }, requestState });
    }
    this.parked.forget(call);
    return this.approvalAsInput(outcome.result, ctx);
  }

  /** A held call, for a client that can open a URL for its human: the approval page as a URL elicitation. */
  private async approvalAsInput(result: CallToolResult, ctx: ServerContext): Promise<unknown> {
    const held = result.structuredContent as { status?: unknown; request_id?: unknown; approval_url?: unknown; expires_at?: unknown; message?: unknown } | undefined;
    if (held?.status !== 'approval_required' || typeof held.request_id !== 'string' || typeof held.approval_url !== 'string') return result;
    if (this.approvalPrompt !== 'url-elicitation' || !capabilitiesOf(ctx)?.elicitation?.url) return result;
    const requestState = await this.codec.mint({ approval: held.request_id, url: held.approval_url, expires: String(held.expires_at ?? '') }, ctx);
    const message =
      `Gatehouse holds this call for the human's approval (request ${held.request_id}). Open the page to see it, then approve or deny it in your editor, ` +
      'the gatehouse serve terminal or a paired browser. Answering this prompt decides nothing.';
    const ask = inputRequired.elicitUrl({ message, url: held.approval_url });
    // The 2026-07-28 URL shape has no elicitationId, but Codex 0.171 (rmcp) refuses a URL input
    // request without one; an extra field costs other clients nothing.
    return inputRequired({ inputRequests: { approval: { ...ask, params: { ...ask.params, elicitationId: held.request_id } } as InputRequest }, requestState });
  }

  /** The way back to a 2026-07-28 client: notifications on the request's stream; requests only as input rounds. */
  private link(ctx: ServerContext, ask: ((request: ServerRequest, signal?: AbortSignal) => Promise<Record<string, unknown>>) | undefined): ClientLink {
    return {
      notify: (notification) => ctx.mcpReq.notify(notification as never),
      request: (relayed, signal) => {
        if (!ask) throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `A 2026-07-28 client cannot be sent ${relayed.method} outside a tool call.`);
        return ask(relayed, signal);
      },
      capabilities: () => capabilitiesOf(ctx),
    };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, lastSeen] of this.conversations) {
      if (now - lastSeen <= this.idleMs) continue;
      this.conversations.delete(id);
      this.emit('conversationEnded', id);
    }
  }
}

/** The resource URIs a `subscriptions/listen` request asks updates for (none for any other request). */
function listenedResources(body: unknown): string[] {
  const message = body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } } | undefined;
  if (message?.method !== 'subscriptions/listen') return [];
  const uris = message.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? [...new Set(uris.filter((uri): uri is string => typeof uri === 'string'))] : [];
}

/** "This session" for a client without one: its principal on one endpoint. */
function conversationId(principal: Principal, view: GatewayView): string {
  return `mcp-2026:${principal.clientId}:${view.key}`;
}

function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined;
  // Every request reaches this class through `handle`, which always passes the principal.
  if (!principal) throw new ProtocolError(ProtocolErrorCode.InternalError, 'Gatehouse lost track of who is calling.');
  return principal;
}

function capabilitiesOf(ctx: ServerContext): ClientCapabilities | undefined {
  return (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
}

/** A 2025-era upstream's request as an input request; URL elicitations lose the 2025-only `elicitationId`. */
function asInputRequest(request: ServerRequest): InputRequest {
  if (request.method === 'elicitation/create' && request.params.mode === 'url') {
    const { elicitationId: _dropped, ...params } = request.params;
    return { method: request.method, params } as InputRequest;
  }
  return request as InputRequest;
}

/**
 * await_approval's answer as the result of the tool the client called, so that it fits that
 * tool's output schema (which admits the upstream's own result and `approval_required`): an
 * approved call's own structured result, `approval_required` again while the human has not
 * decided, and a denial or expiry as an error result, whose structuredContent is not checked.
 */
function asCallResult(answer: CallToolResult, state: { readonly approval: string; readonly url: string; readonly expires: string }): CallToolResult {
  const said = (answer.structuredContent ?? {}) as { status?: string; message?: string; result?: { structured_content?: Record<string, unknown> } };
  if (said.status === 'approved' && said.result?.structured_content) {
    return { content: answer.content, structuredContent: said.result.structured_content, ...(answer.isError ? { isError: true } : {}) };
  }
  if (said.status === 'approved') return answer;
  if (said.status === 'pending') {
    const message = `${said.message ?? 'The human has not decided yet.'} Share the approval link ${state.url} with the human and call await_approval with request_id "${state.approval}".`;
    return { content: [{ type: 'text', text: message }], structuredContent: { status: 'approval_required', request_id: state.approval, approval_url: state.url, expires_at: state.expires, message } };
  }
  return { ...answer, isError: true };
}
