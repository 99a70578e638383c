import type { CallToolResult, ClientCapabilities, CreateMessageRequest, RequestMeta, ServerNotification, ServerRequest, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';

/**
 * The types every road of a tool call shares: the session layer makes a `CallContext`, the gateway
 * finds a `CatalogEntry` or one of its own `GatewayTool`s, and the approvals layer is the `CallGate`
 * between them and the upstream.
 */

/** Who is calling, on which MCP session, and how to reach that client while the call runs. */
export interface CallContext {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly signal?: AbortSignal;
  /** The request's `_meta` as the client sent it (its `progressToken` among others). */
  readonly meta?: RequestMeta;
  /** The client that made the call; absent for calls that no client is waiting on. */
  readonly client?: ClientLink;
  /** An upstream's resource URI as this client's endpoint names it (for `resource_link`s in results). */
  readonly resourceUri?: (server: string, uri: string) => string;
}

/** The way back to the client of one request: what an upstream says during a call goes here. */
export interface ClientLink {
  /** Sends a notification on the stream of the client's request (MCP progress, for instance). */
  notify(notification: ServerNotification): Promise<void>;
  /** Sends a request to the client (elicitation, sampling, roots) on the stream of the client's request. */
  request(request: ServerRequest, signal?: AbortSignal): Promise<Record<string, unknown>>;
  /** What the client declared in `initialize`. */
  capabilities(): ClientCapabilities | undefined;
}

/** A tool the gateway answers itself, rather than an upstream. One per file under src/core/tools. */
export interface GatewayTool {
  readonly definition: Tool;
  call(args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
}

/** One upstream tool as the gateway exposes it. */
export interface CatalogEntry {
  /** `<server>__<tool>`, cleaned, at most 64 characters, unique. */
  readonly name: string;
  readonly server: string;
  /** The tool's own name on its upstream: calls are routed under this name. */
  readonly originalName: string;
  readonly tool: Tool;
  /** `<server>__<originalName>` when that differs from `name` and is no other tool's name (see `PolicyTool.legacyName`). */
  readonly legacyName?: string;
}

/** Runs a call of one upstream tool (with the arguments the gate lets through). */
export type ForwardCall = (args: Record<string, unknown>) => Promise<CallToolResult>;

/**
 * Decides what happens to a call of an upstream tool. The approvals layer installs one; without
 * it every call is forwarded. `forward` runs the call on its upstream.
 */
export interface CallGate {
  decorate(entry: CatalogEntry): Tool;
  call(entry: CatalogEntry, args: Record<string, unknown>, context: CallContext, forward: ForwardCall): Promise<CallToolResult>;
  /**
   * Decides an upstream's request to spend the user's model (`sampling/createMessage`) during a
   * call of `context`'s client; it may wait for the human.
   */
  authorizeSampling(server: string, params: CreateMessageRequest['params'], context: CallContext, signal: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Decides a resource read (a read can leak data); a held one is an approval request like a call. */
  authorizeResourceRead(server: string, uri: string, context: CallContext): ResourceReadVerdict;
}

export type ResourceReadVerdict =
  | { readonly decision: 'allow' }
  | { readonly decision: 'deny'; readonly message: string }
  /** `approval` is the `approval_required` object a held tool call returns in its structuredContent. */
  | { readonly decision: 'ask'; readonly approval: Record<string, unknown> & { message: string } };

/** A tool result that tells the agent what went wrong (MCP tool errors are results, not protocol errors). */
export function errorResult(text: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true, ...(structuredContent ? { structuredContent } : {}) };
}
