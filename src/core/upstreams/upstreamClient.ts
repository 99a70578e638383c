import {
  Client as ModernClient,
  ProtocolError as ModernProtocolError,
  SdkHttpError as ModernHttpError,
  StreamableHTTPClientTransport as ModernHttpTransport,
  UnauthorizedError as ModernUnauthorizedError,
  type ClientCapabilities as ModernClientCapabilities,
  type OAuthClientProvider as ModernOAuthClientProvider,
} from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPError, type StreamableHTTPClientTransportOptions } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AnySchema, SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import {
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
  type ClientRequest,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { GATEHOUSE_VERSION } from '../version';
import { coalesceStdinWrites } from './stdioWrites';

/** The MCP revision a connection speaks: 2025-11-25 (`initialize`, sessions) or 2026-07-28 (`server/discover`, stateless). */
export type UpstreamEra = 'legacy' | 'modern';

export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** The notifications Gatehouse listens for on an upstream connection. */
export type UpstreamNotificationMethod =
  | 'notifications/tools/list_changed'
  | 'notifications/resources/list_changed'
  | 'notifications/prompts/list_changed'
  | 'notifications/resources/updated'
  | 'notifications/message';

const LEGACY_NOTIFICATION_SCHEMAS = {
  'notifications/tools/list_changed': ToolListChangedNotificationSchema,
  'notifications/resources/list_changed': ResourceListChangedNotificationSchema,
  'notifications/prompts/list_changed': PromptListChangedNotificationSchema,
  'notifications/resources/updated': ResourceUpdatedNotificationSchema,
  'notifications/message': LoggingMessageNotificationSchema,
} as const;

/** What the upstream may ask of its client; each handler answers for the client session whose call caused it. */
export type UpstreamRequestHandler = (request: ServerRequest, signal: AbortSignal) => Promise<Record<string, unknown>>;

/**
 * Gatehouse's client of one upstream, whichever era it speaks: the SDK 1.x `Client` for
 * 2025-11-25, the SDK 2.x `Client` (`@modelcontextprotocol/client`) for 2026-07-28. `Upstream`
 * talks to this and never to an SDK client directly, so the rest of Gatehouse does not care.
 */
export interface UpstreamClient {
  readonly era: UpstreamEra;
  /** The revision negotiated with the server. */
  readonly protocolVersion: string | undefined;
  serverCapabilities(): ServerCapabilities | undefined;
  request<T extends AnySchema>(request: ClientRequest, schema: T, options: { signal?: AbortSignal; timeout: number }): Promise<SchemaOutput<T>>;
  onNotification(method: UpstreamNotificationMethod, handler: (notification: ServerNotification) => void): void;
  /** Set once; called when the connection ends by itself. Cleared (undefined) before a deliberate close. */
  onclose: (() => void) | undefined;
  close(): Promise<void>;
  sendRootsListChanged(): Promise<void>;
}

/** The 2025-era client, as it always was. */
export function legacyUpstreamClient(client: LegacyClient, negotiated: () => string | undefined): UpstreamClient {
  return {
    era: 'legacy',
    get protocolVersion() {
      return negotiated();
    },
    serverCapabilities: () => client.getServerCapabilities(),
    request: (request, schema, options) => client.request(request, schema, options),
    onNotification: (method, handler) => client.setNotificationHandler(LEGACY_NOTIFICATION_SCHEMAS[method], (notification) => handler(notification as ServerNotification)),
    get onclose() {
      return client.onclose;
    },
    set onclose(fn) {
      client.onclose = fn;
    },
    close: () => client.close(),
    sendRootsListChanged: () => client.sendRootsListChanged(),
  };
}

export interface ModernConnectOptions {
  readonly capabilities: ClientCapabilities;
  /** Answers elicitation, sampling and roots that an input-required result asks for. */
  readonly onRequest?: UpstreamRequestHandler;
  readonly timeoutMs: number;
}

export type ModernTransportSpec =
  | { readonly kind: 'stdio'; readonly command: string; readonly args: string[]; readonly env: Record<string, string>; readonly cwd?: string; readonly onStderr: (chunk: Buffer) => void }
  | ({ readonly kind: 'http'; readonly url: string; readonly headers: Record<string, string> } & Pick<StreamableHTTPClientTransportOptions, 'authProvider' | 'fetch'>);

/**
 * Connects to a 2026-07-28 server with the SDK 2.x client pinned to that revision (it sends
 * `server/discover`, never `initialize`). An upstream's input-required result (an elicitation,
 * a sampling request or a roots query, with opaque state) is fulfilled by the SDK through the
 * handlers registered here, which ask the client session whose call caused it, and the SDK then
 * retries the original call with the answers and the state echoed. So a 2025-era client sees a
 * plain elicitation request, and its answer is the upstream's input, nothing more.
 */
export async function connectModern(spec: ModernTransportSpec, options: ModernConnectOptions): Promise<{ client: UpstreamClient; transport: Transport }> {
  const client = new ModernClient(
    { name: 'gatehouse', version: GATEHOUSE_VERSION },
    // The 1.x and 2.x capability types differ only in how loosely `experimental` is typed.
    { capabilities: options.capabilities as ModernClientCapabilities, versionNegotiation: { mode: { pin: MODERN_PROTOCOL_VERSION } } },
  );
  const onRequest = options.onRequest;
  if (onRequest) {
    // Only what was declared is handled (the SDK refuses handlers for undeclared capabilities).
    const relay = (request: unknown, ctx: { mcpReq: { signal: AbortSignal } }): Promise<never> => onRequest(request as ServerRequest, ctx.mcpReq.signal) as Promise<never>;
    if (options.capabilities.elicitation) client.setRequestHandler('elicitation/create', relay);
    if (options.capabilities.sampling) client.setRequestHandler('sampling/createMessage', relay);
    if (options.capabilities.roots) client.setRequestHandler('roots/list', relay);
  }
  const transport =
    spec.kind === 'stdio'
      ? coalesceStdinWrites(new ModernStdioTransport({ command: spec.command, args: spec.args, env: spec.env, cwd: spec.cwd, stderr: 'pipe' }))
      : new ModernHttpTransport(new URL(spec.url), {
          requestInit: { headers: spec.headers },
          // Gatehouse's OAuth provider is written against the 1.x interface, which the 2.x
          // transport accepts unchanged (the same methods; the 2.x one adds optional ones).
          ...(spec.authProvider ? { authProvider: spec.authProvider as unknown as ModernOAuthClientProvider } : {}),
          ...(spec.fetch ? { fetch: spec.fetch } : {}),
        });
  if (spec.kind === 'stdio') (transport as ModernStdioTransport).stderr?.on('data', spec.onStderr);
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw inLegacyTerms(error);
  }
  // 2026-07-28 sends no unsolicited notifications: list changes arrive on a subscriptions/listen
  // stream, which the SDK dispatches to the same notification handlers. A server that refuses
  // the stream still serves; its lists are then read once per connection.
  const declared = client.getServerCapabilities() ?? {};
  const filter = {
    ...(declared.tools?.listChanged ? { toolsListChanged: true } : {}),
    ...(declared.prompts?.listChanged ? { promptsListChanged: true } : {}),
    ...(declared.resources?.listChanged ? { resourcesListChanged: true } : {}),
  };
  const changes = Object.keys(filter).length ? await client.listen(filter, { timeout: options.timeoutMs }).catch(() => undefined) : undefined;
  return { client: modernUpstreamClient(client, changes), transport: transport as unknown as Transport };
}

