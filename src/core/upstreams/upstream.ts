import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AnySchema, SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ErrorCode,
  McpError,
  ElicitRequestSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListRootsRequestSchema,
  ProgressNotificationSchema,
  ToolSchema,
  type CallToolResult,
  type ClientCapabilities,
  type ClientRequest,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type ServerCapabilities,
  type ServerNotification,
  type CreateMessageResult,
  type ElicitResult,
  type ListRootsResult,
  type Progress,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { errorResult } from '../calls/callPath';
import { createDemoServer } from '../demo/demoServer';
import { GATEHOUSE_VERSION } from '../version';
import { expandEnvReferences, type ServerConfig } from './serversConfig';
import { coalesceStdinWrites } from './stdioWrites';
import { connectModern, legacyUpstreamClient, refusesLegacy, type UpstreamClient, type UpstreamEra } from './upstreamClient';
import { UpstreamSignIn } from './upstreamSignIn';

export interface UpstreamOptions {
  /** How long a call may run without a progress report; 15 minutes by default. */
  readonly callTimeoutMs?: number;
  /** Gatehouse's side as the upstream's client: what it can do, and who answers what the upstream asks. */
  readonly peer?: UpstreamPeer;
  /** The gateway's OAuth callback URL, for HTTP upstreams that need sign-in (known once it listens). */
  readonly oauthRedirectUrl?: () => string;
}

/** Answers for an upstream's requests to its client (elicitation, sampling, roots). */
export interface UpstreamPeer {
  /** What to declare to the upstream `server` at `initialize`: no more than the connected clients can do. */
  capabilities(server: string): ClientCapabilities;
  request(server: string, request: ServerRequest, signal: AbortSignal): Promise<Record<string, unknown>>;
}

/** How one call reaches an upstream on behalf of a client. */
export interface UpstreamCallOptions {
  readonly signal?: AbortSignal;
  /** The client's request `_meta`, passed on (the progress token is replaced by the SDK's own). */
  readonly meta?: Record<string, unknown>;
  readonly onProgress?: (progress: Progress) => void;
}

/** `needs-sign-in`: an HTTP upstream asked for OAuth and only the human can sign in (`gatehouse login`, the editor). */
export type UpstreamStatus = 'connecting' | 'ready' | 'error' | 'needs-sign-in' | 'stopped';

export interface UpstreamState {
  readonly name: string;
  readonly status: UpstreamStatus;
  readonly error?: string;
  readonly tools: readonly Tool[];
  /** What the upstream offers besides tools, as it lists them (empty without the capability). */
  readonly features: UpstreamFeatures;
  /** Tools the upstream lists that the gateway cannot serve, with why. */
  readonly skipped?: readonly SkippedTool[];
  /** The MCP revision the connection speaks, once connected (`2025-11-25`, `2026-07-28`, …). */
  readonly protocolVersion?: string;
}

export interface SkippedTool {
  readonly name: string;
  readonly reason: string;
}

/** A tools/list page whose tools are checked one by one (`ToolSchema`), not all or nothing. */
const LenientToolsPageSchema = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });

function toolNameOf(raw: unknown): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}

