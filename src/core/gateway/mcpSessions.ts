import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CLIENT_CAPABILITIES_META_KEY, isLegacyRequest } from '@modelcontextprotocol/server';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ResultSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ClientCapabilities,
  type LoggingLevel,
  type LoggingMessageNotification,
  type Root,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';
import type { CallContext, ClientLink } from '../calls/callPath';
import { GATEHOUSE_VERSION } from '../version';
import { AGGREGATE_INSTRUCTIONS, jsonRpcError, keptPage, page, requestId, serverInstructions, type SessionBackend } from './endpointBasics';
import { ModernServing, type ApprovalPrompt } from './modernServing';
import { oneRequestId, WholeAnswers } from './wholeAnswers';
import type { GatewayView } from './views';

/** RFC 5424 severities in MCP's order, most verbose first. */
const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** How long a client's roots may take to answer a query that no call caused. */
const ROOTS_TIMEOUT_MS = 5_000;

export interface McpSession {
  readonly id: string;
  readonly principal: Principal;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  readonly view: GatewayView;
  readonly createdAt: number;
  readonly lastSeen: number;
  readonly inFlight: number;
  /** The level the client set with `logging/setLevel`; until then every message is sent. */
  readonly logLevel?: LoggingLevel;
}

/** The session's own bookkeeping, which only McpSessions changes. */
type TrackedSession = { -readonly [K in keyof McpSession]: McpSession[K] } & { readonly answers: WholeAnswers };

/** A relayed elicitation or sampling request waits for a person; the call's own cancellation bounds it. */
const RELAYED_REQUEST_TIMEOUT_MS = 2 ** 31 - 1;

/** MCP sessions one client may keep open at once. */
export const MAX_SESSIONS_PER_CLIENT = 32;

/**
 * The stateful MCP sessions of the streamable HTTP transport (MCP spec, "Session Management"):
 * one SDK Server and transport per session, bound to the principal that created it.
 */
export class McpSessions extends EventEmitter<{ opened: [McpSession]; closed: [McpSession]; conversationEnded: [conversationId: string] }> {
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly sweeper: NodeJS.Timeout;
  /** The 2026-07-28 revision on the same URLs: requests without a session that carry its `_meta` envelope. */
  private readonly modern: ModernServing;

  constructor(
    private readonly backend: SessionBackend,
    private readonly idleMs: number,
    approvalPrompt?: ApprovalPrompt,
  ) {
    super();
    this.modern = new ModernServing(backend, idleMs, approvalPrompt);
    this.modern.on('conversationEnded', (id) => this.emit('conversationEnded', id));
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): McpSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * Handles one request on the MCP endpoint for an authenticated principal: a request on an
   * existing session (which must be the principal's own), an `initialize` that opens one, or a
   * 2026-07-28 request, which needs no session. The SDK's `isLegacyRequest` decides the era of a
   * request without a session from its own content (the `_meta` envelope and the
   * MCP-Protocol-Version header), as its `createMcpHandler` would.
   */
  async handle(request: Request, principal: Principal, view: GatewayView): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // A session is bound to the principal that opened it, and to its endpoint; anyone else gets "not found".
      if (!session || session.principal.clientId !== principal.clientId || session.view.key !== view.key) {
        const body: unknown = request.method === 'POST' ? await request.json().catch(() => undefined) : undefined;
        return jsonRpcError(404, -32001, 'Session not found: it expired or was closed. Start a new session with initialize.', requestId(body));
      }
      if (request.method === 'POST' && /^application\/json\b/i.test(request.headers.get('content-type') ?? '')) {
        // Read here rather than by the SDK, which reads `request.body` and so makes the Node
        // adapter build a full web Request for every call.
        let parsedBody: unknown;
        try {
          parsedBody = await request.json();
        } catch {
          return jsonRpcError(400, -32700, 'Parse error: the request body is not valid JSON.');
        }
        return this.track(session, () => answer(session.answers, parsedBody, () => session.transport.handleRequest(request, { parsedBody }), () => session.id));
      }
      return this.track(session, () => session.transport.handleRequest(request));
    }

