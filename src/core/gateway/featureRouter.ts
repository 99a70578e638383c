import {
  CompleteResultSchema,
  EmptyResultSchema,
  ErrorCode,
  GetPromptResultSchema,
  McpError,
  ReadResourceResultSchema,
  type CallToolResult,
  type CompleteRequest,
  type CompleteResult,
  type GetPromptResult,
  type LoggingLevel,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallContext, CallGate } from '../calls/callPath';
import type { UpstreamManager } from '../upstreams/upstreamManager';
import type { McpSessions } from './mcpSessions';
import type { GatewayView } from './views';

/**
 * The JSON-RPC error of a resource read that waits for the human. Its `data` is the same
 * `approval_required` object a held tool call returns, so the agent follows the same protocol.
 */
export const APPROVAL_REQUIRED_ERROR = -32003;
/** MCP's "resource not found" (Server Features › Resources › Error Handling). */
const RESOURCE_NOT_FOUND = -32002;

type Content = CallToolResult['content'][number];

/**
 * Resources, prompts, completion and logging of the upstreams, routed per endpoint view: lists
 * are merged under the view's names and URIs, and each request goes to the upstream that owns
 * the name or URI, under the upstream's own.
 */
export class FeatureRouter {
  /** Resource subscriptions: `<server>\0<uri>` → the sessions subscribed. */
  private readonly subscriptions = new Map<string, Set<string>>();

  constructor(
    private readonly upstreams: UpstreamManager,
    private readonly sessions: McpSessions,
    private readonly gate: () => CallGate | undefined,
  ) {
    upstreams.on('resourcesChanged', () => sessions.notifyResourcesChanged());
    upstreams.on('promptsChanged', () => sessions.notifyPromptsChanged());
    upstreams.on('upstreamNotification', (server, notification) => {
      if (notification.method === 'notifications/message') sessions.log(server, notification.params);
      if (notification.method === 'notifications/resources/updated') {
        sessions.notifyResourceUpdated(this.subscriptions.get(subscriptionKey(server, notification.params.uri)) ?? [], server, notification.params.uri);
      }
    });
    sessions.on('closed', (session) => {
      for (const [key, subscribers] of this.subscriptions) {
        if (subscribers.delete(session.id) && subscribers.size === 0) void this.unsubscribeUpstream(key);
      }
    });
  }

  listResources(view: GatewayView): Resource[] {
    return this.states(view).flatMap((state) => state.features.resources.map((resource) => ({ ...resource, uri: view.toClientUri(state.name, resource.uri) })));
  }

  listResourceTemplates(view: GatewayView): ResourceTemplate[] {
    return this.states(view).flatMap((state) => state.features.resourceTemplates.map((template) => ({ ...template, uriTemplate: view.toClientUri(state.name, template.uriTemplate) })));
  }

  /** Reads a resource through the policy: allowed unless a rule for `<server>__resources/read` says otherwise. */
  async readResource(view: GatewayView, uri: string, context: CallContext): Promise<ReadResourceResult> {
    const target = this.resolve(view, uri);
    const gate = this.gate();
    const verdict = gate ? gate.authorizeResourceRead(target.server, target.uri, context) : ({ decision: 'allow' } as const);
    if (verdict.decision === 'deny') throw new McpError(ErrorCode.InvalidRequest, verdict.message);
    if (verdict.decision === 'ask') throw new McpError(APPROVAL_REQUIRED_ERROR, String(verdict.approval.message), verdict.approval);
    return this.readUpstream(target.server, target.uri, context);
  }

  /** The read itself, on the upstream, with the contents' URIs as the client's endpoint names them. */
  async readUpstream(server: string, uri: string, context: CallContext): Promise<ReadResourceResult> {
    const upstream = this.upstreams.get(server);
    if (!upstream) throw new McpError(RESOURCE_NOT_FOUND, `The server "${server}" is no longer configured in Gatehouse.`);
    const result = await upstream.request({ method: 'resources/read', params: { uri, ...(context.meta ? { _meta: context.meta } : {}) } }, ReadResourceResultSchema, context.signal);
    const toClient = context.resourceUri ?? ((_server: string, own: string) => own);
    return { ...result, contents: result.contents.map((item) => ({ ...item, uri: toClient(server, item.uri) })) };
  }

