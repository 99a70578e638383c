import * as crypto from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';
import type { CallContext } from '../tools/gatewayTool';
import { GATEHOUSE_VERSION } from '../version';

/** What each session's MCP server asks of the gateway. */
export interface ToolProvider {
  listTools(context: { principal: Principal; sessionId: string }): Tool[];
  callTool(name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
}

export interface McpSession {
  readonly id: string;
  readonly principal: Principal;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  readonly createdAt: number;
  lastSeen: number;
  inFlight: number;
}

const INSTRUCTIONS =
  'Gatehouse fronts the user\'s MCP servers; their tools are named <server>__<tool>. Call list_integrations to see them. ' +
  'Some calls need the human\'s approval: such a call returns status "approval_required" with an approval_url and a request_id. ' +
  'Then tell the human what you want to do and why, share the approval_url, and call await_approval with the request_id in the same turn. ' +
  'Never try to approve a call yourself.';

/**
 * The stateful MCP sessions of the streamable HTTP transport (MCP spec, "Session Management"):
 * one SDK Server and transport per session, bound to the principal that created it.
 */
export class McpSessions {
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly tools: ToolProvider,
    private readonly idleMs: number,
    private readonly onClosed: (session: McpSession) => void = () => undefined,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): McpSession | undefined {
    return this.sessions.get(id);
  }

  /** Creates the transport and server for a new session; the id exists once `initialize` succeeds. */
  async open(principal: Principal): Promise<WebStandardStreamableHTTPServerTransport> {
    let session: McpSession | undefined;
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
      enableJsonResponse: true,
    });
    transport.onclose = (): void => {
      if (session) this.forget(session.id);
    };
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({
      tools: this.tools.listTools({ principal, sessionId: extra.sessionId ?? '' }),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      return this.tools.callTool(request.params.name, args, { principal, sessionId: extra.sessionId ?? '', signal: extra.signal });
    });
    await server.connect(transport);
    return transport;
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
    this.onClosed(session);
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