function modernUpstreamClient(client: ModernClient, changes: { close(): Promise<void> } | undefined): UpstreamClient {
  const subscriptions = new Map<string, { close(): Promise<void> }>();
  if (changes) subscriptions.set('', changes);
  const wrapper: UpstreamClient = {
    era: 'modern',
    get protocolVersion() {
      return client.getNegotiatedProtocolVersion();
    },
    serverCapabilities: () => client.getServerCapabilities() as ServerCapabilities | undefined,
    async request(request, schema, options) {
      switch (request.method) {
        // 2026-07-28 has no resources/subscribe: a subscription is a subscriptions/listen stream
        // for that URI, whose resources/updated notifications reach the same handlers.
        case 'resources/subscribe': {
          const uri = request.params.uri;
          if (!uri) throw new McpError(ErrorCode.InvalidParams, 'resources/subscribe needs a uri');
          if (!subscriptions.has(uri)) subscriptions.set(uri, await client.listen({ resourceSubscriptions: [uri] }, { signal: options.signal, timeout: options.timeout }));
          return {} as SchemaOutput<typeof schema>;
        }
        case 'resources/unsubscribe': {
          const subscription = subscriptions.get(request.params.uri);
          subscriptions.delete(request.params.uri);
          await subscription?.close();
          return {} as SchemaOutput<typeof schema>;
        }
        case 'logging/setLevel':
          throw new McpError(ErrorCode.InvalidRequest, 'this upstream speaks MCP 2026-07-28, which deprecates logging/setLevel; it lacks the 2025-11-25 logging level (its logs stay on its own side).');
        default:
          try {
            return (await client.request(request as never, schema as never, options)) as SchemaOutput<typeof schema>;
          } catch (error) {
            throw inLegacyTerms(error);
          }
      }
    },
    onNotification: (method, handler) => client.setNotificationHandler(method, (notification) => handler(notification as unknown as ServerNotification)),
    onclose: undefined,
    async close() {
      await Promise.all([...subscriptions.values()].map((s) => s.close().catch(() => undefined)));
      subscriptions.clear();
      await client.close();
    },
    sendRootsListChanged: () => client.sendRootsListChanged(),
  };
  client.onclose = () => wrapper.onclose?.();
  return wrapper;
}

/**
 * The SDK 2.x errors as the 1.x ones that `Upstream` and the sign-in code already understand: a
 * JSON-RPC error stays one (same code, message and data), an HTTP 401/403 is a
 * `StreamableHTTPError` with that status, and "sign in first" is an `UnauthorizedError`.
 */
function inLegacyTerms(error: unknown): unknown {
  if (error instanceof ModernUnauthorizedError) return new UnauthorizedError(error.message);
  if (error instanceof ModernHttpError) return new StreamableHTTPError(error.data.status, error.message);
  if (error instanceof ModernProtocolError) return new McpError(error.code, error.message.replace(/^MCP error -?\d+: /, ''), error.data);
  return error;
}

/**
 * True when a 2025-era `initialize` was refused because the server speaks only a newer revision:
 * the JSON-RPC unsupported-protocol-version error (-32022), over stdio or in an HTTP 400 body, or
 * a 2026-07-28 HTTP server's demand for the `MCP-Protocol-Version` header that revision requires.
 */
export function refusesLegacy(error: unknown): boolean {
  if (error instanceof McpError && error.code === UNSUPPORTED_PROTOCOL_VERSION) return true;
  const status = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return status === 400 && (/-32022/.test(message) || /MCP-Protocol-Version|protocol version/i.test(message));
}

/** JSON-RPC code of "Unsupported protocol version" (MCP 2026-07-28, Lifecycle). */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
