import * as crypto from 'node:crypto';

export const PAIRING_LINK_TTL_MS = 2 * 60_000;
export const PAIRED_SESSION_TTL_MS = 12 * 60 * 60_000;
export const SESSION_COOKIE = 'gatehouse_session';

export interface PairedSession {
  /** The cookie value. */
  readonly id: string;
  /**
   * The decision key: sent to the browser once, in the pairing response, kept in that origin's
   * localStorage and echoed by every decision form. No later response carries it.
   */
  readonly csrfToken: string;
  readonly pairedAt: number;
  readonly expiresAt: number;
}

export type RedeemResult = { readonly ok: true; readonly session: PairedSession } | { readonly ok: false; readonly reason: 'unknown' | 'expired' };

export interface BrowserPairingOptions {
  readonly now?: () => number;
  readonly linkTtlMs?: number;
  readonly sessionTtlMs?: number;
}

/**
 * Pairs a browser with the human channel. A pairing link is handed out only where the
 * human is (the editor, the serve terminal), works once and briefly, and turns into an HttpOnly
 * session cookie. Tokens live only in this process's memory, keyed by their hash, so neither a
 * file nor a heap lookup by value gives an agent anything to replay.
 */
export class BrowserPairing {
  private readonly links = new Map<string, { expiresAt: number }>();
  private readonly sessions = new Map<string, PairedSession>();
  private readonly now: () => number;
  private readonly linkTtlMs: number;
  private readonly sessionTtlMs: number;

  constructor(options: BrowserPairingOptions = {}) {
    this.now = options.now ?? Date.now;
    this.linkTtlMs = options.linkTtlMs ?? PAIRING_LINK_TTL_MS;
    this.sessionTtlMs = options.sessionTtlMs ?? PAIRED_SESSION_TTL_MS;
  }

  /** A one-time link `<origin>/pair/<token>`; give it only to the human's own screen. */
  createLink(origin: string): string {
    this.prune();
    const token = crypto.randomBytes(32).toString('base64url');
    this.links.set(digest(token), { expiresAt: this.now() + this.linkTtlMs });
    return `${origin.replace(/\/+$/, '')}/pair/${token}`;
  }

  /** Consumes a pairing token: whatever the outcome, the same token never works again. */
  redeem(token: string): RedeemResult {
    const key = digest(token);
    const link = this.links.get(key);
    if (!link) return { ok: false, reason: 'unknown' };
    this.links.delete(key);
    if (this.now() >= link.expiresAt) return { ok: false, reason: 'expired' };
    const now = this.now();
    const session: PairedSession = {
      id: crypto.randomBytes(32).toString('base64url'),
      csrfToken: crypto.randomBytes(32).toString('base64url'),
      pairedAt: now,
      expiresAt: now + this.sessionTtlMs,
    };
    this.sessions.set(digest(session.id), session);
    return { ok: true, session };
  }

  /** The paired session a cookie value stands for, if it is one and still valid. */
  session(cookie: string | undefined): PairedSession | undefined {
    if (!cookie) return undefined;
    const key = digest(cookie);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (this.now() >= session.expiresAt) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  /** Constant-time comparison of a submitted CSRF token with the session's. */
  checkCsrf(session: PairedSession, submitted: string | undefined): boolean {
    if (typeof submitted !== 'string') return false;
    return crypto.timingSafeEqual(Buffer.from(digest(submitted), 'hex'), Buffer.from(digest(session.csrfToken), 'hex'));
  }

  /** Unpairs every browser (for instance when the human asks to). */
  revokeAll(): void {
    this.sessions.clear();
    this.links.clear();
  }

  get pairedCount(): number {
    this.prune();
    return this.sessions.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, link] of this.links) if (now >= link.expiresAt) this.links.delete(key);
    for (const [key, session] of this.sessions) if (now >= session.expiresAt) this.sessions.delete(key);
  }
}

function digest(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}
