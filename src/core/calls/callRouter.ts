import type { CallContext } from './callPath';

/**
 * Which client session each upstream call in flight serves. An upstream's own requests (an
 * elicitation, a sampling request, a roots query) carry no link to the call that caused them,
 * neither over stdio nor over HTTP, so they are routed by what is in flight on that upstream.
 */
export class CallRouter {
  private readonly inFlight = new Map<string, Set<CallContext>>();

  /** Records a call on `server` for the client of `context`; the returned function ends it. */
  begin(server: string, context: CallContext): () => void {
    const calls = this.inFlight.get(server) ?? new Set<CallContext>();
    calls.add(context);
    this.inFlight.set(server, calls);
    return () => {
      calls.delete(context);
      if (calls.size === 0 && this.inFlight.get(server) === calls) this.inFlight.delete(server);
    };
  }

  /**
   * The call whose client an upstream's request belongs to: the newest call in flight on `server`,
   * provided every call in flight there serves the same session. When calls of several sessions
   * are in flight, the request could be any one's, and it is refused rather than guessed.
   */
  cause(server: string): { readonly context: CallContext } | { readonly context?: undefined; readonly why: 'idle' | 'ambiguous' } {
    const calls = [...(this.inFlight.get(server) ?? [])].filter((c) => c.client);
    if (calls.length === 0) return { why: 'idle' };
    const sessions = new Set(calls.map((c) => c.sessionId));
    if (sessions.size > 1) return { why: 'ambiguous' };
    return { context: calls[calls.length - 1] };
  }
}
