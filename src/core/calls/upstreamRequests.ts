import { ErrorCode, McpError, type ClientCapabilities, type CreateMessageRequest, type ElicitRequest, type Root, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamPeer } from '../upstreams/upstream';
import type { CallGate, CallContext } from './callPath';
import type { CallRouter } from './callRouter';

/** What the gateway tells this router about its clients and servers. */
export interface UpstreamRequestsDeps {
  readonly router: CallRouter;
  /** The roots `servers.json` sets for a server, which replace the clients' roots for it. */
  readonly rootsOverride: (server: string) => readonly Root[] | undefined;
  /** Every open session's roots, for a roots query no call caused. */
  readonly rootsOfAllSessions: (signal: AbortSignal) => Promise<Root[]>;
  readonly gate: () => CallGate | undefined;
}

/** The JSON-RPC error for "user rejected sampling request" (MCP spec, Client Features › Sampling › Error Handling). */
const SAMPLING_REJECTED = -1;

/**
 * Gatehouse as the client of its upstreams: it declares what its own clients can do and routes
 * each request an upstream sends to the client session whose call caused it (see `CallRouter`).
 * Elicitation goes to that client as it is; sampling spends the user's model, so it passes the
 * gate first; roots come from `servers.json` or from the clients.
 */
export class UpstreamRequests implements UpstreamPeer {
  /** What the clients that have connected can do. It only grows: a connection keeps what it declared. */
  private offered: { elicitForm: boolean; elicitUrl: boolean; sampling: Record<string, unknown> | undefined; roots: boolean } = {
    elicitForm: false,
    elicitUrl: false,
    sampling: undefined,
    roots: false,
  };

  constructor(private readonly deps: UpstreamRequestsDeps) {}

  /** Takes a new client's capabilities into account; true when upstreams may now be offered more. */
  addClient(capabilities: ClientCapabilities | undefined): boolean {
    const before = JSON.stringify(this.offered);
    const elicitation = capabilities?.elicitation;
    const next = { ...this.offered };
    if (elicitation) {
      next.elicitForm ||= supportsForm(elicitation);
      next.elicitUrl ||= Boolean(elicitation.url);
    }
    if (capabilities?.sampling) next.sampling = { ...next.sampling, ...capabilities.sampling };
    if (capabilities?.roots) next.roots = true;
    this.offered = next;
    return JSON.stringify(next) !== before;
  }

  capabilities(server: string): ClientCapabilities {
    const offered = this.offered;
    const capabilities: ClientCapabilities = {};
    if (offered.elicitForm || offered.elicitUrl) capabilities.elicitation = { ...(offered.elicitForm ? { form: {} } : {}), ...(offered.elicitUrl ? { url: {} } : {}) };
    if (offered.sampling) capabilities.sampling = offered.sampling;
    if (offered.roots || this.deps.rootsOverride(server)) capabilities.roots = { listChanged: true };
    return capabilities;
  }

  async request(server: string, request: ServerRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    switch (request.method) {
      case 'elicitation/create':
        return this.elicit(server, request, signal);
      case 'sampling/createMessage':
        return this.sample(server, request, signal);
      case 'roots/list':
        return this.roots(server, signal);
      default:
        throw new McpError(ErrorCode.MethodNotFound, `Gatehouse does not relay ${request.method} from upstream servers.`);
    }
  }

  private caller(server: string, what: string): CallContext & { client: NonNullable<CallContext['client']> } {
    const cause = this.deps.router.cause(server);
    if (!cause.context?.client) {
      const why =
        'why' in cause && cause.why === 'ambiguous'
          ? `calls of several clients are running on "${server}", and Gatehouse cannot tell which one this request belongs to; retry when only one is`
          : `no call of a client is running on "${server}" now, so Gatehouse has no one to ask`;
      throw new McpError(ErrorCode.InvalidRequest, `Gatehouse cannot relay ${what}: ${why}.`);
    }
    return cause.context as CallContext & { client: NonNullable<CallContext['client']> };
  }

  private async elicit(server: string, request: ElicitRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    const caller = this.caller(server, 'this elicitation');
    const declared = caller.client.capabilities()?.elicitation;
    const mode = request.params.mode ?? 'form';
    if (!declared) throw new McpError(ErrorCode.MethodNotFound, `The client (${caller.principal.clientName}) does not support elicitation.`);
    if (mode === 'url' ? !declared.url : !supportsForm(declared)) {
      throw new McpError(ErrorCode.InvalidParams, `The client (${caller.principal.clientName}) does not support ${mode} mode elicitation.`);
    }
    // The answer is the client's answer to the upstream, nothing more: it never reaches the
    // approval queue, so a client that accepts elicitations by itself approves nothing.
    return caller.client.request(request, signal);
  }

  private async sample(server: string, request: CreateMessageRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    const caller = this.caller(server, 'this sampling request');
    if (!caller.client.capabilities()?.sampling) throw new McpError(ErrorCode.MethodNotFound, `The client (${caller.principal.clientName}) does not support sampling.`);
    const gate = this.deps.gate();
    const verdict = gate ? await gate.authorizeSampling(server, request.params, caller, signal) : ({ ok: true } as const);
    if (!verdict.ok) throw new McpError(SAMPLING_REJECTED, `Gatehouse did not let "${server}" use the client's model: ${verdict.reason}`);
    return caller.client.request(request, signal);
  }

  private async roots(server: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const override = this.deps.rootsOverride(server);
    if (override) return { roots: [...override] };
    const cause = this.deps.router.cause(server);
    const client = cause.context?.client;
    if (client?.capabilities()?.roots) return client.request({ method: 'roots/list', params: {} }, signal);
    // A query outside any call (many servers ask right after initialize): every client's roots.
    return { roots: await this.deps.rootsOfAllSessions(signal) };
  }
}

/** An empty elicitation capability means form mode (MCP 2025-11-25, backwards compatibility). */
function supportsForm(elicitation: NonNullable<ClientCapabilities['elicitation']>): boolean {
  return Boolean(elicitation.form) || (!elicitation.form && !elicitation.url);
}
