import * as crypto from 'node:crypto';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import { HumanDecisionSchema } from '../core/approvals/humanDecision';

/**
 * The window channel's wire format: newline-delimited JSON on a local socket, `hello` with the
 * window secret first, then snapshots and events from the owner and decisions from followers.
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

export const ClientMessageSchema = z.union([
  z.object({ type: z.literal('hello'), auth: z.string() }),
  z.object({ type: z.literal('decide'), seq: z.number(), id: z.string(), decision: HumanDecisionSchema }),
]);

export type ServerMessage =
  | { type: 'snapshot'; pid: number; requests: ApprovalRequest[] }
  | { type: 'requested' | 'settled'; request: ApprovalRequest }
  | { type: 'decided'; seq: number; result: DecideResult }
  | { type: 'refused'; message: string };

export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string): Buffer => crypto.createHash('sha256').update(value).digest();
  return crypto.timingSafeEqual(digest(a), digest(b));
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
