import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiKeyAuthenticator, ApiKeyStore } from '../auth/apiKeys';
import type { Authenticator, Principal } from '../auth/principal';
import { createListIntegrationsTool } from '../tools/listIntegrations';
import type { CallContext, GatewayTool } from '../tools/gatewayTool';
import type { CatalogEntry } from '../upstreams/catalog';
import { errorResult } from '../upstreams/upstream';
import { upstreamCallbackUrl } from '../upstreams/upstreamAuth';
import { UpstreamManager } from '../upstreams/upstreamManager';
import { GATEHOUSE_VERSION } from '../version';
import { hostAndOriginGuard, jsonError } from './guards';
import { McpSessions, type McpSession } from './mcpSessions';

/** The documented default port. */
export const DEFAULT_PORT = 7337;
const DEFAULT_SESSION_IDLE_MS = 60 * 60_000;
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export type GatewayEnv = { Variables: { origin: string } };

/**
 * Decides what happens to a call of an upstream tool. The approvals layer installs one; without
 * it every call is forwarded. `forward` runs the call on its upstream.
 */
export interface CallGate {
  decorate(entry: CatalogEntry): Tool;
  call(entry: CatalogEntry, args: Record<string, unknown>, context: CallContext, forward: (args: Record<string, unknown>) => Promise<CallToolResult>): Promise<CallToolResult>;
}

export interface GatewayOptions {
  readonly home: string;
  /** 0 picks a free port (tests). */
  readonly port?: number;
  /** Checked after API keys, in order; the first definite answer wins. */
  readonly authenticators?: readonly Authenticator[];
  /** Extra routes (OAuth, approval pages), mounted after the guards and before the 404. */
  readonly routes?: (app: Hono<GatewayEnv>, gateway: Gateway) => void;
  /** Middleware for `/mcp` before authentication (CORS for browser clients). */
  readonly mcpMiddleware?: Parameters<Hono<GatewayEnv>['use']>[1][];
  readonly sessionIdleMs?: number;
  readonly maxBodyBytes?: number;
}

export interface GatewayEvents {
  started: [url: string];
  stopped: [];
  sessionOpened: [McpSession];
  sessionClosed: [McpSession];
  /** An upstream answered a call (allowed, or approved and run); front ends look for foreign approval links. */
  upstreamResult: [UpstreamResult];
}

export interface UpstreamResult {
  readonly server: string;
  /** The upstream's own name for the tool. */
  readonly tool: string;
  readonly result: CallToolResult;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly otherGatehouse: { pid?: number; version?: string } | undefined,
  ) {
    super(
      otherGatehouse
        ? `Another Gatehouse (pid ${otherGatehouse.pid ?? '?'}, version ${otherGatehouse.version ?? '?'}) is already serving on port ${port}. Use that one, stop it, or choose another port with --port.`
        : `Port ${port} on 127.0.0.1 is already in use by another program. Stop it, or choose another port with --port (or the GATEHOUSE_PORT environment variable).`,
    );
    this.name = 'PortInUseError';
  }
}

/** The gateway: guards, authentication, the MCP endpoint and its sessions, over the upstream catalog. */
export class Gateway extends EventEmitter<GatewayEvents> {
  readonly apiKeys: ApiKeyStore;
  readonly upstreams: UpstreamManager;
  readonly app: Hono<GatewayEnv>;
  readonly sessions: McpSessions;
  private readonly ownTools = new Map<string, GatewayTool>();
  private readonly authenticators: Authenticator[];
  private server: ServerType | undefined;
  private portValue: number;
  private gate: CallGate | undefined;

  constructor(readonly options: GatewayOptions) {
    super();
    this.portValue = options.port ?? DEFAULT_PORT;
    this.apiKeys = new ApiKeyStore(options.home);
    this.authenticators = [new ApiKeyAuthenticator(this.apiKeys), ...(options.authenticators ?? [])];
    // Own tool names have no "__", so they can never collide with an upstream's <server>__<tool>.
    this.upstreams = new UpstreamManager(options.home, () => upstreamCallbackUrl(this.portValue));
    this.sessions = new McpSessions(
      { listTools: () => this.listTools(), callTool: (name, args, context) => this.callTool(name, args, context) },
      options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
      (session) => this.emit('sessionClosed', session),
    );
    this.registerTool(createListIntegrationsTool(this.upstreams));
    this.upstreams.on('catalogChanged', () => this.sessions.notifyToolsChanged());
    this.app = this.createApp();
  }

