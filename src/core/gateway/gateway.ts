import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { CallToolResult, ClientCapabilities, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiKeyAuthenticator, ApiKeyStore } from '../auth/apiKeys';
import type { Authenticator, Principal } from '../auth/principal';
import { errorResult, type CallContext, type CallGate, type CatalogEntry, type GatewayTool } from '../calls/callPath';
import { CallRouter } from '../calls/callRouter';
import { UpstreamRequests } from '../calls/upstreamRequests';
import { AWAIT_APPROVAL } from '../tools/awaitApproval';
import { FeatureRouter, rewriteContent } from './featureRouter';
import { aggregateView, serverView, type GatewayView } from './views';
import { ownTools } from '../tools/ownTools';
import { upstreamCallbackUrl } from '../upstreams/upstreamAuth';
import { UpstreamManager } from '../upstreams/upstreamManager';
import { GATEHOUSE_VERSION } from '../version';
import { hostAndOriginGuard, jsonError } from './guards';
import { McpSessions, type McpSession } from './mcpSessions';
import type { ApprovalPrompt } from './modernServing';

/** The documented default port. */
export const DEFAULT_PORT = 7337;
const DEFAULT_SESSION_IDLE_MS = 60 * 60_000;
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long a new client's `initialize` waits for upstreams to reconnect with its capabilities. */
const CAPABILITY_REFRESH_WAIT_MS = 10_000;

export type GatewayEnv = { Variables: { origin: string } };

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
  /** The gateway's own tools; by default `list_integrations` alone (Gatehouse adds `await_approval`). */
  readonly ownTools?: (upstreams: UpstreamManager) => readonly GatewayTool[];
  /** How a held call reaches a 2026-07-28 client that declares URL elicitation (`result` by default). */
  readonly approvalPrompt?: ApprovalPrompt;
  /** How long an upstream call may go without reporting progress (15 minutes by default). */
  readonly upstreamCallTimeoutMs?: number;
}

/** An upstream tool under its upstream's own name. */
export interface UpstreamTarget {
  readonly server: string;
  readonly tool: string;
}

export interface GatewayEvents {
  started: [url: string];
  stopped: [];
  sessionOpened: [McpSession];
  sessionClosed: [McpSession];
  /** A 2026-07-28 client's conversation (its principal on one endpoint) has been idle for the session idle time. */
  conversationEnded: [conversationId: string];
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
  /** Each endpoint's tool list, with the catalog and gate it was built from. */
  private readonly listed = new Map<string, { catalog: ReadonlyMap<string, CatalogEntry>; gate: CallGate | undefined; tools: Tool[] }>();
  /** Which client each upstream call in flight serves, for the upstream's own requests. */
  private readonly router = new CallRouter();
  private readonly upstreamRequests: UpstreamRequests;
  /** Resources, prompts, completion and logging of the upstreams. */
  readonly features: FeatureRouter;
  /** `/mcp`: every upstream under `<server>__<name>`. */
  private readonly aggregate: GatewayView;
  private readonly authenticators: Authenticator[];
  private server: ServerType | undefined;
  private serverV6: ServerType | undefined;
  private portValue: number;
  private gate: CallGate | undefined;

