import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type ClientCapabilities,
  type CompleteRequest,
  type CompleteResult,
  type GetPromptResult,
  type LoggingLevel,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallContext } from '../calls/callPath';
import type { GatewayView } from './views';

/** What both protocol eras of the MCP endpoint share: the backend, list pages, instructions, JSON-RPC error answers. */

/** What each request's MCP server (a 2025 session's or a 2026-07-28 request's) asks of the gateway; `view` is the endpoint. */
export interface SessionBackend {
  listTools(view: GatewayView): Tool[];
  callTool(view: GatewayView, name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
  listResources(view: GatewayView): Resource[];
  listResourceTemplates(view: GatewayView): ResourceTemplate[];
  readResource(view: GatewayView, uri: string, context: CallContext): Promise<ReadResourceResult>;
  subscribe(view: GatewayView, sessionId: string, uri: string, subscribed: boolean, signal: AbortSignal): Promise<void>;
  listPrompts(view: GatewayView): Prompt[];
  getPrompt(view: GatewayView, name: string, args: Record<string, string> | undefined, context: CallContext): Promise<GetPromptResult>;
  complete(view: GatewayView, params: CompleteRequest['params'], signal: AbortSignal): Promise<CompleteResult>;
  /** The most verbose level any session asked for, to set on the upstreams. */
  setLogLevel(view: GatewayView, level: LoggingLevel, signal: AbortSignal): Promise<void>;
  /** Runs before a client's `initialize` is answered, with what the client can do. */
  clientArriving(capabilities: ClientCapabilities | undefined): Promise<void>;
  /** A client's roots changed (`notifications/roots/list_changed`). */
  rootsChanged(): void;
}


/** How many tools, resources or prompts one list page holds. */
export const PAGE_SIZE = 500;

export const AGGREGATE_INSTRUCTIONS =
  'Gatehouse fronts the user\'s MCP servers; their tools are named <server>__<tool>. Call list_integrations to see them. ' +
  'Some calls need the human\'s approval: such a call returns status "approval_required" with an approval_url and a request_id. ' +
  'Then tell the human what you want to do and why, share the approval_url, and call await_approval with the request_id in the same turn. ' +
  'Never try to approve a call yourself.';

export function serverInstructions(server: string): string {
  return (
    `Gatehouse serves the MCP server "${server}" here under its own tool names, and every call passes the human's approval policy. ` +
    'A call that needs approval returns status "approval_required" with an approval_url and a request_id: tell the human what you want to do and why, share the approval_url, ' +
    'and call await_approval with the request_id in the same turn. Never try to approve a call yourself.'
  );
}

/** One page of a list. The cursor is the offset, opaque to clients as MCP requires. */
export function page<K extends string, T>(key: K, items: readonly T[], cursor: string | undefined): Record<K, T[]> & { nextCursor?: string } {
  return pageAt(key, items, offsetOf(cursor));
}

function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = Number.parseInt(Buffer.from(cursor, 'base64url').toString('utf8'), 10);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor: pass the nextCursor of a previous page, or none for the first page.');
  return offset;
}

function pageAt<K extends string, T>(key: K, items: readonly T[], offset: number): Record<K, T[]> & { nextCursor?: string } {
  const next = offset + PAGE_SIZE;
  const result = { [key]: items.slice(offset, next) } as Record<K, T[]> & { nextCursor?: string };
  if (next < items.length) result.nextCursor = Buffer.from(String(next), 'utf8').toString('base64url');
  return result;
}

/** The pages handed out of each list that has not changed, by offset; a list that changes is a new array, and its old pages go with the old one. */
const keptPages = new WeakMap<readonly unknown[], Map<number, object>>();
/** Results that never change once made, so that their JSON can be made once (see `WholeAnswers`). */
const unchangingResults = new WeakSet<object>();

/**
 * `page`, but the same frozen object each time it is asked for the same list (the same array)
 * at the same offset, marked as unchanging: so a list that has not changed is serialised once,
 * not on every read. Only the offsets `page` itself hands out (multiples of the page size,
 * within the list) are kept, so a client making up cursors cannot make the cache grow.
 */
export function keptPage<K extends string, T>(key: K, items: readonly T[], cursor: string | undefined): Record<K, T[]> & { nextCursor?: string } {
  const offset = offsetOf(cursor);
  if (offset % PAGE_SIZE !== 0 || (offset >= items.length && offset > 0)) return pageAt(key, items, offset);
  let pages = keptPages.get(items);
  if (!pages) keptPages.set(items, (pages = new Map()));
  let kept = pages.get(offset) as (Record<K, T[]> & { nextCursor?: string }) | undefined;
  if (!kept) {
    kept = Object.freeze(pageAt(key, items, offset));
    unchangingResults.add(kept);
    pages.set(offset, kept);
  }
  return kept;
}

/** Whether `result` was made by `keptPage`, and so is the same whenever it is handed out. */
export function isUnchanging(result: unknown): result is object {
  return typeof result === 'object' && result !== null && unchangingResults.has(result);
}

/** JSON-RPC 2.0 §5: an error answer carries the id of the request it answers, null only when that cannot be known. */
export function jsonRpcError(status: number, code: number, message: string, id: string | number | null = null): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }), { status, headers: { 'content-type': 'application/json' } });
}

/** The id of a single JSON-RPC request, or null (a batch, a notification, or no valid id). */
export function requestId(body: unknown): string | number | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