  async subscribe(view: GatewayView, sessionId: string, uri: string, subscribed: boolean, signal: AbortSignal): Promise<void> {
    const target = this.resolve(view, uri);
    const key = subscriptionKey(target.server, target.uri);
    const subscribers = this.subscriptions.get(key) ?? new Set<string>();
    if (subscribed) {
      // One upstream subscription serves every session that asked for the resource.
      if (subscribers.size === 0) await this.upstream(target.server).request({ method: 'resources/subscribe', params: { uri: target.uri } }, EmptyResultSchema, signal);
      subscribers.add(sessionId);
      this.subscriptions.set(key, subscribers);
    } else if (subscribers.delete(sessionId) && subscribers.size === 0) {
      await this.unsubscribeUpstream(key);
    }
  }

  listPrompts(view: GatewayView): Prompt[] {
    return view.prompts().map((entry) => ({ ...entry.prompt, name: view.promptName(entry) }));
  }

  async getPrompt(view: GatewayView, name: string, args: Record<string, string> | undefined, context: CallContext): Promise<GetPromptResult> {
    const entry = view.findPrompt(name);
    if (!entry) throw new McpError(ErrorCode.InvalidParams, `Gatehouse has no prompt named "${name}".`);
    const params = { name: entry.originalName, ...(args ? { arguments: args } : {}), ...(context.meta ? { _meta: context.meta } : {}) };
    const result = await this.upstream(entry.server).request({ method: 'prompts/get', params }, GetPromptResultSchema, context.signal);
    return { ...result, messages: result.messages.map((message) => ({ ...message, content: rewriteContent(message.content, entry.server, context) })) };
  }

  /** Completion goes to the upstream of the prompt or resource template it completes. */
  async complete(view: GatewayView, params: CompleteRequest['params'], signal: AbortSignal): Promise<CompleteResult> {
    let server: string;
    let ref: CompleteRequest['params']['ref'];
    if (params.ref.type === 'ref/prompt') {
      const entry = view.findPrompt(params.ref.name);
      if (!entry) throw new McpError(ErrorCode.InvalidParams, `Gatehouse has no prompt named "${params.ref.name}".`);
      server = entry.server;
      ref = { ...params.ref, name: entry.originalName };
    } else {
      const target = this.resolve(view, params.ref.uri);
      server = target.server;
      ref = { ...params.ref, uri: target.uri };
    }
    const upstream = this.upstream(server);
    if (!upstream.serverCapabilities?.completions) return { completion: { values: [] } };
    return upstream.request({ method: 'completion/complete', params: { ...params, ref } }, CompleteResultSchema, signal);
  }

  /** One upstream connection serves every client, so it gets the most verbose level any client asked for. */
  async setLogLevel(view: GatewayView, level: LoggingLevel, signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.states(view).map(async (state) => {
        const upstream = this.upstreams.get(state.name);
        if (!upstream?.serverCapabilities?.logging) return;
        await upstream.request({ method: 'logging/setLevel', params: { level } }, EmptyResultSchema, signal).catch(() => undefined);
      }),
    );
  }

  private states(view: GatewayView): ReturnType<UpstreamManager['states']> {
    return this.upstreams.states().filter((state) => view.includes(state.name));
  }

  private resolve(view: GatewayView, uri: string): { server: string; uri: string } {
    const target = view.fromClientUri(uri);
    if (!target || !this.upstreams.get(target.server)) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}. Use a URI from resources/list.`, { uri });
    return target;
  }

  private upstream(server: string): NonNullable<ReturnType<UpstreamManager['get']>> {
    const upstream = this.upstreams.get(server);
    if (!upstream) throw new McpError(ErrorCode.InvalidParams, `The server "${server}" is no longer configured in Gatehouse.`);
    return upstream;
  }

  private async unsubscribeUpstream(key: string): Promise<void> {
    this.subscriptions.delete(key);
    const [server, uri] = key.split('\0');
    await this.upstreams
      .get(server)
      ?.request({ method: 'resources/unsubscribe', params: { uri } }, EmptyResultSchema)
      .catch(() => undefined);
  }
}

function subscriptionKey(server: string, uri: string): string {
  return `${server}\0${uri}`;
}

/** A `resource_link` or embedded resource keeps working: its URI becomes the one the client's endpoint reads back. */
export function rewriteContent<T extends Content>(item: T, server: string, context: CallContext): T {
  const toClient = context.resourceUri;
  if (!toClient) return item;
  if (item.type === 'resource_link') return { ...item, uri: toClient(server, item.uri) };
  if (item.type === 'resource') return { ...item, resource: { ...item.resource, uri: toClient(server, item.resource.uri) } };
  return item;
}
