import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

export type ConsentDecision = 'allow' | 'deny';

/** Sign-in prompts waiting for the human at once; more are refused until some are answered or expire. */
export const MAX_PENDING_CONSENTS = 10;

export class TooManyConsentsError extends Error {
  constructor() {
    super(`${MAX_PENDING_CONSENTS} sign-in requests are already waiting for the human; answer or let them expire (5 minutes), then sign in again.`);
  }
}

/** "Client X asks to connect": what the human is shown. */
export interface ConsentDetails {
  readonly clientId: string;
  readonly clientName: string;
  /** The host the browser will be sent back to (Codex: `127.0.0.1:<port>`). */
  readonly redirectHost: string;
  readonly scopes: readonly string[];
}

export interface ConsentRequest extends ConsentDetails {
  readonly id: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export interface ConsentTicket {
  readonly id: string;
  readonly decision: Promise<ConsentDecision>;
}

interface ConsentBrokerEvents {
  consentRequested: [request: ConsentRequest];
  consentDecided: [request: ConsentRequest, decision: ConsentDecision];
}

/**
 * Routes "may this client connect?" to the human channel. The editor modal and the `serve` terminal
 * listen for `consentRequested` and call `decide`. There is deliberately no default answer: a
 * request nobody decides ends as "deny" when it expires.
 */
export class ConsentBroker extends EventEmitter<ConsentBrokerEvents> {
  private readonly waiting = new Map<string, { request: ConsentRequest; resolve: (decision: ConsentDecision) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly timeoutMs = 5 * 60_000) {
    super();
  }

  request(details: ConsentDetails): Promise<ConsentDecision> {
    return this.begin(details).decision;
  }

  /** Like `request`, but also returns the id so the waiting browser tab can be tied to it. */
  begin(details: ConsentDetails): ConsentTicket {
    // Each prompt reaches the human; a flood of them (anything can hit /authorize) would bury the real one.
    if (this.waiting.size >= MAX_PENDING_CONSENTS) throw new TooManyConsentsError();
    const id = crypto.randomBytes(16).toString('base64url');
    const now = Date.now();
    const request: ConsentRequest = {
      ...details,
      scopes: [...details.scopes],
      id,
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.timeoutMs).toISOString(),
    };
    const decision = new Promise<ConsentDecision>((resolve) => {
      const timer = setTimeout(() => this.decide(id, 'deny'), this.timeoutMs);
      timer.unref();
      this.waiting.set(id, { request, resolve, timer });
    });
    this.emit('consentRequested', request);
    return { id, decision };
  }

  /** The human's answer. Returns false when the request is unknown or already decided. */
  decide(id: string, decision: ConsentDecision): boolean {
    const entry = this.waiting.get(id);
    if (!entry) return false;
    this.waiting.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(decision);
    this.emit('consentDecided', entry.request, decision);
    return true;
  }

  pending(): ConsentRequest[] {
    return [...this.waiting.values()].map((entry) => entry.request);
  }

  /** Denies everything still waiting (gateway shutdown). */
  dispose(): void {
    for (const id of [...this.waiting.keys()]) this.decide(id, 'deny');
  }
}
