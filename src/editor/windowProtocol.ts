import * as crypto from 'node:crypto';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import { canonicalJson } from '../core/approvals/canonical';
import { HumanDecisionSchema } from '../core/approvals/humanDecision';

/**
 * The window channel's wire format: newline-delimited JSON on a local socket, a challenge-and-HMAC
 * handshake first (the secret itself never travels), then signed snapshots and events from the
 * owner and signed decisions from followers.
 */

/**
 * The local socket (a named pipe on Windows) on which the window that owns the gateway takes
 * decisions from the other windows. One per Gatehouse home and port, like the gateway itself.
 */
export function windowChannelPath(home: string, port: number): string {
  const id = crypto.createHash('sha256').update(`${path.resolve(home)}\0${port}`).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\.\\pipe\\gatehouse-${id}`;
  const inHome = path.join(home, `editor-${port}.sock`);
  // Unix socket paths are limited to about 104 bytes; a deep home falls back to a per-user dir.
  return Buffer.byteLength(inHome) < 100 ? inHome : path.join(os.tmpdir(), `gatehouse-${process.getuid?.() ?? 'u'}-${id}.sock`);
}

/** The owner window did not accept this window's secret: they do not share secret storage. */
export class FollowRefusedError extends Error {
  constructor(readonly port: number) {
    super(
      `Another VS Code window already runs Gatehouse on port ${port}, and this window cannot join it: the two windows do not share VS Code's secret storage (code-server and other browser-based editors keep it per tab). Approve calls in that window, or give this one another port.`,
    );
    this.name = 'FollowRefusedError';
  }
}

const NonceSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
const MacSchema = z.string().regex(/^[0-9a-f]{64}$/);

export const ClientMessageSchema = z.union([
  z.object({ type: z.literal('hello'), nonce: NonceSchema }),
  z.object({ type: z.literal('auth'), proof: MacSchema }),
  z.object({ type: z.literal('decide'), seq: z.number(), id: z.string(), decision: HumanDecisionSchema, mac: MacSchema }),
]);

export type ServerMessage =
  | { type: 'challenge'; nonce: string; proof: string }
  | { type: 'snapshot'; pid: number; requests: ApprovalRequest[] }
  | { type: 'requested' | 'settled'; request: ApprovalRequest }
  | { type: 'decided'; seq: number; result: DecideResult }
  | { type: 'refused'; message: string };

/**
 * The window secret never crosses the socket, which a same-user agent can replace or sit in front
 * of. Each side proves it knows the secret with an HMAC over both sides' fresh nonces (the owner
 * first, so a follower never answers an impostor), and every later message carries an HMAC under
 * a key derived from the secret and those nonces, so a relay in the middle can neither inject a
 * decision nor show the human a request that is not the owner's.
 */
export function hmac(key: string | Buffer, ...parts: string[]): string {
  return crypto.createHmac('sha256', key).update(parts.join('\u0000')).digest('hex');
}

export function sameMac(a: string, b: string): boolean {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export function newNonce(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export interface Handshake {
  readonly followerNonce: string;
  readonly ownerNonce: string;
}

export const ownerProof = (secret: string, h: Handshake): string => hmac(secret, 'gatehouse-owner', h.followerNonce, h.ownerNonce);
export const followerProof = (secret: string, h: Handshake): string => hmac(secret, 'gatehouse-follower', h.ownerNonce, h.followerNonce);
export const sessionKey = (secret: string, h: Handshake): Buffer => Buffer.from(hmac(secret, 'gatehouse-session', h.followerNonce, h.ownerNonce), 'hex');

/** An HMAC over a message's content (without its `mac`), labelled with the direction it travels. */
export function messageMac(key: Buffer, direction: 'to-owner' | 'to-follower', message: Record<string, unknown>): string {
  const { mac: _mac, ...content } = message;
  // Through JSON first: both ends must hash exactly what travels (no undefined members).
  return hmac(key, direction, canonicalJson(JSON.parse(JSON.stringify(content))));
}

/** Reads newline-delimited JSON from a socket. */
export function onLines(socket: net.Socket, handle: (value: unknown) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A peer that never ends a line is cut off rather than buffered without bound.
    if (buffer.length > 4 * 1024 * 1024) socket.destroy();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        handle(JSON.parse(line));
      } catch {
        socket.destroy();
      }
    }
  });
}

export function send(socket: net.Socket, message: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}
