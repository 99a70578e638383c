import * as crypto from 'node:crypto';
import type { CallToolResult, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

/**
 * A 2026-07-28 client cannot be sent requests: a server that needs input returns an
 * input-required result and the client retries the call with the answers (MCP 2026-07-28,
 * "Multi round-trip requests"). A 2025-era upstream still sends its elicitation, sampling or roots
 * request in the middle of a call. So the upstream call keeps running here while the client
 * answers: each request the upstream sends becomes one round, and the client's retry carries the
 * answer back to the waiting upstream request.
 *
 * The answer is the client's answer to the upstream and nothing else: it never reaches the
 * approval queue, so a client that answers prompts by itself approves nothing.
 */
export type RoundOutcome = { readonly result: CallToolResult } | { readonly ask: { readonly key: string; readonly request: ServerRequest } };

interface Ask {
  readonly key: string;
  readonly request: ServerRequest;
  readonly answer: (response: Record<string, unknown>) => void;
  readonly fail: (error: Error) => void;
}

/** How long a call may wait for the client to come back with an answer. */
export const ROUND_TIMEOUT_MS = 10 * 60_000;

/** One upstream call in flight for a 2026-07-28 client, and what it waits for from that client. */
export class ParkedCall {
  private readonly asks: Ask[] = [];
  private wake: (() => void) | undefined;
  private outcome: CallToolResult | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private counter = 0;
  private readonly controller = new AbortController();
  /** Set once the call is parked under an id (`ParkedCalls.park`), which only a round needs. */
  parkedAs: string | undefined;
  /** Drops a parked call's result that its client never comes back for. */
  dropTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly clientId: string,
    private readonly onFinished: (call: ParkedCall) => void,
  ) {}

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** The call's own cancellation: the client's HTTP exchanges end with every round, the call does not. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts the call; `run` gets the function that turns an upstream request into a round. */
  start(run: (ask: (request: ServerRequest, signal?: AbortSignal) => Promise<Record<string, unknown>>) => Promise<CallToolResult>): void {
    run((request, signal) => this.ask(request, signal)).then(
      (result) => this.finish(result),
      (error: unknown) => this.finish({ content: [{ type: 'text', text: `The call failed: ${error instanceof Error ? error.message : String(error)}` }], isError: true }),
    );
  }

  /** The next thing the client must see: the call's result, or the oldest request awaiting an answer. */
  async next(signal: AbortSignal): Promise<RoundOutcome> {
    this.holdOpen(false);
    for (;;) {
      if (this.asks.length > 0) {
        this.holdOpen(true);
        return { ask: { key: this.asks[0].key, request: this.asks[0].request } };
      }
      if (this.outcome) return { result: this.outcome };
      if (signal.aborted) throw new Error('The client went away.');
      // The listener goes once the call wakes this request: its signal is aborted whenever the
      // request ends, which would otherwise make an error nobody reads for every call.
      await new Promise<void>((resolve, reject) => {
        const gone = (): void => reject(new Error('The client went away.'));
        this.wake = () => {
          signal.removeEventListener('abort', gone);
          resolve();
        };
        signal.addEventListener('abort', gone, { once: true });
      });
    }
  }

  /** The client's answer for `key`; false when no request waits under that key. */
  answer(key: string, response: Record<string, unknown>): boolean {
    const index = this.asks.findIndex((a) => a.key === key);
    if (index < 0) return false;
    const [ask] = this.asks.splice(index, 1);
    ask.answer(response);
    return true;
  }

  private ask(request: ServerRequest, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const ask: Ask = { key: `${request.method.replace(/[^a-z]/gi, '_')}_${++this.counter}`, request, answer: resolve, fail: reject };
      this.asks.push(ask);
      signal?.addEventListener('abort', () => {
        const index = this.asks.indexOf(ask);
        if (index >= 0) this.asks.splice(index, 1);
        reject(new Error('The upstream cancelled its request.'));
      });
      this.poke();
    });
  }

  private finish(result: CallToolResult): void {
    this.outcome = result;
    this.holdOpen(false);
    this.onFinished(this);
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** While the client holds a question, the call waits for it, but not forever. */
  private holdOpen(waiting: boolean): void {
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    if (!waiting) return;
    this.expiry = setTimeout(() => {
      for (const ask of this.asks.splice(0)) ask.fail(new Error('The client did not answer within 10 minutes.'));
      this.controller.abort(new Error('The client did not come back for this call.'));
    }, ROUND_TIMEOUT_MS);
    this.expiry.unref();
  }
}

/**
 * The parked calls, by id. A call is parked (given an id a retry can name) only when it needs a
 * round; one that finishes within its first request is never kept, and holds nothing once it has
 * answered. A parked call that finishes stays until its result has been fetched once, or the
 * round timeout.
 */
export class ParkedCalls {
  private readonly calls = new Map<string, ParkedCall>();

  open(clientId: string): ParkedCall {
    return new ParkedCall(clientId, (call) => {
      if (call.parkedAs !== undefined) this.dropLater(call);
    });
  }

  /** The id a retry names `call` by, parking it under that id the first time. */
  park(call: ParkedCall): string {
    if (call.parkedAs === undefined) {
      call.parkedAs = crypto.randomBytes(12).toString('base64url');
      this.calls.set(call.parkedAs, call);
      // It may have finished between asking and being parked.
      if (call.finished) this.dropLater(call);
    }
    return call.parkedAs;
  }

  private dropLater(call: ParkedCall): void {
    clearTimeout(call.dropTimer);
    call.dropTimer = setTimeout(() => this.forget(call), ROUND_TIMEOUT_MS);
    call.dropTimer.unref();
  }

  /** A parked call of `clientId`; another client's id finds nothing. */
  find(id: string, clientId: string): ParkedCall | undefined {
    const call = this.calls.get(id);
    return call && call.clientId === clientId ? call : undefined;
  }

  forget(call: ParkedCall): void {
    clearTimeout(call.dropTimer);
    call.dropTimer = undefined;
    if (call.parkedAs !== undefined) this.calls.delete(call.parkedAs);
  }

  get size(): number {
    return this.calls.size;
  }
}
