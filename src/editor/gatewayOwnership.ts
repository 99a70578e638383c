import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import { HumanDecisionSchema, type HumanDecision } from '../core/approvals/humanDecision';
import type { Gatehouse } from '../core/gatehouse';
import { PortInUseError } from '../core/gateway/gateway';

// Deliberately free of `vscode`: two instances of this class, in one test process, stand in for
// two editor windows (issue 5 §8), so the handover is tested without two extension hosts.

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

const ClientMessageSchema = z.union([
  z.object({ type: z.literal('hello'), auth: z.string() }),
  z.object({ type: z.literal('decide'), seq: z.number(), id: z.string(), decision: HumanDecisionSchema }),
]);

type ServerMessage =
  | { type: 'snapshot'; pid: number; requests: ApprovalRequest[] }
  | { type: 'requested' | 'settled'; request: ApprovalRequest }
  | { type: 'decided'; seq: number; result: DecideResult }
  | { type: 'refused'; message: string };

function sameSecret(a: string, b: string): boolean {
  const digest = (value: string): Buffer => crypto.createHash('sha256').update(value).digest();
  return crypto.timingSafeEqual(digest(a), digest(b));
}

/** Reads newline-delimited JSON from a socket. */
function onLines(socket: net.Socket, handle: (value: unknown) => void): void {
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

function send(socket: net.Socket, message: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * The owner's end: followers say hello with the window secret, then receive every held call and
 * settlement and may decide. A connection without the secret learns nothing and is closed. The
 * gateway's TCP port has no such route, so an agent that can only reach the port has no way in.
 */
export class OwnerChannel {
  private constructor(
    private readonly server: net.Server,
    private readonly unsubscribe: () => void,
  ) {}

  static async listen(socketPath: string, secret: () => Promise<string>, gatehouse: Gatehouse): Promise<OwnerChannel> {
    const followers = new Set<net.Socket>();
    const broadcast = (type: 'requested' | 'settled') => (request: ApprovalRequest): void => {
      for (const socket of followers) send(socket, { type, request });
    };
    const onRequested = broadcast('requested');
    const onSettled = broadcast('settled');
    gatehouse.approvals.on('requested', onRequested);
    gatehouse.approvals.on('decided', onSettled);
    gatehouse.approvals.on('expired', onSettled);
    const server = net.createServer((socket) => {
      let authenticated = false;
      socket.on('error', () => socket.destroy());
      socket.on('close', () => followers.delete(socket));
      onLines(socket, (value) => {
        const parsed = ClientMessageSchema.safeParse(value);
        if (!parsed.success) return void socket.destroy();
        const message = parsed.data;
        if (message.type === 'hello') {
          // Read each time: another window may have replaced the secret since this one started.
          void secret().then((expected) => {
            if (!sameSecret(message.auth, expected)) {
              send(socket, { type: 'refused', message: 'wrong window secret' } satisfies ServerMessage);
              socket.end();
              return;
            }
            authenticated = true;
            followers.add(socket);
            send(socket, { type: 'snapshot', pid: process.pid, requests: gatehouse.approvals.all() } satisfies ServerMessage);
          });
          return;
        }
        if (!authenticated) return void socket.destroy();
        // Whatever a follower claims, its decision is the editor's: that is the only channel it is.
        const decision: HumanDecision = { ...message.decision, channel: 'editor' };
        send(socket, { type: 'decided', seq: message.seq, result: gatehouse.decide(message.id, decision) } satisfies ServerMessage);
      });
    });
    if (process.platform !== 'win32') fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (process.platform !== 'win32') fs.chmodSync(socketPath, 0o600);
    const unsubscribe = (): void => {
      gatehouse.approvals.off('requested', onRequested);
      gatehouse.approvals.off('decided', onSettled);
      gatehouse.approvals.off('expired', onSettled);
      for (const socket of followers) socket.destroy();
    };
    return new OwnerChannel(server, unsubscribe);
  }

  close(): Promise<void> {
    this.unsubscribe();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface FollowerEvents {
  requested: [ApprovalRequest];
  settled: [ApprovalRequest];
  /** The owner went away (closed, reloaded, crashed). */
  closed: [];
}

/** A follower window's end: the owner's requests, mirrored, and decisions sent to the owner. */
export class FollowerChannel extends EventEmitter<FollowerEvents> {
  private readonly requests = new Map<string, ApprovalRequest>();
  private readonly replies = new Map<number, (result: DecideResult) => void>();
  private sequence = 0;
  ownerPid: number | undefined;

  private constructor(private readonly socket: net.Socket) {
    super();
  }

  /** Connects and authenticates; rejects when nothing listens or the secret is refused. */
  static connect(socketPath: string, secret: string, timeoutMs = 2_000): Promise<FollowerChannel> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const channel = new FollowerChannel(socket);
      const timer = setTimeout(() => fail(new Error('the owner window did not answer')), timeoutMs);
      let settled = false;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        if (!settled) reject(error);
        settled = true;
      };
      socket.once('error', fail);
      socket.once('connect', () => send(socket, { type: 'hello', auth: secret }));
      socket.on('close', () => {
        for (const reply of channel.replies.values()) reply({ ok: false, message: 'The window that runs the gateway closed; decide again in a moment.' });
        channel.replies.clear();
        if (settled) channel.emit('closed');
        else fail(new Error('the owner window closed the connection'));
      });
      onLines(socket, (value) => {
        const message = value as ServerMessage;
        switch (message.type) {
          case 'snapshot':
            clearTimeout(timer);
            channel.ownerPid = message.pid;
            for (const request of message.requests) channel.requests.set(request.id, request);
            socket.off('error', fail);
            socket.on('error', () => socket.destroy());
            settled = true;
            resolve(channel);
            break;
          case 'refused':
            fail(new FollowRefusedError(0));
            break;
          case 'requested':
          case 'settled':
            channel.requests.set(message.request.id, message.request);
            channel.emit(message.type, message.request);
            break;
          case 'decided':
            channel.replies.get(message.seq)?.(message.result);
            channel.replies.delete(message.seq);
            break;
        }
      });
    });
  }

  pending(): ApprovalRequest[] {
    return [...this.requests.values()].filter((request) => request.status === 'pending').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): ApprovalRequest | undefined {
    return this.requests.get(id);
  }

  decide(id: string, decision: HumanDecision): Promise<DecideResult> {
    const seq = ++this.sequence;
    const { channel: _channel, by: _by, ...rest } = decision;
    return new Promise((resolve) => {
      this.replies.set(seq, resolve);
      send(this.socket, { type: 'decide', seq, id, decision: rest });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export type OwnershipRole =
  | { readonly kind: 'owner'; readonly gatehouse: Gatehouse }
  | { readonly kind: 'follower'; readonly channel: FollowerChannel }
  | { readonly kind: 'failed'; readonly error: unknown };

export interface GatewayOwnershipOptions {
  readonly home: string;
  readonly port: number;
  /** The window secret shared by this user's editor windows (the editor keeps it in SecretStorage). */
  readonly secret: () => Promise<string>;
  /** Starts a Gatehouse on `port`; rejects with PortInUseError when something else holds it. */
  readonly startGatehouse: () => Promise<Gatehouse>;
  /** How long to keep trying to reach an owner that holds the port before giving up. */
  readonly giveUpMs?: number;
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
}

interface OwnershipEvents {
  /** The role changed: this window took the gateway over, or started following another one. */
  role: [OwnershipRole];
}

/**
 * Exactly one gateway per port and Gatehouse home (issue 5 §8). The port is the lock: whoever
 * binds it owns the gateway and opens the window channel; everyone else follows through that
 * channel, and the moment it closes, tries to bind the port again. Requests live in
 * `<home>/pending.json`, so the new owner has them all.
 */
export class GatewayOwnership extends EventEmitter<OwnershipEvents> {
  private current: OwnershipRole | undefined;
  private ownerChannel: OwnerChannel | undefined;
  private disposed = false;
  private claiming: Promise<OwnershipRole> | undefined;

  constructor(private readonly options: GatewayOwnershipOptions) {
    super();
  }

  get role(): OwnershipRole | undefined {
    return this.current;
  }

  get socketPath(): string {
    return windowChannelPath(this.options.home, this.options.port);
  }

  /** Becomes the owner, or a follower of the window that owns the port. */
  claim(): Promise<OwnershipRole> {
    this.claiming ??= this.claimNow().finally(() => {
      this.claiming = undefined;
    });
    return this.claiming;
  }

  private async claimNow(): Promise<OwnershipRole> {
    const { giveUpMs = 3_000, retryMs = 150 } = this.options;
    const deadline = Date.now() + giveUpMs;
    let lastError: unknown;
    let refused = false;
    while (!this.disposed) {
      try {
        const gatehouse = await this.options.startGatehouse();
        if (this.disposed) {
          await gatehouse.stop();
          break;
        }
        try {
          this.ownerChannel = await OwnerChannel.listen(this.socketPath, this.options.secret, gatehouse);
        } catch (error) {
          // Followers cannot reach this window, but the gateway itself works.
          this.options.log?.(`The window channel could not open (${String(error)}); other windows cannot follow this one.`);
        }
        return this.become({ kind: 'owner', gatehouse });
      } catch (error) {
        lastError = error;
        if (!(error instanceof PortInUseError)) return this.become({ kind: 'failed', error });
      }
      // An owner that is shutting down may hold the port a moment longer than it answers on it.
      if (!(lastError as PortInUseError).otherGatehouse) {
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        continue;
      }
      try {
        const channel = await FollowerChannel.connect(this.socketPath, await this.options.secret());
        channel.once('closed', () => void this.ownerWentAway(channel));
        return this.become({ kind: 'follower', channel });
      } catch (error) {
        // The owner may be starting (its channel opens just after its port) or may be a Gatehouse
        // this window cannot follow (`gatehouse serve`, another home); give it a moment.
        refused = error instanceof FollowRefusedError;
        this.options.log?.(refused ? 'The owner window refused this window\'s secret' : `No owner window to follow yet: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
    return this.become({ kind: 'failed', error: refused ? new FollowRefusedError(this.options.port) : (lastError ?? new Error('stopped')) });
  }

  private async ownerWentAway(channel: FollowerChannel): Promise<void> {
    if (this.disposed || this.current?.kind !== 'follower' || this.current.channel !== channel) return;
    this.options.log?.(`The window that owned the gateway (pid ${channel.ownerPid ?? '?'}) went away; taking over`);
    // No role until the claim settles: the old channel must not be used for decisions meanwhile.
    this.current = undefined;
    await this.claim();
  }

  private become(role: OwnershipRole): OwnershipRole {
    this.current = role;
    if (!this.disposed) this.emit('role', role);
    return role;
  }

  /** Gives the gateway up (window closing): followers notice at once and one of them takes over. */
  async release(): Promise<void> {
    this.disposed = true;
    const role = this.current;
    this.current = undefined;
    await this.ownerChannel?.close();
    this.ownerChannel = undefined;
    if (role?.kind === 'owner') await role.gatehouse.stop();
    if (role?.kind === 'follower') role.channel.close();
  }
}
