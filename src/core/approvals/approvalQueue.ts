import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic, writeFileAtomicInBackground } from '../store/files';
import { argumentsHash, canonicalJson } from './canonical';
import type { HumanDecision } from './humanDecision';

/** What every channel gets back from a decision: the decided request, or why it could not be decided. */
export type DecideResult = { readonly ok: true; readonly request: ApprovalRequest } | { readonly ok: false; readonly message: string };

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired';

const RequestSchema = z.object({
  id: z.string(),
  clientId: z.string(),
  clientName: z.string(),
  sessionId: z.string(),
  server: z.string(),
  /** The name the agent called (`<server>__<tool>`). */
  tool: z.string(),
  /** The upstream's own name for the tool. */
  originalName: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  argumentsHash: z.string(),
  /** Large arguments live in `pending-args/<id>.json`, written once, so pending.json stays small. */
  externalArguments: z.boolean().optional(),
  additionalInfo: z.string().optional(),
  rule: z.object({ id: z.string(), tool: z.string(), decision: z.string(), reason: z.string().optional() }).optional(),
  reason: z.string().optional(),
  fingerprint: z.string().optional(),
  /** Hash of the server's servers.json entry when the call was held; the call runs only on that entry. */
  serverConfigHash: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(['pending', 'approved', 'denied', 'expired']),
  /** Why a request that was approved in an earlier process waits for the human again. */
  reopened: z.string().optional(),
  /** Set once the gateway has run an approved call, so a restart never runs it again. */
  executedAt: z.string().optional(),
  decision: z
    .object({
      kind: z.enum(['approve', 'deny']),
      scope: z.string().optional(),
      reason: z.string().optional(),
      /** "Approve with changes": the arguments the human approved instead of the agent's (which stay in `arguments`). */
      arguments: z.record(z.string(), z.unknown()).optional(),
      argumentsHash: z.string().optional(),
      channel: z.string(),
      by: z.string().optional(),
      at: z.string(),
    })
    .optional(),
});
export type ApprovalRequest = z.infer<typeof RequestSchema>;

/** What an approved call runs with: the human's edited arguments when there are some, else the agent's. */
export function argumentsToRun(request: Pick<ApprovalRequest, 'arguments' | 'argumentsHash' | 'decision'>): { arguments: Record<string, unknown>; argumentsHash: string; edited: boolean } {
  const edit = request.decision?.kind === 'approve' ? request.decision : undefined;
  if (edit?.arguments && edit.argumentsHash) return { arguments: edit.arguments, argumentsHash: edit.argumentsHash, edited: true };
  return { arguments: request.arguments, argumentsHash: request.argumentsHash, edited: false };
}

const PendingFileSchema = z.object({ requests: z.array(RequestSchema).default([]) });

export interface NewRequest {
  readonly clientId: string;
  readonly clientName: string;
  readonly sessionId: string;
  readonly server: string;
  readonly tool: string;
  readonly originalName: string;
  readonly arguments: Record<string, unknown>;
  readonly additionalInfo?: string;
  readonly rule?: ApprovalRequest['rule'];
  readonly reason?: string;
  readonly fingerprint?: string;
  readonly serverConfigHash?: string;
}

export interface ApprovalQueueEvents {
  requested: [ApprovalRequest];
  decided: [ApprovalRequest];
  expired: [ApprovalRequest];
  /** An approval read back from pending.json went back to pending (see `load`). */
  reopened: [ApprovalRequest];
}

export const MIN_EXPIRY_MS = 60_000;
export const MAX_EXPIRY_MS = 24 * 60 * 60_000;
export const DEFAULT_EXPIRY_MS = 10 * 60_000;
/** Arguments larger than this (canonical JSON) are kept out of pending.json, in a file per request. */
export const INLINE_ARGUMENTS_MAX_BYTES = 4096;
/** Decided requests are kept this long so a late await_approval still gets its answer. */
const DECIDED_RETENTION_MS = 15 * 60_000;

