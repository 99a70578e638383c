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
  /** Resolves once the decision lines written so far are on disk. */
  durable?(): Promise<void>;
  /** Releases open files when Gatehouse stops. */
  close?(): void;
}

export const NO_AUDIT: AuditSink = { record: () => undefined };

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