export interface UpstreamFeatures {
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

const NO_FEATURES: UpstreamFeatures = { resources: [], resourceTemplates: [], prompts: [] };

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 250;
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * Upstream calls may legitimately run long (a build, a query): this bounds only the silence
 * between progress reports, and the agent's own timeout (its cancellation) bounds the rest.
 */
const CALL_TIMEOUT_MS = 15 * 60_000;
/** The SDK's own request timeout is switched off (setTimeout's maximum) in favour of the silence limit. */
const NO_SDK_TIMEOUT_MS = 2 ** 31 - 1;
const STDERR_TAIL_LINES = 20;
/** JSON-RPC "missing required client capability" (MCP 2026-07-28, input-required results). */
const MISSING_CLIENT_CAPABILITY = -32021;

/**
 * One persistent MCP client connection to an upstream server. It reconnects with backoff after a
 * crash; calls in flight when the connection drops fail at once (the SDK rejects pending requests
 * on close), and the error names the upstream.
 */
export class Upstream extends EventEmitter<{ changed: [UpstreamState]; idle: []; notification: [ServerNotification]; signInNeeded: [reason: string] }> {
  private client: UpstreamClient | undefined;
  /** What an `auto` server turned out to speak, so reconnects go straight to it. */
  private eraVerdict: UpstreamEra | undefined;
  private statusValue: UpstreamStatus = 'connecting';
  private errorValue: string | undefined;
  private toolsValue: Tool[] = [];
  private featuresValue: UpstreamFeatures = NO_FEATURES;
  private skippedValue: SkippedTool[] = [];
  private stderrTail: string[] = [];
  private backoffMs = FIRST_BACKOFF_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private generation = 0;
  /** Progress listeners by the progress token Gatehouse gave the upstream. */
  private readonly progressListeners = new Map<string, (progress: Progress) => void>();
  private progressTokens = 0;
  /** What this connection told the upstream it can do as a client, at `initialize`. */
  private declared: ClientCapabilities = {};
  private failedRefresh: ClientCapabilities | undefined;
  private refreshing = false;
  private readonly callsInFlight = new Map<UpstreamClient, number>();
  /** OAuth for an HTTP upstream without a static Authorization header. */
  private readonly signIn: UpstreamSignIn | undefined;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly home: string,
    private readonly options: UpstreamOptions = {},
  ) {
    super();
    this.signIn = UpstreamSignIn.for(name, config, home, options.oauthRedirectUrl ?? (() => ''));
  }

  get state(): UpstreamState {
    const protocolVersion = this.statusValue === 'ready' ? this.client?.protocolVersion : undefined;
    return {
      name: this.name,
      status: this.statusValue,
      error: this.errorValue,
      tools: this.toolsValue,
      features: this.featuresValue,
      ...(this.skippedValue.length ? { skipped: this.skippedValue } : {}),
      ...(protocolVersion ? { protocolVersion } : {}),
    };
  }