export function clampExpiry(ms: number): number {
  return Math.min(MAX_EXPIRY_MS, Math.max(MIN_EXPIRY_MS, ms));
}

/**
 * Held calls. Each request is bound to (client, session, tool, canonical arguments); the gateway
 * later runs exactly the stored arguments. Requests persist in `<home>/pending.json` so that a
 * restart, or a handover between editor windows, loses no approval. Waiting is event-driven.
 */
export class ApprovalQueue extends EventEmitter<ApprovalQueueEvents> {
  private readonly requests = new Map<string, ApprovalRequest>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly executions = new Map<string, Promise<CallToolResult>>();
  private readonly file: string;
  private readonly argumentsDir: string;
  private expiryMs: number;
  private persistScheduled = false;
  /** Counts writes of pending.json, so that a background write older than the last one is dropped. */
  private persistGeneration = 0;
  private persistInFlight = false;
  private persistAgain = false;
  /** Parked await_approval calls by request id: a decision wakes exactly its own waiters. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    home: string,
    options: { expiryMs?: number } = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.file = path.join(home, 'pending.json');
    this.argumentsDir = path.join(home, 'pending-args');
    this.expiryMs = clampExpiry(options.expiryMs ?? DEFAULT_EXPIRY_MS);
  }

  /**
   * Restores persisted requests; ones that expired meanwhile are marked expired. An approval never
   * comes from a file: a request the file says is approved but not yet run goes back to pending,
   * since anything that can write as the user can write that file, and only a human decision made
   * in this process counts.
   */
  load(): void {
    let saved: ApprovalRequest[];
    try {
      saved = readJsonFile(this.file, PendingFileSchema)?.requests ?? [];
    } catch {
      // A damaged pending.json loses only pending requests; agents re-issue their calls.
      saved = [];
    }
    const reopened: ApprovalRequest[] = [];
    for (const request of saved) {
      if (request.externalArguments) {
        const args = this.readArguments(request);
        // Missing, damaged or swapped arguments: the request cannot be shown truthfully, so it is dropped.
        if (!args) continue;
        request.arguments = args;
      }
      if (request.status === 'approved' && !request.executedAt) {
        const was = request.decision;
        request.status = 'pending';
        delete request.decision;
        request.reopened = `Gatehouse restarted after this call was ${was ? `approved (${was.channel}, ${was.at})` : 'marked approved'} but before it ran. Approvals do not survive a restart: decide again.`;
        reopened.push(request);
      }
      this.requests.set(request.id, request);
      if (request.status === 'pending') this.schedule(request);
      else this.retain(request);
    }
    if (reopened.length) this.persist();
    for (const request of reopened) this.emit('reopened', request);
  }

  get(id: string): ApprovalRequest | undefined {
    return this.requests.get(id);
  }

  pending(): ApprovalRequest[] {
    return [...this.requests.values()].filter((r) => r.status === 'pending').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  all(): ApprovalRequest[] {
    return [...this.requests.values()];
  }

  /** Holds a call, or returns the identical pending request of the same session. */
  create(input: NewRequest): { request: ApprovalRequest; reused: boolean } {
    const canonical = canonicalJson(input.arguments);
    const args = JSON.parse(canonical) as Record<string, unknown>;
    const hash = argumentsHash(args);
    const existing = [...this.requests.values()].find(
      (r) => r.status === 'pending' && r.sessionId === input.sessionId && r.clientId === input.clientId && r.tool === input.tool && r.argumentsHash === hash,
    );
    if (existing) return { request: existing, reused: true };
    const now = Date.now();
    const request: ApprovalRequest = {
      id: `apr_${crypto.randomBytes(18).toString('base64url')}`,
      clientId: input.clientId,
      clientName: input.clientName,
      sessionId: input.sessionId,
      server: input.server,
      tool: input.tool,
      originalName: input.originalName,
      arguments: args,
      argumentsHash: hash,
      ...(input.additionalInfo ? { additionalInfo: input.additionalInfo } : {}),
      ...(input.rule ? { rule: input.rule } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.fingerprint ? { fingerprint: input.fingerprint } : {}),
      ...(input.serverConfigHash ? { serverConfigHash: input.serverConfigHash } : {}),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.expiryMs).toISOString(),
      status: 'pending',
    };
    if (Buffer.byteLength(canonical, 'utf8') > INLINE_ARGUMENTS_MAX_BYTES) {
      writeFileAtomic(this.argumentsPath(request.id), canonical, 0o600);
      request.externalArguments = true;
    }
    this.requests.set(request.id, request);
    this.schedule(request);
    this.persist();
    this.emit('requested', request);
    return { request, reused: false };
  }

