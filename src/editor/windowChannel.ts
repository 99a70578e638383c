import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import type { HumanDecision } from '../core/approvals/humanDecision';
import type { Gatehouse } from '../core/gatehouse';
import {
  ClientMessageSchema,
  FollowRefusedError,
  followerProof,
  messageMac,
  newNonce,
  onLines,
  ownerProof,
  sameMac,
  send,
  sessionKey,
  type Handshake,
  type ServerMessage,
} from './windowProtocol';

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
    let broadcastTo: (type: 'requested' | 'settled', request: ApprovalRequest) => void = () => undefined;
    const broadcast = (type: 'requested' | 'settled') => (request: ApprovalRequest): void => broadcastTo(type, request);
    const onRequested = broadcast('requested');
    const onSettled = broadcast('settled');
    gatehouse.approvals.on('requested', onRequested);
    gatehouse.approvals.on('decided', onSettled);
    gatehouse.approvals.on('expired', onSettled);
    const followers = new Map<net.Socket, Buffer>();
    const sendSigned = (socket: net.Socket, key: Buffer, message: ServerMessage): void => send(socket, { ...message, mac: messageMac(key, 'to-follower', message) });
    broadcastTo = (type, request) => {
      for (const [socket, key] of followers) sendSigned(socket, key, { type, request });
    };
    const server = net.createServer((socket) => {
      let handshake: Handshake | undefined;
      let expected: string | undefined;
      let key: Buffer | undefined;
      socket.on('error', () => socket.destroy());
      socket.on('close', () => followers.delete(socket));
      onLines(socket, (value) => {
        const parsed = ClientMessageSchema.safeParse(value);
        if (!parsed.success) return void socket.destroy();
        const message = parsed.data;
        if (message.type === 'hello') {
          if (handshake) return void socket.destroy();
          const current = { followerNonce: message.nonce, ownerNonce: newNonce() };
          handshake = current;
          // Read each time: another window may have replaced the secret since this one started.
          void secret().then((value) => {
            expected = value;
            send(socket, { type: 'challenge', nonce: current.ownerNonce, proof: ownerProof(value, current) } satisfies ServerMessage);
          });
          return;
        }
        if (message.type === 'auth') {
          if (!handshake || expected === undefined || key) return void socket.destroy();
          if (!sameMac(message.proof, followerProof(expected, handshake))) {
            send(socket, { type: 'refused', message: 'wrong window secret' } satisfies ServerMessage);
            socket.end();
            return;
          }
          key = sessionKey(expected, handshake);
          followers.set(socket, key);
          sendSigned(socket, key, { type: 'snapshot', pid: process.pid, requests: gatehouse.approvals.all() });
          return;
        }
        if (!key || !sameMac(message.mac, messageMac(key, 'to-owner', value as Record<string, unknown>))) return void socket.destroy();
        // Whatever a follower claims, its decision is the editor's: that is the only channel it is.
        const decision: HumanDecision = { ...message.decision, channel: 'editor' };
        sendSigned(socket, key, { type: 'decided', seq: message.seq, result: gatehouse.decide(message.id, decision) });
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
      for (const socket of followers.keys()) socket.destroy();
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

  private key: Buffer | undefined;

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
      const followerNonce = newNonce();
      socket.once('connect', () => send(socket, { type: 'hello', nonce: followerNonce }));
      socket.on('close', () => {
        for (const reply of channel.replies.values()) reply({ ok: false, message: 'The window that runs the gateway closed; decide again in a moment.' });
        channel.replies.clear();
        if (settled) channel.emit('closed');
        else fail(new Error('the owner window closed the connection'));
      });
      onLines(socket, (value) => {
        const message = value as ServerMessage & { mac?: string };
        if (message.type === 'challenge') {
          if (channel.key || typeof message.nonce !== 'string' || typeof message.proof !== 'string' || !/^[0-9a-f]{64}$/.test(message.proof)) return fail(new Error('the window channel answered out of turn'));
          const handshake = { followerNonce, ownerNonce: message.nonce };
          // An owner that cannot prove the secret is another storage's window, or an impostor on the socket.
          if (!sameMac(message.proof, ownerProof(secret, handshake))) return fail(new FollowRefusedError(0));
          channel.key = sessionKey(secret, handshake);
          send(socket, { type: 'auth', proof: followerProof(secret, handshake) });
          return;
        }
        if (message.type === 'refused') return fail(new FollowRefusedError(0));
        if (!channel.key || typeof message.mac !== 'string' || !/^[0-9a-f]{64}$/.test(message.mac) || !sameMac(message.mac, messageMac(channel.key, 'to-follower', message))) {
          return fail(new Error('the window channel sent a message without a valid signature'));
        }
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
      const message = { type: 'decide', seq, id, decision: rest };
      send(this.socket, { ...message, mac: messageMac(this.key!, 'to-owner', message) });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