  /** What the upstream declared as a server, once connected. */
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.client?.serverCapabilities();
  }

  /**
   * Sends one request to the upstream as it is (resources, prompts, completion, logging) and
   * returns its result unvalidated beyond the SDK's schema; a protocol error stays one.
   */
  async request<T extends AnySchema>(request: ClientRequest, resultSchema: T, signal?: AbortSignal): Promise<SchemaOutput<T>> {
    const client = this.client;
    if (!client || this.statusValue !== 'ready') throw new McpError(ErrorCode.InternalError, `Upstream "${this.name}" is not ready (${this.describeStatus()}). Try again shortly.`);
    return client.request(request, resultSchema, { signal, timeout: this.options.callTimeoutMs ?? CALL_TIMEOUT_MS });
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.signIn?.dispose();
    this.generation++;
    const client = this.client;
    this.client = undefined;
    this.setState('stopped', undefined, []);
    await client?.close().catch(() => undefined);
  }

  /** Calls a tool by its upstream name. Results pass through unchanged; failures become isError results. */
  async callTool(toolName: string, args: Record<string, unknown> | undefined, options: UpstreamCallOptions = {}): Promise<CallToolResult> {
    const client = this.client;
    if (this.statusValue === 'needs-sign-in' && this.signIn) {
      this.emit('signInNeeded', this.errorValue ?? 'it asks for a sign-in');
      return this.signIn.refusal(this.errorValue);
    }
    if (!client || this.statusValue !== 'ready') {
      return errorResult(`Upstream "${this.name}" is not ready (${this.describeStatus()}). Try again shortly, or check the server in Gatehouse.`);
    }
    const silence = new AbortController();
    // The caller's cancellation is forwarded by hand rather than through AbortSignal.any(): on
    // Node 20 every composite signal stayed reachable from its sources, about 5 KB per call.
    let timedOut = false;
    const cancel = (): void => silence.abort();
    if (options.signal?.aborted) silence.abort();
    else options.signal?.addEventListener('abort', cancel, { once: true });
    const limit = this.options.callTimeoutMs ?? CALL_TIMEOUT_MS;
    try {
      // A raw request, not client.callTool(): a gateway passes results through as they are,
      // without validating them against the upstream's outputSchema.
      // Progress is always asked for, under a token of Gatehouse's own, so that a call that
      // reports it is never cut by the silence limit.
      const progressToken = `gatehouse-${++this.progressTokens}`;
      const params = { name: toolName, arguments: args ?? {}, _meta: { ...options.meta, progressToken } };
      const timer = setTimeout(() => {
        timedOut = true;
        silence.abort();
      }, limit);
      this.progressListeners.set(progressToken, (progress) => {
        timer.refresh();
        options.onProgress?.(progress);
      });
      this.callsInFlight.set(client, (this.callsInFlight.get(client) ?? 0) + 1);
      try {
        return await client.request({ method: 'tools/call', params }, CallToolResultSchema, {
          timeout: NO_SDK_TIMEOUT_MS,
          signal: silence.signal,
        });
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', cancel);
        this.progressListeners.delete(progressToken);
        const left = (this.callsInFlight.get(client) ?? 1) - 1;
        if (left > 0) this.callsInFlight.set(client, left);
        else {
          this.callsInFlight.delete(client);
          this.emit('idle');
        }
      }
    } catch (error) {
      const refusal = this.signIn?.explainCallFailure(error);
      if (refusal) {
        if (refusal.signedOut) void this.needsSignIn(client, this.generation, refusal.reason);
        else this.emit('signInNeeded', refusal.reason);
        return refusal.result;
      }
      // A 2026-07-28 server asks for input (elicitation, sampling, roots) inside its result; one
      // Gatehouse did not declare, because no client connected with it, cannot be translated.
      if (error instanceof McpError && error.code === MISSING_CLIENT_CAPABILITY) {
        const asked = /\(([a-z]+\/[A-Za-z]+)\)/.exec(error.message)?.[1] ?? 'input';
        return errorResult(
          `Upstream "${this.name}" speaks MCP 2026-07-28 and asked for ${asked} to run ${toolName}, which no client connected to Gatehouse has declared, so Gatehouse cannot ask anyone for it. Connect a client that supports ${asked}, or use another tool.`,
        );
      }
      // "Open this URL first" is an answer for the client (it retries the call afterwards), so it
      // stays a protocol error rather than becoming a tool error the client would not act on.
      if (error instanceof McpError && error.code === ErrorCode.UrlElicitationRequired) throw error;
      if (timedOut) {
        return errorResult(`Upstream "${this.name}" timed out running ${toolName}: no answer and no progress report for ${limit / 1000} s. Gatehouse cancelled the call.`);
      }
      const message = error instanceof Error ? error.message : String(error);
      if (this.client !== client || /connection closed/i.test(message)) {
        return errorResult(`Upstream "${this.name}" stopped while running ${toolName}: ${message}. Gatehouse is reconnecting; retry the call once it is ready.`);
      }
      return errorResult(`Upstream "${this.name}" failed to run ${toolName}: ${message}`);
    }
  }

  private describeStatus(): string {
    return this.errorValue ? `${this.statusValue}: ${this.errorValue}` : this.statusValue;
  }

  private setState(status: UpstreamStatus, error: string | undefined, tools: Tool[] = this.toolsValue, features: UpstreamFeatures = status === 'ready' ? this.featuresValue : NO_FEATURES): void {
    this.statusValue = status;
    this.errorValue = error;
    this.toolsValue = tools;
    this.featuresValue = features;
    this.emit('changed', this.state);
  }

  /**
   * Reconnects with what the connected clients can do now, when that is more than this connection
   * declared (capabilities are fixed at `initialize`). The new connection is made before the old
   * one is let go, and the old one closes once its calls have finished, so nothing in flight is
   * cut and the tools never disappear; if the new connection fails, the old one stays.
   */
  async refreshCapabilities(): Promise<void> {
    const old = this.client;
    const wanted = this.wantedCapabilities();
    if (!old || this.statusValue !== 'ready' || this.refreshing || sameJson(wanted, this.declared) || sameJson(wanted, this.failedRefresh)) return;
    this.refreshing = true;
    try {
      const { client, tools, features } = await this.open(wanted);
      // The old connection may have died (and a reconnect begun) meanwhile: then this one is moot.
      if (this.client !== old || this.stopped) {
        await client.close().catch(() => undefined);
        return;
      }
      this.install(client, ++this.generation, wanted, tools, features);
      void this.closeWhenIdle(old);
    } catch {
      // The old connection was never let go; it keeps serving with what it declared.
      this.failedRefresh = wanted;
      return;
    } finally {
      this.refreshing = false;
    }
    // More may have arrived while this refresh ran.
    void this.refreshCapabilities();
  }

  /** `notifications/roots/list_changed`, to an upstream that was told about roots and has no roots of its own in servers.json. */
  notifyRootsChanged(): void {
    const config = this.config;
    if (!this.declared.roots || (config.type !== 'builtin' && config.roots)) return;
    void this.client?.sendRootsListChanged().catch(() => undefined);
  }

  private wantedCapabilities(): ClientCapabilities {
    return this.options.peer?.capabilities(this.name) ?? {};
  }

  private async closeWhenIdle(client: UpstreamClient): Promise<void> {
    while ((this.callsInFlight.get(client) ?? 0) > 0) await new Promise<void>((resolve) => this.once('idle', resolve));
    client.onclose = undefined;
    await client.close().catch(() => undefined);
  }

  /** A connected client with the upstream's tool list, not yet in use. */
  private async open(capabilities: ClientCapabilities): Promise<{ client: UpstreamClient; tools: Tool[]; features: UpstreamFeatures }> {
    const client = await this.connectInEra(capabilities);
    try {
      return { client, tools: await this.listAllTools(client), features: await listFeatures(client) };
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Connects in the era `servers.json` sets (`protocol`), or for `auto` (the default) in the one
   * this server spoke last, else 2025-11-25, moving to 2026-07-28 when the server refuses 2025
   * with an unsupported-protocol-version answer (the signal the 2026-07-28 revision gives an
   * older client). A server that speaks both is kept on 2025-11-25, the era in which everything
   * Gatehouse relays (sampling, roots, logging, pushed elicitation) still exists.
   */
  private async connectInEra(capabilities: ClientCapabilities): Promise<UpstreamClient> {
    const protocol = this.config.type === 'builtin' ? '2025-11-25' : (this.config.protocol ?? 'auto');
    if (protocol === '2026-07-28' || (protocol === 'auto' && this.eraVerdict === 'modern')) return this.openModern(capabilities);
    try {
      const client = await this.openLegacy(capabilities);
      if (protocol === 'auto') this.eraVerdict = 'legacy';
      return client;
    } catch (error) {
      if (protocol !== 'auto' || !refusesLegacy(error)) throw error;
      const client = await this.openModern(capabilities);
      this.eraVerdict = 'modern';
      return client;
    }
  }

  private async openLegacy(capabilities: ClientCapabilities): Promise<UpstreamClient> {
    const client = new Client({ name: 'gatehouse', version: GATEHOUSE_VERSION }, { capabilities });
    const peer = this.options.peer;
    // What the upstream asks of its client goes to the peer, which finds the client session
    // whose call caused it; only what was declared is handled (the SDK insists on that too).
    if (peer && capabilities.elicitation) client.setRequestHandler(ElicitRequestSchema, (request, extra) => peer.request(this.name, request, extra.signal) as Promise<ElicitResult>);
    if (peer && capabilities.sampling) client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => peer.request(this.name, request, extra.signal) as Promise<CreateMessageResult>);
    if (peer && capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, (request, extra) => peer.request(this.name, request, extra.signal) as Promise<ListRootsResult>);
    try {
      const transport = this.createTransport();
      // The 1.x client tells only its transport which revision `initialize` settled on.
      let negotiated: string | undefined;
      const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
      transport.setProtocolVersion = (version): void => {
        negotiated = version;
        setProtocolVersion?.(version);
      };
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      this.tapProgress(transport);
      return legacyUpstreamClient(client, () => negotiated);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  private async openModern(capabilities: ClientCapabilities): Promise<UpstreamClient> {
    const config = this.config;
    if (config.type === 'builtin') throw new Error('the built-in demo speaks 2025-11-25 only');
    const peer = this.options.peer;
    const spec =
      config.type === 'http'
        ? { kind: 'http' as const, url: config.url, headers: this.httpHeaders(config), ...this.signIn?.transportOptions() }
        : { kind: 'stdio' as const, ...this.stdioLaunch(config), onStderr: (chunk: Buffer) => this.recordStderr(chunk) };
    if (spec.kind === 'stdio') this.stderrTail = [];
    const { client, transport } = await connectModern(spec, {
      capabilities,
      timeoutMs: CONNECT_TIMEOUT_MS,
      ...(peer ? { onRequest: (request: ServerRequest, signal: AbortSignal) => peer.request(this.name, request, signal) } : {}),
    });
    this.tapProgress(transport);
    return client;
  }

  private install(client: UpstreamClient, generation: number, capabilities: ClientCapabilities, tools: Tool[], features: UpstreamFeatures): void {
    this.client = client;
    this.declared = capabilities;
    this.backoffMs = FIRST_BACKOFF_MS;
    // A list that changed is listed again; only the connection in use counts.
    const relist = (what: () => Promise<Partial<{ tools: Tool[]; features: UpstreamFeatures }>>) => async (): Promise<void> => {
      if (this.client !== client) return;
      try {
        const next = await what();
        if (this.client === client) this.setState('ready', undefined, next.tools ?? this.toolsValue, next.features ?? this.featuresValue);
      } catch {
        // The connection is going away; onclose handles it.
      }
    };
    client.onNotification('notifications/tools/list_changed', relist(async () => ({ tools: await this.listAllTools(client) })));
    client.onNotification('notifications/resources/list_changed', relist(async () => ({ features: await listFeatures(client) })));
    client.onNotification('notifications/prompts/list_changed', relist(async () => ({ features: await listFeatures(client) })));
    // What the upstream says to all of its clients goes on to the gateway's sessions.
    for (const method of ['notifications/resources/updated', 'notifications/message'] as const) {
      client.onNotification(method, (notification) => {
        if (this.client === client) this.emit('notification', notification);
      });
    }
    client.onclose = (): void => this.handleClose(client, generation);
    this.setState('ready', undefined, tools, features);
    this.signIn?.keepFresh((reason) => void this.needsSignIn(client, generation, reason));
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    // While retrying after a failure the status stays "error" with its message, so a person
    // sees why the server is down rather than a flicker of "connecting".
    if (this.statusValue !== 'error') this.setState('connecting', undefined, []);
    const capabilities = this.wantedCapabilities();
    try {
      const { client, tools, features } = await this.open(capabilities);
      if (generation !== this.generation) {
        await client.close().catch(() => undefined);
        return;
      }
      this.install(client, generation, capabilities, tools, features);
      // A client with more capabilities may have arrived while this connection was being made.
      void this.refreshCapabilities();
    } catch (error) {
      if (generation !== this.generation) return;
      const reason = this.signIn?.connectFailureReason(error);
      if (reason !== undefined) {
        void this.needsSignIn(undefined, generation, reason);
        return;
      }
      this.setState('error', this.explain(error), []);
      this.scheduleReconnect();
    }
  }

  /**
   * Takes the progress reports for Gatehouse's tokens off the transport before the SDK sees them.
   * The SDK handles notifications a tick later than responses, so the last report of a call that
   * ends at once would find its handler gone; here it is delivered in arrival order.
   */
  private tapProgress(transport: Transport): void {
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra): void => {
      const parsed = ProgressNotificationSchema.safeParse(message);
      if (parsed.success) {
        const { progressToken, ...progress } = parsed.data.params;
        const listener = this.progressListeners.get(String(progressToken));
        if (listener) return listener(progress);
      }
      deliver?.call(transport, message, extra);
    };
  }

  /** Stops using the connection and waits for the human to sign in (the sign-in file changes). */
  private async needsSignIn(client: UpstreamClient | undefined, generation: number, reason: string): Promise<void> {
    if (generation !== this.generation || this.stopped || !this.signIn) return;
    if (client && this.client === client) this.client = undefined;
    this.setState('needs-sign-in', reason, []);
    this.emit('signInNeeded', reason);
    this.signIn.waitForSignIn(() => {
      if (generation === this.generation && !this.stopped) void this.connect();
    });
    if (client) await client.close().catch(() => undefined);
  }

  private handleClose(client: UpstreamClient, generation: number): void {
    if (this.client !== client || generation !== this.generation || this.stopped) return;
    this.client = undefined;
    this.setState('error', this.explain(new Error('the server closed the connection')), []);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /**
   * Every tool the upstream lists. Each is checked on its own, so one tool the gateway cannot
   * serve (a malformed inputSchema) is skipped and reported once instead of failing the upstream.
   */
  private async listAllTools(client: UpstreamClient): Promise<Tool[]> {
    const tools: Tool[] = [];
    const skipped: SkippedTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, LenientToolsPageSchema, { timeout: CONNECT_TIMEOUT_MS });
      for (const raw of page.tools) {
        const parsed = ToolSchema.safeParse(raw);
        if (parsed.success) tools.push(parsed.data);
        else skipped.push({ name: toolNameOf(raw), reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'tool'}: ${i.message}`).slice(0, 3).join('; ') });
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.skippedValue = skipped;
    return tools;
  }

  private explain(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const config = this.config;
    let text = message;
    if (config.type === 'stdio' && /ENOENT/.test(message)) text = `command not found: ${config.command}`;
    if (config.type === 'http' && /fetch failed|ECONNREFUSED/i.test(message)) text = `cannot reach ${config.url} (${message})`;
    const tail = this.stderrTail.slice(-3).join(' | ').trim();
    return tail ? `${text} (stderr: ${tail.slice(0, 500)})` : text;
  }

  private httpHeaders(config: Extract<ServerConfig, { type: 'http' }>): Record<string, string> {
    return Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k, expandEnvReferences(v)]));
  }

  private stdioLaunch(config: Extract<ServerConfig, { type: 'stdio' }>): { command: string; args: string[]; env: Record<string, string>; cwd?: string } {
    const env = { ...getDefaultEnvironment(), ...Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, expandEnvReferences(v)])) };
    return { command: config.command, args: config.args, env, cwd: config.cwd };
  }

  private recordStderr(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (line.trim()) this.stderrTail.push(line.trim());
    }
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.splice(0, this.stderrTail.length - STDERR_TAIL_LINES);
  }

  private createTransport(): Transport {
    const config = this.config;
    switch (config.type) {
      case 'builtin': {
        const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
        void createDemoServer(this.home, GATEHOUSE_VERSION).connect(serverSide);
        return clientSide;
      }
      case 'http':
        return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: this.httpHeaders(config) }, ...this.signIn?.transportOptions() });
      case 'stdio': {
        const transport = coalesceStdinWrites(new StdioClientTransport({ ...this.stdioLaunch(config), stderr: 'pipe' }));
        this.stderrTail = [];
        transport.stderr?.on('data', (chunk: Buffer) => this.recordStderr(chunk));
        return transport;
      }
    }
  }
}

/** Every page of a list, following `nextCursor`. */
async function listAll<K extends string, T>(client: UpstreamClient, method: string, key: K, schema: AnySchema): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = (await client.request({ method, params: cursor ? { cursor } : {} } as ClientRequest, schema, { timeout: CONNECT_TIMEOUT_MS })) as Record<K, T[]> & { nextCursor?: string };
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** Resources, templates and prompts, each only if the upstream declared it. */
async function listFeatures(client: UpstreamClient): Promise<UpstreamFeatures> {
  const capabilities = client.serverCapabilities() ?? {};
  const [resources, resourceTemplates, prompts] = await Promise.all([
    capabilities.resources ? listAll<'resources', Resource>(client, 'resources/list', 'resources', ListResourcesResultSchema) : [],
    capabilities.resources ? listAll<'resourceTemplates', ResourceTemplate>(client, 'resources/templates/list', 'resourceTemplates', ListResourceTemplatesResultSchema) : [],
    capabilities.prompts ? listAll<'prompts', Prompt>(client, 'prompts/list', 'prompts', ListPromptsResultSchema) : [],
  ]);
  return { resources, resourceTemplates, prompts };
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
