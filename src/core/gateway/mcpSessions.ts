import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  ResultSchema,
  RootsListChangedNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
  type Root,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';
import type { CallContext, ClientLink } from '../calls/callPath';
import { GATEHOUSE_VERSION } from '../version';

/** What each session's MCP server asks of the gateway. */
export interface ToolProvider {
  listTools(context: { principal: Principal; sessionId: string }): Tool[];
  callTool(name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
  /** Runs before a client's `initialize` is answered, with what the client can do. */
  clientArriving(capabilities: ClientCapabilities | undefined): Promise<void>;
  /** A client's roots changed (`notifications/roots/list_changed`). */
  rootsChanged(): void;
}

/** How long a client's roots may take to answer a query that no call caused. */
const ROOTS_TIMEOUT_MS = 5_000;

export interface McpSession {
  readonly id: string;
  readonly principal: Principal;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  readonly createdAt: number;
  readonly lastSeen: number;
  readonly inFlight: number;
}

/** The session's own bookkeeping, which only McpSessions changes. */
type TrackedSession = { -readonly [K in keyof McpSession]: McpSession[K] };

/** A relayed elicitation or sampling request waits for a person; the call's own cancellation bounds it. */
const RELAYED_REQUEST_TIMEOUT_MS = 2 ** 31 - 1;

const INSTRUCTIONS =
  'Gatehouse fronts the user\'s MCP servers; their tools are named <server>__<tool>. Call list_integrations to see them. ' +
  'Some calls need the human\'s approval: such a call returns status "approval_required" with an approval_url and a request_id. ' +
  'Then tell the human what you want to do and why, share the approval_url, and call await_approval with the request_id in the same turn. ' +
  'Never try to approve a call yourself.';

/**
 * The stateful MCP sessions of the streamable HTTP transport (MCP spec, "Session Management"):
 * one SDK Server and transport per session, bound to the principal that created it.
 */
export class McpSessions extends EventEmitter<{ opened: [McpSession]; closed: [McpSession] }> {
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly tools: ToolProvider,
    private readonly idleMs: number,
  ) {
    super();
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
   * existing session (which must be the principal's own), or an `initialize` that opens one.
   */
  async handle(request: Request, principal: Principal): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // A session is bound to the principal that opened it; anyone else gets "not found".
      if (!session || session.principal.clientId !== principal.clientId) {
        return jsonRpcError(404, -32001, 'Session not found: it expired or was closed. Start a new session with initialize.');
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
    const messages = Array.isArray(body) ? body : [body];
    const isInitialize = messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
    if (!isInitialize) return jsonRpcError(400, -32000, 'Bad Request: an Mcp-Session-Id header is required (send initialize first).');
    const initialize = messages.find((m) => (m as { method?: unknown }).method === 'initialize') as { params?: { capabilities?: ClientCapabilities } };
    await this.tools.clientArriving(initialize.params?.capabilities);
    const transport = await this.open(principal);
    const response = await transport.handleRequest(request, { parsedBody: body });
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
  private async open(principal: Principal): Promise<WebStandardStreamableHTTPServerTransport> {
    let session: TrackedSession | undefined;
    const server = new Server(
      { name: 'gatehouse', title: 'Gatehouse', version: GATEHOUSE_VERSION },
      { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS },
    );
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        session = { id, principal, transport, server, createdAt: Date.now(), lastSeen: Date.now(), inFlight: 0 };
        this.sessions.set(id, session);
      },
      onsessionclosed: (id) => this.forget(id),
      // Answers stream as server-sent events, so that what an upstream says during a call
      // (progress, logging) reaches the client on that call's stream; JSON mode would drop it.
      enableJsonResponse: false,
    });
    transport.onclose = (): void => {
      if (session) this.forget(session.id);
    };
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({
      tools: this.tools.listTools({ principal, sessionId: extra.sessionId ?? '' }),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      const client: ClientLink = {
        notify: (notification) => extra.sendNotification(notification),
        request: (relayed, signal) => extra.sendRequest(relayed, ResultSchema, { signal, timeout: RELAYED_REQUEST_TIMEOUT_MS }),
        capabilities: () => server.getClientCapabilities(),
      };
      return this.tools.callTool(request.params.name, args, { principal, sessionId: extra.sessionId ?? '', signal: extra.signal, meta: request.params._meta, client });
    });
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => this.tools.rootsChanged());
    await server.connect(transport);
    return transport;
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
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
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

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), { status, headers: { 'content-type': 'application/json' } });
}