    if (request.method !== 'POST') return jsonRpcError(400, -32000, 'Bad Request: an Mcp-Session-Id header is required.');
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return jsonRpcError(400, -32700, 'Parse error: the request body is not valid JSON.');
    }
    if (!(await isLegacyRequest(request, body))) {
      // What a 2026-07-28 client can do arrives with each request, as `initialize` brings it for 2025.
      await this.backend.clientArriving(envelopeCapabilities(body));
      return this.modern.handle(request, principal, view, body);
    }
    const messages = Array.isArray(body) ? body : [body];
    const isInitialize = messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
    if (!isInitialize) return jsonRpcError(400, -32000, 'Bad Request: an Mcp-Session-Id header is required (send initialize first).', requestId(body));
    const initialize = messages.find((m) => (m as { method?: unknown }).method === 'initialize') as { params?: { capabilities?: ClientCapabilities } };
    await this.backend.clientArriving(initialize.params?.capabilities);
    const { transport, answers } = await this.open(principal, view);
    const response = await answer(answers, body, () => transport.handleRequest(request, { parsedBody: body }), () => transport.sessionId);
    const created = transport.sessionId ? this.sessions.get(transport.sessionId) : undefined;
    if (created) this.emit('opened', created);
    return response;
  }

  /** Counts a request as in flight, so the idle sweep never closes a session that is working. */
  private async track(session: TrackedSession, handle: () => Promise<Response>): Promise<Response> {
    session.lastSeen = Date.now();
    session.inFlight++;
    try {
      return await handle();
    } finally {
      session.inFlight--;
      session.lastSeen = Date.now();
    }
  }

  /** Creates the transport and server for a new session; the id exists once `initialize` succeeds. */
  private async open(principal: Principal, view: GatewayView): Promise<{ transport: WebStandardStreamableHTTPServerTransport; answers: WholeAnswers }> {
    let session: TrackedSession | undefined;
    const server = new Server(
      { name: view.server ? `gatehouse-${view.server}` : 'gatehouse', title: view.server ? `${view.server} via Gatehouse` : 'Gatehouse', version: GATEHOUSE_VERSION },
      {
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, completions: {}, logging: {} },
        instructions: view.server ? serverInstructions(view.server) : AGGREGATE_INSTRUCTIONS,
      },
    );
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        session = { id, principal, transport, answers, server, view, createdAt: Date.now(), lastSeen: Date.now(), inFlight: 0 };
        this.sessions.set(id, session);
        this.evictBeyondLimit(principal.clientId);
      },
      onsessionclosed: (id) => this.forget(id),
      // Answers stream as server-sent events, so that what an upstream says during a call
      // (progress, logging) reaches the client on that call's stream; JSON mode would drop it.
      enableJsonResponse: false,
    });
    const answers = new WholeAnswers(transport);
    transport.onclose = (): void => {
      if (session) this.forget(session.id);
    };
    const context = (extra: RequestHandlerExtra<ServerRequest, ServerNotification>, meta?: CallContext['meta']): CallContext => {
      const client: ClientLink = {
        notify: (notification) => extra.sendNotification(notification),
        request: (relayed, signal) => extra.sendRequest(relayed, ResultSchema, { signal, timeout: RELAYED_REQUEST_TIMEOUT_MS }),
        capabilities: () => server.getClientCapabilities(),
      };
      return { principal, sessionId: extra.sessionId ?? '', signal: extra.signal, meta, client, resourceUri: (upstream, uri) => view.toClientUri(upstream, uri) };
    };
    const backend = this.backend;
    server.setRequestHandler(ListToolsRequestSchema, async (request) => keptPage('tools', backend.listTools(view), request.params?.cursor));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      if ((request.params as { task?: unknown }).task !== undefined) {
        throw new McpError(ErrorCode.InvalidParams, 'Gatehouse does not run calls as tasks (it declares no tasks capability): call the tool without "task".');
      }
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      return backend.callTool(view, request.params.name, args, context(extra, request.params._meta));
    });
    server.setRequestHandler(ListResourcesRequestSchema, async (request) => page('resources', backend.listResources(view), request.params?.cursor));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => page('resourceTemplates', backend.listResourceTemplates(view), request.params?.cursor));
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => backend.readResource(view, request.params.uri, context(extra, request.params._meta)));
    server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
      await backend.subscribe(view, extra.sessionId ?? '', request.params.uri, true, extra.signal);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request, extra) => {
      await backend.subscribe(view, extra.sessionId ?? '', request.params.uri, false, extra.signal);
      return {};
    });
    server.setRequestHandler(ListPromptsRequestSchema, async (request) => page('prompts', backend.listPrompts(view), request.params?.cursor));
    server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => backend.getPrompt(view, request.params.name, request.params.arguments, context(extra, request.params._meta)));
    server.setRequestHandler(CompleteRequestSchema, async (request, extra) => backend.complete(view, request.params, extra.signal));
    server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
      if (session) session.logLevel = request.params.level;
      await backend.setLogLevel(view, this.mostVerboseLevel(), extra.signal);
      return {};
    });
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => backend.rootsChanged());
    await server.connect(transport);
    return { transport, answers };
  }

  /** Every open session's roots, merged by URI, from the clients that declared roots. */
  async rootsOfAll(signal: AbortSignal): Promise<Root[]> {
    const asked = [...this.sessions.values()]
      .filter((session) => session.server.getClientCapabilities()?.roots)
      .map((session) => session.server.listRoots(undefined, { signal, timeout: ROOTS_TIMEOUT_MS }).then((r) => r.roots, () => [] as Root[]));
    const byUri = new Map<string, Root>();
    for (const roots of await Promise.all(asked)) for (const root of roots) if (!byUri.has(root.uri)) byUri.set(root.uri, root);
    return [...byUri.values()];
  }

  /** Tells every session that the tool list changed (MCP `notifications/tools/list_changed`). */
  notifyToolsChanged(): void {
    for (const session of this.sessions.values()) void session.server.sendToolListChanged().catch(() => undefined);
    this.modern.notify('tools');
  }

  notifyResourcesChanged(): void {
    for (const session of this.sessions.values()) void session.server.sendResourceListChanged().catch(() => undefined);
    this.modern.notify('resources');
  }

  notifyPromptsChanged(): void {
    for (const session of this.sessions.values()) void session.server.sendPromptListChanged().catch(() => undefined);
    this.modern.notify('prompts');
  }

  /** `notifications/resources/updated` to the subscribed sessions and 2026-07-28 listen streams, under the URI each endpoint uses. */
  notifyResourceUpdated(subscriberIds: Iterable<string>, server: string, uri: string): void {
    const ids = [...subscriberIds];
    for (const id of ids) {
      const session = this.sessions.get(id);
      if (session) void session.server.sendResourceUpdated({ uri: session.view.toClientUri(server, uri) }).catch(() => undefined);
    }
    this.modern.resourceUpdated(ids, server, uri);
  }

  /** An upstream's log message, to every session whose endpoint serves it and whose level lets it through. */
  log(server: string, message: LoggingMessageNotification['params']): void {
    const logger = message.logger ? `${server}/${message.logger}` : server;
    for (const session of this.sessions.values()) {
      if (!session.view.includes(server)) continue;
      if (session.logLevel && LOG_LEVELS.indexOf(message.level) < LOG_LEVELS.indexOf(session.logLevel)) continue;
      void session.server.notification({ method: 'notifications/message', params: { ...message, logger } }).catch(() => undefined);
    }
  }

  /** Of the levels sessions set, the most verbose one (`info` until one is set). */
  private mostVerboseLevel(): LoggingLevel {
    const levels = [...this.sessions.values()].map((s) => s.logLevel).filter((l): l is LoggingLevel => Boolean(l));
    if (levels.length === 0) return 'info';
    return LOG_LEVELS[Math.min(...levels.map((l) => LOG_LEVELS.indexOf(l)))];
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await this.modern.close();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => undefined)));
  }

  private forget(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.emit('closed', session);
  }

  /**
   * Each session holds an SDK server and transport: a client that opens sessions in a loop would
   * grow memory without bound. Past the limit its least recently used idle session is closed (a
   * live client reconnects; one that forgot its sessions loses nothing).
   */
  private evictBeyondLimit(clientId: string): void {
    const own = [...this.sessions.values()].filter((s) => s.principal.clientId === clientId);
    if (own.length <= MAX_SESSIONS_PER_CLIENT) return;
    const idle = own.filter((s) => s.inFlight === 0).sort((a, b) => a.lastSeen - b.lastSeen);
    for (const session of idle.slice(0, own.length - MAX_SESSIONS_PER_CLIENT)) {
      this.forget(session.id);
      void session.transport.close().catch(() => undefined);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.inFlight === 0 && now - session.lastSeen > this.idleMs) {
        this.forget(session.id);
        void session.transport.close().catch(() => undefined);
      }
    }
  }
}

/** The client capabilities a 2026-07-28 request declares in its `_meta` envelope. */
function envelopeCapabilities(body: unknown): ClientCapabilities | undefined {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta;
  return meta?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
}

/** A POST of one request is answered as JSON when its answer is quick (see `WholeAnswers`); anything else as the SDK answers it. */
function answer(answers: WholeAnswers, body: unknown, handle: () => Promise<Response>, sessionId: () => string | undefined): Promise<Response> {
  const id = oneRequestId(body);
  return id === undefined ? handle() : answers.answer(id, handle, sessionId);
}
