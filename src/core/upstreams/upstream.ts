import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  ListToolsResultSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createDemoServer } from '../demo/demoServer';
import { GATEHOUSE_VERSION } from '../version';
import { expandEnvReferences, type ServerConfig } from './serversConfig';
import { UpstreamSignIn } from './upstreamSignIn';

/** `needs-sign-in`: an HTTP upstream asked for OAuth and only the human can sign in (`gatehouse login`, the editor). */
export type UpstreamStatus = 'connecting' | 'ready' | 'error' | 'needs-sign-in' | 'stopped';

export interface UpstreamState {
  readonly name: string;
  readonly status: UpstreamStatus;
  readonly error?: string;
  readonly tools: readonly Tool[];
}

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 250;
const CONNECT_TIMEOUT_MS = 30_000;
/** Upstream calls may legitimately run long (a build, a query); the agent's own timeout bounds them. */
const CALL_TIMEOUT_MS = 15 * 60_000;
const STDERR_TAIL_LINES = 20;

/**
 * One persistent MCP client connection to an upstream server. It reconnects with backoff after a
 * crash; calls in flight when the connection drops fail at once (the SDK rejects pending requests
 * on close), and the error names the upstream.
 */
export class Upstream extends EventEmitter<{ changed: [UpstreamState]; signInNeeded: [reason: string] }> {
  private client: Client | undefined;
  private statusValue: UpstreamStatus = 'connecting';
  private errorValue: string | undefined;
  private toolsValue: Tool[] = [];
  private stderrTail: string[] = [];
  private backoffMs = FIRST_BACKOFF_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private generation = 0;
  /** OAuth for an HTTP upstream without a static Authorization header. */
  private readonly signIn: UpstreamSignIn | undefined;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly home: string,
    /** The gateway's OAuth callback URL, for upstreams that need sign-in. */
    oauthRedirectUrl: () => string = () => '',
  ) {
    super();
    this.signIn = UpstreamSignIn.for(name, config, home, oauthRedirectUrl);
  }

  get state(): UpstreamState {
    return { name: this.name, status: this.statusValue, error: this.errorValue, tools: this.toolsValue };
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
  async callTool(toolName: string, args: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<CallToolResult> {
    const client = this.client;
    if (this.statusValue === 'needs-sign-in' && this.signIn) {
      this.emit('signInNeeded', this.errorValue ?? 'it asks for a sign-in');
      return this.signIn.refusal(this.errorValue);
    }
    if (!client || this.statusValue !== 'ready') {
      return errorResult(`Upstream "${this.name}" is not ready (${this.describeStatus()}). Try again shortly, or check the server in Gatehouse.`);
    }
    try {
      // A raw request, not client.callTool(): a gateway passes results through as they are,
      // without validating them against the upstream's outputSchema.
      return await client.request({ method: 'tools/call', params: { name: toolName, arguments: args ?? {} } }, CallToolResultSchema, {
        timeout: CALL_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
        signal,
      });
    } catch (error) {
      const refusal = this.signIn?.explainCallFailure(error);
      if (refusal) {
        if (refusal.signedOut) void this.needsSignIn(client, this.generation, refusal.reason);
        else this.emit('signInNeeded', refusal.reason);
        return refusal.result;
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

  private setState(status: UpstreamStatus, error: string | undefined, tools: Tool[] = this.toolsValue): void {
    this.statusValue = status;
    this.errorValue = error;
    this.toolsValue = tools;
    this.emit('changed', this.state);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    // While retrying after a failure the status stays "error" with its message, so a person
    // sees why the server is down rather than a flicker of "connecting".
    if (this.statusValue !== 'error') this.setState('connecting', undefined, []);
    const client = new Client({ name: 'gatehouse', version: GATEHOUSE_VERSION }, { capabilities: {} });
    let transport: Transport;
    try {
      transport = this.createTransport();
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      const tools = await this.listAllTools(client);
      if (generation !== this.generation) {
        await client.close().catch(() => undefined);
        return;
      }
      this.client = client;
      this.backoffMs = FIRST_BACKOFF_MS;
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        if (this.client !== client) return;
        try {
          this.setState('ready', undefined, await this.listAllTools(client));
        } catch {
          // The connection is going away; onclose handles it.
        }
      });
      client.onclose = (): void => this.handleClose(client, generation);
      this.setState('ready', undefined, tools);
      this.signIn?.keepFresh((reason) => void this.needsSignIn(client, generation, reason));
    } catch (error) {
      await client.close().catch(() => undefined);
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

  /** Stops using the connection and waits for the human to sign in (the sign-in file changes). */
  private async needsSignIn(client: Client | undefined, generation: number, reason: string): Promise<void> {
    if (generation !== this.generation || this.stopped || !this.signIn) return;
    if (client && this.client === client) this.client = undefined;
    this.setState('needs-sign-in', reason, []);
    this.emit('signInNeeded', reason);
    this.signIn.waitForSignIn(() => {
      if (generation === this.generation && !this.stopped) void this.connect();
    });
    if (client) await client.close().catch(() => undefined);
  }

  private handleClose(client: Client, generation: number): void {
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

  private async listAllTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ListToolsResultSchema, { timeout: CONNECT_TIMEOUT_MS });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
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

  private createTransport(): Transport {
    const config = this.config;
    switch (config.type) {
      case 'builtin': {
        const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
        void createDemoServer(this.home, GATEHOUSE_VERSION).connect(serverSide);
        return clientSide;
      }
      case 'http': {
        const headers = Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k, expandEnvReferences(v)]));
        return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers }, ...this.signIn?.transportOptions() });
      }
      case 'stdio': {
        const env = { ...getDefaultEnvironment(), ...Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, expandEnvReferences(v)])) };
        const transport = new StdioClientTransport({ command: config.command, args: config.args, env, cwd: config.cwd, stderr: 'pipe' });
        this.stderrTail = [];
        transport.stderr?.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split(/\r?\n/)) {
            if (line.trim()) this.stderrTail.push(line.trim());
          }
          if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.splice(0, this.stderrTail.length - STDERR_TAIL_LINES);
        });
        return transport;
      }
    }
  }
}

export function errorResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true, ...(structuredContent ? { structuredContent } : {}) };
}
