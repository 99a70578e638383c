/** One line of the audit log. */
export interface AuditEvent {
  readonly event: 'allowed' | 'held' | 'decided' | 'executed' | 'denied' | 'expired' | 'reopened' | 'error';
  readonly clientId?: string;
  readonly clientName?: string;
  readonly sessionId?: string;
  readonly server?: string;
  readonly tool?: string;
  readonly argumentsHash?: string;
  readonly arguments?: Record<string, unknown>;
  /** "Approve with changes": what the human approved instead of `arguments` (the agent's), and its hash. */
  readonly editedArguments?: Record<string, unknown>;
  readonly editedArgumentsHash?: string;
  readonly requestId?: string;
  readonly rule?: string;
  readonly decision?: string;
  readonly channel?: string;
  readonly reason?: string;
  readonly latencyMs?: number;
  readonly resultStatus?: 'ok' | 'error';
}

/** Where the approvals layer reports what happened. The audit log implements it. */
export interface AuditSink {
  record(event: AuditEvent): void;
  /**
   * Records an event once the reply it concerns has left: later in the same turn of the event
   * loop, with the other such lines of that turn in one write, and before any line recorded
   * after it. For the line every allowed call writes, which then costs its call no time.
   */
  recordSoon?(event: () => AuditEvent): void;
  /** Resolves once the decision lines written so far are on disk. */
  durable?(): Promise<void>;
  /** Releases open files when Gatehouse stops. */
  close?(): void;
}

export const NO_AUDIT: AuditSink = { record: () => undefined };

/** `recordSoon` where the sink has it; otherwise the event is recorded now. */
export function recordSoon(sink: AuditSink, event: () => AuditEvent): void {
  if (sink.recordSoon) sink.recordSoon(event);
  else sink.record(event());
}

/** The fields every audit line about a held call carries. */
export function requestAuditFields(request: {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly sessionId: string;
  readonly server: string;
  readonly tool: string;
  readonly argumentsHash: string;
}): Pick<AuditEvent, 'requestId' | 'clientId' | 'clientName' | 'sessionId' | 'server' | 'tool' | 'argumentsHash'> {
  return {
    requestId: request.id,
    clientId: request.clientId,
    clientName: request.clientName,
    sessionId: request.sessionId,
    server: request.server,
    tool: request.tool,
    argumentsHash: request.argumentsHash,
  };
}
