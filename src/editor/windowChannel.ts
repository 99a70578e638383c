import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import type { HumanDecision } from '../core/approvals/humanDecision';
import type { Gatehouse } from '../core/gatehouse';
import { ClientMessageSchema, FollowRefusedError, onLines, sameSecret, send, type ServerMessage } from './windowProtocol';

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