  get port(): number {
    return this.portValue;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portValue}/mcp`;
  }

  get home(): string {
    return this.options.home;
  }

  /** Adds one of the gateway's own tools (await_approval, …). Own names win over upstream names. */
  registerTool(tool: GatewayTool): void {
    this.ownTools.set(tool.definition.name, tool);
    this.sessions?.notifyToolsChanged();
  }

  setCallGate(gate: CallGate | undefined): void {
    this.gate = gate;
    this.sessions.notifyToolsChanged();
  }

  /** Starts upstreams (without waiting for them) and listens on 127.0.0.1 only. */
  async start(): Promise<void> {
    this.upstreams.start();
    const server = createAdaptorServer({ fetch: this.app.fetch });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(this.portValue, '127.0.0.1');
    }).catch(async (error: NodeJS.ErrnoException) => {
      await this.upstreams.stop();
      if (error.code === 'EADDRINUSE') throw new PortInUseError(this.portValue, await probeGatehouse(this.portValue));
      throw error;
    });
    this.server = server;
    this.portValue = (server.address() as AddressInfo).port;
    this.emit('started', this.url);
  }

  async stop(): Promise<void> {
    await this.sessions.closeAll();
    await this.upstreams.stop();
    this.apiKeys.flush();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
    this.emit('stopped');
  }

  listTools(): Tool[] {
    const own = [...this.ownTools.values()].map((t) => t.definition);
    const upstream = [...this.upstreams.catalog.values()].map((entry) => (this.gate ? this.gate.decorate(entry) : entry.tool));
    return [...own, ...upstream];
  }

  async callTool(name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    const own = this.ownTools.get(name);
    if (own) return own.call(args, context);
    const entry = this.upstreams.catalog.get(name);
    if (!entry) return this.upstreams.signInRefusal(name) ?? errorResult(`Gatehouse has no tool named "${name}". Call list_integrations to see the available tools.`);
    const forward = (forwarded: Record<string, unknown>): Promise<CallToolResult> => this.forward(entry, forwarded, context.signal);
    return this.gate ? this.gate.call(entry, args, context, forward) : forward(args);
  }

  /** Runs a call on its upstream under the tool's original name. */
  forward(entry: CatalogEntry, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    return this.callUpstream(entry.server, entry.originalName, args, signal);
  }

  /** Runs a call on the named upstream and announces the result (`upstreamResult`). */
  async callUpstream(server: string, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    const upstream = this.upstreams.get(server);
    if (!upstream) return errorResult(`The server "${server}" is no longer configured in Gatehouse.`);
    const result = await upstream.callTool(tool, args, signal);
    this.emit('upstreamResult', { server, tool, result });
    return result;
  }

  private createApp(): Hono<GatewayEnv> {
    const app = new Hono<GatewayEnv>();
    app.onError((error, c) => jsonError(c, 500, 'server_error', `Gatehouse failed to handle the request: ${error.message}`));
    app.notFound((c) => jsonError(c, 404, 'not_found', `Nothing at ${c.req.path}. The MCP endpoint is /mcp.`));
    app.use('*', hostAndOriginGuard(() => this.portValue));
    app.use(
      '*',
      bodyLimit({
        maxSize: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        onError: (c) => jsonError(c, 413, 'payload_too_large', `Request bodies are limited to ${this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes.`),
      }),
    );
    // Lets a second Gatehouse (or another editor window) recognise the owner of the port.
    app.get('/.well-known/gatehouse', (c) => c.json({ product: 'gatehouse', version: GATEHOUSE_VERSION, pid: process.pid }));
    for (const middleware of this.options.mcpMiddleware ?? []) {
      app.use('/mcp', middleware);
      app.use('/mcp/', middleware);
    }
    app.on(['POST', 'GET', 'DELETE'], ['/mcp', '/mcp/'], (c) => this.handleMcp(c.req.raw, c.get('origin')));
    this.options.routes?.(app, this);
    return app;
  }

  private async authenticate(request: Request, origin: string): Promise<{ principal: Principal } | { response: Response }> {
    for (const authenticator of this.authenticators) {
      const result = await authenticator.authenticate(request, origin);
      if (!result) continue;
      if (result.ok) return { principal: result.principal };
      return { response: this.authFailure(result.status, result.error, result.description, origin, true) };
    }
    return {
      response: this.authFailure(401, 'invalid_token', 'Gatehouse needs credentials: send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>" (create one with `gatehouse key create <label>`), or sign in with OAuth.', origin),
    };
  }

  private authFailure(status: 401 | 403, error: string, description: string, origin: string, credentialsSent = false): Response {
    const challenges = this.authenticators.map((a) => a.challenge?.(origin)).filter((c): c is string => Boolean(c));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // RFC 6750 §3.1: name the error only when credentials were sent (invalid_token, insufficient_scope → step-up).
    headers['www-authenticate'] = challenges[0] ? (credentialsSent ? `${challenges[0]}, error="${error}"` : challenges[0]) : `Bearer error="${error}"`;
    return new Response(JSON.stringify({ error, error_description: description }), { status, headers });
  }

  private async handleMcp(request: Request, origin: string): Promise<Response> {
    const auth = await this.authenticate(request, origin);
    if ('response' in auth) return auth.response;
    const principal = auth.principal;
    const sessionId = request.headers.get('mcp-session-id');

    if (sessionId) {
      const session = this.sessions.get(sessionId);
      // A session is bound to the principal that opened it; anyone else gets "not found".
      if (!session || session.principal.clientId !== principal.clientId) {
        return jsonRpcError(404, -32001, 'Session not found: it expired or was closed. Start a new session with initialize.');
      }
      session.lastSeen = Date.now();
      session.inFlight++;
      try {
        return await session.transport.handleRequest(request);
      } finally {
        session.inFlight--;
        session.lastSeen = Date.now();
      }
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
    const transport = await this.sessions.open(principal);
    const response = await transport.handleRequest(request, { parsedBody: body });
    const created = transport.sessionId ? this.sessions.get(transport.sessionId) : undefined;
    if (created) this.emit('sessionOpened', created);
    return response;
  }
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), { status, headers: { 'content-type': 'application/json' } });
}

/** Asks whatever holds the port whether it is a Gatehouse. */
export async function probeGatehouse(port: number): Promise<{ pid?: number; version?: string } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/.well-known/gatehouse`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { product?: string; pid?: number; version?: string };
    return body.product === 'gatehouse' ? { pid: body.pid, version: body.version } : undefined;
  } catch {
    return undefined;
  }
}