  /**
   * Records a human decision. Only the human channels (editor, paired browser, serve terminal)
   * reach this; nothing an agent holds leads here. Returns the request, or an error message when
   * it can no longer be decided. Edited arguments are checked by `Gatehouse.decide` before this.
   */
  decide(id: string, decision: HumanDecision): DecideResult {
    const request = this.requests.get(id);
    if (!request) return { ok: false, message: 'There is no such approval request.' };
    if (request.status !== 'pending') return { ok: false, message: `This request was already ${request.status}.` };
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    // An "edit" that leaves the arguments as they were is a plain approval.
    const edited = decision.kind === 'approve' && decision.arguments ? JSON.parse(canonicalJson(decision.arguments)) as Record<string, unknown> : undefined;
    const editedHash = edited ? argumentsHash(edited) : undefined;
    request.status = decision.kind === 'approve' ? 'approved' : 'denied';
    request.decision = {
      kind: decision.kind,
      ...(decision.scope ? { scope: decision.scope } : {}),
      ...(decision.kind === 'deny' && decision.reason ? { reason: decision.reason } : {}),
      ...(edited && editedHash !== request.argumentsHash ? { arguments: edited, argumentsHash: editedHash } : {}),
      channel: decision.channel,
      ...(decision.by ? { by: decision.by } : {}),
      at: new Date().toISOString(),
    };
    this.retain(request);
    this.persist();
    // The agent waiting on this request is woken first; audit and policy listeners follow.
    this.wake(id);
    this.emit('decided', request);
    return { ok: true, request };
  }

  /**
   * Puts an approved request that has not run back to pending, for the human to decide again
   * (the tool or its server changed after the approval). Returns false when it cannot.
   */
  reopen(id: string, why: string): boolean {
    const request = this.requests.get(id);
    if (!request || request.status !== 'approved' || request.executedAt || this.executions.has(id)) return false;
    request.status = 'pending';
    delete request.decision;
    request.reopened = why;
    this.schedule(request);
    this.persist();
    this.emit('reopened', request);
    // The front ends show it like a new held call.
    this.emit('requested', request);
    return true;
  }