  constructor(readonly options: GatewayOptions) {
    super();
    this.portValue = options.port ?? DEFAULT_PORT;
    this.apiKeys = new ApiKeyStore(options.home);
    this.authenticators = [new ApiKeyAuthenticator(this.apiKeys), ...(options.authenticators ?? [])];
    this.upstreamRequests = new UpstreamRequests({
      router: this.router,
      rootsOverride: (server) => {
        const config = this.upstreams.get(server)?.config;
        return config && config.type !== 'builtin' ? config.roots : undefined;
      },
      rootsOfAllSessions: (signal) => this.sessions.rootsOfAll(signal),
      gate: () => this.gate,
    });
    this.upstreams = new UpstreamManager(options.home, { callTimeoutMs: options.upstreamCallTimeoutMs, peer: this.upstreamRequests, oauthRedirectUrl: () => upstreamCallbackUrl(this.portValue) });
    this.aggregate = aggregateView(this.upstreams);
    this.sessions = new McpSessions(
      {
        listTools: (view) => this.listTools(view),
        callTool: (view, name, args, context) => this.callTool(name, args, context, view),
        listResources: (view) => this.features.listResources(view),
        listResourceTemplates: (view) => this.features.listResourceTemplates(view),
        readResource: (view, uri, context) => this.features.readResource(view, uri, context),
        subscribe: (view, sessionId, uri, subscribed, signal) => this.features.subscribe(view, sessionId, uri, subscribed, signal),
        listPrompts: (view) => this.features.listPrompts(view),
        getPrompt: (view, name, args, context) => this.features.getPrompt(view, name, args, context),
        complete: (view, params, signal) => this.features.complete(view, params, signal),
        setLogLevel: (view, level, signal) => this.features.setLogLevel(view, level, signal),
        clientArriving: (capabilities) => this.clientArriving(capabilities),
        rootsChanged: () => this.upstreams.notifyRootsChanged(),
      },
      options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
      options.approvalPrompt,
    );
    this.features = new FeatureRouter(this.upstreams, this.sessions, () => this.gate);
    this.sessions.on('opened', (session) => this.emit('sessionOpened', session));
    this.sessions.on('closed', (session) => this.emit('sessionClosed', session));
    this.sessions.on('conversationEnded', (id) => this.emit('conversationEnded', id));
    for (const tool of (options.ownTools ?? ((upstreams) => ownTools({ upstreams })))(this.upstreams)) this.ownTools.set(tool.definition.name, tool);
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
    try {
      this.serverV6 = await this.listenOnIpv6Loopback();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.emit('started', this.url);
  }

  /**
   * `localhost` may resolve to `::1` first, so another program on `[::1]:<port>` would receive
   * what a client meant for Gatehouse (a token, an approval page). Gatehouse takes that address
   * too, and refuses to start when someone else holds it. Hosts without IPv6 have no such gap.
   */
  private async listenOnIpv6Loopback(): Promise<ServerType | undefined> {
    const server = createAdaptorServer({ fetch: this.app.fetch });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: this.portValue, host: '::1', ipv6Only: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'EINVAL') return undefined;
      if (code === 'EADDRINUSE') {
        throw new Error(
          `Port ${this.portValue} on [::1] is held by another program, so "localhost" URLs could reach it instead of Gatehouse. Stop it, or choose another port with --port (or GATEHOUSE_PORT).`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.sessions.closeAll();
    await this.upstreams.stop();
    this.apiKeys.flush();
    const servers = [this.server, this.serverV6];
    this.server = undefined;
    this.serverV6 = undefined;
    for (const server of servers) {
      if (!server) continue;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
    this.emit('stopped');
  }

  /**
   * The tools an endpoint lists: the gateway's own (on `/mcp/<server>`, only `await_approval`), then the upstreams' under the view's names.
   * Kept per endpoint until the catalog or the call gate changes: every page of a long list
   * would otherwise rebuild and decorate the whole catalog.
   */
  listTools(view: GatewayView = this.aggregate): Tool[] {
    const catalog = this.upstreams.catalog;
    const kept = this.listed.get(view.key);
    if (kept && kept.catalog === catalog && kept.gate === this.gate) return kept.tools;
    const tools = this.buildToolList(view);
    this.listed.set(view.key, { catalog, gate: this.gate, tools });
    return tools;
  }

  private buildToolList(view: GatewayView): Tool[] {
    const own = this.ownToolsFor(view);
    const upstream = view
      .tools()
      .filter((entry) => !own.has(view.toolName(entry)))
      .map((entry) => {
        const tool = this.gate ? this.gate.decorate(entry) : entry.tool;
        const name = view.toolName(entry);
        return name === tool.name ? tool : { ...tool, name };
      });
    return [...[...own.values()].map((t) => t.definition), ...upstream];
  }

  async callTool(name: string, args: Record<string, unknown>, context: CallContext, view: GatewayView = this.aggregate): Promise<CallToolResult> {
    // Own names win, so no upstream tool can stand in for await_approval.
    const own = this.ownToolsFor(view).get(name);
    if (own) return own.call(args, context);
    const entry = view.findTool(name);
    if (!entry) return this.upstreams.signInRefusal(view.server ? `${view.server}__${name}` : name) ?? errorResult(`Gatehouse has no tool named "${name}". ${view.server ? 'Call tools/list' : 'Call list_integrations'} to see the available tools.`);
    const forward = (forwarded: Record<string, unknown>): Promise<CallToolResult> => this.callUpstream({ server: entry.server, tool: entry.originalName }, forwarded, context);
    return this.gate ? this.gate.call(entry, args, context, forward) : forward(args);
  }

  /**
   * The one way a call reaches an upstream, for an allowed call and for an approved one that
   * await_approval runs: under the tool's own name, for the client of `context`, announcing the
   * result (`upstreamResult`).
   */
  async callUpstream(target: UpstreamTarget, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    const upstream = this.upstreams.get(target.server);
    if (!upstream) return errorResult(`The server "${target.server}" is no longer configured in Gatehouse.`);
    const progressToken = context.meta?.progressToken;
    const client = context.client;
    // The upstream's progress goes back under the token the client chose (the SDK uses its own
    // token upstream); without one the client asked for no progress, and none is relayed.
    // The relays are chained and awaited, so the last report reaches the client before the result
    // closes the call's stream.
    let relayed = Promise.resolve();
    const onProgress =
      progressToken !== undefined && client
        ? (progress: Progress): void => {
            relayed = relayed.then(() => client.notify({ method: 'notifications/progress', params: { ...progress, progressToken } })).catch(() => undefined);
          }
        : undefined;
    const end = this.router.begin(target.server, context);
    let result: CallToolResult;
    try {
      result = await upstream.callTool(target.tool, args, { signal: context.signal, meta: context.meta, onProgress });
    } finally {
      end();
    }
    await relayed;
    this.emit('upstreamResult', { server: target.server, tool: target.tool, result });
    return result.content.some((item) => item.type === 'resource_link' || item.type === 'resource')
      ? { ...result, content: result.content.map((item) => rewriteContent(item, target.server, context)) }
      : result;
  }

  /** The resource read of an approved request, as await_approval returns it: the contents as embedded resources. */
  async readApproved(server: string, uri: string, context: CallContext): Promise<CallToolResult> {
    try {
      const result = await this.features.readUpstream(server, uri, context);
      return { content: result.contents.map((resource) => ({ type: 'resource' as const, resource })) };
    } catch (error) {
      return errorResult(`Reading ${uri} from "${server}" failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private ownToolsFor(view: GatewayView): ReadonlyMap<string, GatewayTool> {
    if (!view.server) return this.ownTools;
    return new Map([...this.ownTools].filter(([name]) => name === AWAIT_APPROVAL));
  }

  /**
   * A client is about to be answered `initialize`. If it can do more than the upstreams were
   * told (elicitation, sampling, roots), they reconnect declaring it, and the client waits for
   * that (bounded), so that its first `tools/list` already has the tools such servers offer only
   * to capable clients.
   */
  private async clientArriving(capabilities: ClientCapabilities | undefined): Promise<void> {
    if (!this.upstreamRequests.addClient(capabilities)) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.upstreams.refreshCapabilities(), new Promise<void>((resolve) => (timer = setTimeout(resolve, CAPABILITY_REFRESH_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private createApp(): Hono<GatewayEnv> {
    const app = new Hono<GatewayEnv>();
    app.onError((error, c) => jsonError(c, 500, 'server_error', `Gatehouse failed to handle the request: ${error.message}`));
    app.notFound((c) => jsonError(c, 404, 'not_found', `Nothing at ${c.req.path}. The MCP endpoint is /mcp.`));
    app.use('*', hostAndOriginGuard(() => this.portValue));
    const maxSize = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const tooLarge = (c: Context<GatewayEnv>): Response => jsonError(c, 413, 'payload_too_large', `Request bodies are limited to ${maxSize} bytes.`);
    const streamedLimit = bodyLimit({ maxSize, onError: tooLarge });
    // hono's bodyLimit reads `request.body`, which makes @hono/node-server build a full web Request
    // for every call (about 12 % of the gateway's CPU per call). Node's parser never delivers more
    // than a declared Content-Length, so that header is the limit; chunked bodies are still counted.
    app.use('*', async (c, next) => {
      const length = c.req.header('content-length');
      if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedLimit(c, next);
      if (!/^\d+$/.test(length) || Number(length) > maxSize) return tooLarge(c);
      await next();
    });
    // Lets a second Gatehouse (or another editor window) recognise the owner of the port.
    app.get('/.well-known/gatehouse', (c) => c.json({ product: 'gatehouse', version: GATEHOUSE_VERSION, pid: process.pid }));
    for (const middleware of this.options.mcpMiddleware ?? []) {
      app.use('/mcp', middleware);
      app.use('/mcp/', middleware);
    }
    app.on(['POST', 'GET', 'DELETE'], ['/mcp', '/mcp/'], (c) => this.handleMcp(c.req.raw, c.get('origin'), this.aggregate));
    for (const middleware of this.options.mcpMiddleware ?? []) app.use('/mcp/:server', middleware);
    // One upstream under its own names, behind the same authentication, policy and approvals.
    app.on(['POST', 'GET', 'DELETE'], '/mcp/:server', (c) => {
      const server = c.req.param('server');
      if (!this.upstreams.get(server)) return jsonError(c, 404, 'not_found', `No server "${server}" is configured in Gatehouse. /mcp serves them all; /mcp/<server> serves one.`);
      return this.handleMcp(c.req.raw, c.get('origin'), serverView(this.upstreams, server));
    });
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

  private async handleMcp(request: Request, origin: string, view: GatewayView): Promise<Response> {
    const auth = await this.authenticate(request, origin);
    if ('response' in auth) return auth.response;
    return this.sessions.handle(request, auth.principal, view);
  }

  /** The URL of an endpoint: `/mcp`, or `/mcp/<server>` for one upstream. */
  endpointUrl(server?: string): string {
    return server ? `${this.url}/${encodeURIComponent(server)}` : this.url;
  }
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