  /** Waits, without polling, until the request is decided or expires, or `timeoutMs` passes. */
  async awaitDecision(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ApprovalRequest | undefined> {
    const request = this.requests.get(id);
    if (!request || request.status !== 'pending') return request;
    return new Promise((resolve) => {
      const waiters = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiters);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        signal?.removeEventListener('abort', finish);
        resolve(this.requests.get(id));
      };
      const timer = setTimeout(finish, timeoutMs);
      waiters.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }

  /** How many await_approval calls are parked on a request (or on any, without an id). */
  waitingCount(id?: string): number {
    if (id !== undefined) return this.waiters.get(id)?.size ?? 0;
    let count = 0;
    for (const waiters of this.waiters.values()) count += waiters.size;
    return count;
  }

  /** Wakes the await_approval calls parked on a request, before any other listener runs. */
  private wake(id: string): void {
    for (const finish of [...(this.waiters.get(id) ?? [])]) finish();
  }

  /**
   * Runs an approved request's call once. Concurrent callers share the one execution, so racing
   * await_approval calls never run the call twice.
   */
  execute(request: ApprovalRequest, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
    let execution = this.executions.get(request.id);
    if (!execution) {
      request.executedAt = new Date().toISOString();
      this.persist();
      execution = run();
      this.executions.set(request.id, execution);
    }
    return execution;
  }

  /** True when the call ran in this process, so its result can still be shared. */
  hasExecution(id: string): boolean {
    return this.executions.has(id);
  }

  /** Pending requests outlive their session until expiry, so a reconnecting agent can still await them. */
  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.persistScheduled || this.persistInFlight) this.flush();
  }

  private schedule(request: ApprovalRequest): void {
    const delay = Math.max(0, Date.parse(request.expiresAt) - Date.now());
    const timer = setTimeout(() => this.expire(request.id), delay);
    timer.unref();
    this.timers.set(request.id, timer);
  }

  private expire(id: string): void {
    const request = this.requests.get(id);
    this.timers.delete(id);
    if (!request || request.status !== 'pending') return;
    request.status = 'expired';
    this.retain(request);
    this.persist();
    this.wake(id);
    this.emit('expired', request);
  }

  private retain(request: ApprovalRequest): void {
    const timer = setTimeout(() => {
      // A request reopened for the human in the meantime is not cleared away under them.
      if (this.requests.get(request.id)?.status === 'pending') return;
      this.requests.delete(request.id);
      if (request.externalArguments) fs.rmSync(this.argumentsPath(request.id), { force: true });
      this.executions.delete(request.id);
      this.persist();
    }, DECIDED_RETENTION_MS);
    timer.unref();
  }

  /**
   * Writes pending.json once per turn of the event loop, after waiters have been woken, so a
   * burst of decisions costs one write and never delays the agent's answer. The write and its
   * fsync run off the event loop: a woken call must not wait for the disk on its way upstream.
   */
  private persist(): void {
    if (this.persistScheduled) return;
    this.persistScheduled = true;
    setImmediate(() => this.flushInBackground());
  }

  private flushInBackground(): void {
    if (!this.persistScheduled) return;
    this.persistScheduled = false;
    if (this.persistInFlight) {
      this.persistAgain = true;
      return;
    }
    this.persistInFlight = true;
    const generation = ++this.persistGeneration;
    writeFileAtomicInBackground(this.file, this.persistedText(), 0o600, () => generation === this.persistGeneration)
      // As a failed synchronous write would be, but without ending the process over it.
      .catch((error: unknown) => void process.stderr.write(`Gatehouse could not write ${this.file}: ${error instanceof Error ? error.message : String(error)}. Decisions still apply; held calls may not survive a restart.\n`))
      .finally(() => {
        this.persistInFlight = false;
        if (this.persistAgain) {
          this.persistAgain = false;
          this.persistScheduled = true;
          this.flushInBackground();
        }
      });
  }

  /** Writes pending.json now; large arguments stay in their own files, written once. */
  flush(): void {
    this.persistScheduled = false;
    this.persistAgain = false;
    this.persistGeneration++;
    writeFileAtomic(this.file, this.persistedText(), 0o600);
  }

  private persistedText(): string {
    const requests = [...this.requests.values()].map((request) => (request.externalArguments ? { ...request, arguments: {} } : request));
    // Not indented: it is written after every decision and holds every request of the last 15 minutes.
    return `${JSON.stringify({ requests })}\n`;
  }

  private argumentsPath(id: string): string {
    return path.join(this.argumentsDir, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }

  private readArguments(request: ApprovalRequest): Record<string, unknown> | undefined {
    try {
      const args = JSON.parse(fs.readFileSync(this.argumentsPath(request.id), 'utf8')) as unknown;
      if (args === null || typeof args !== 'object' || Array.isArray(args) || argumentsHash(args) !== request.argumentsHash) return undefined;
      return args as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
