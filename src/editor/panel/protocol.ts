import type { ApprovalScope, DecisionChoice } from '../../core/approvals/humanDecision';
/**
 * The typed message protocol between the policy panel's host (extension side) and its webview.
 * Three kinds of message, in the manner of vscode-pull-request-github and GitLens: the webview
 * says `ready` once its script runs, sends `request`s that the host answers with a `reply` of the
 * same id, and the host pushes `notification`s (a fresh snapshot) whenever the core changes.
 * Shared by both bundles, so it holds types and pure helpers only.
 */

export type Decision = 'allow' | 'ask' | 'deny';
export type PanelTab = 'pending' | 'servers' | 'rules' | 'history' | 'clients';
export const PANEL_TABS: readonly PanelTab[] = ['pending', 'servers', 'rules', 'history', 'clients'];

/** What the panel remembers across reloads (webview `setState`, restored by the serializer). */
export interface PanelState {
  readonly tab: PanelTab;
  readonly toolFilter?: string;
}

export interface PendingItem {
  readonly id: string;
  readonly client: string;
  readonly server: string;
  readonly tool: string;
  readonly qualifiedName: string;
  readonly argumentsJson: string;
  readonly argumentsSummary: string;
  /** The arguments as JSON to start an edit from: the exact text, not the neutralised one above. */
  readonly argumentsEditable: string;
  /** Set when the call can be approved with changes: the tool's input schema, for the editor to show. */
  readonly inputSchemaJson?: string;
  readonly additionalInfo?: string;
  readonly matchedRule?: string;
  readonly reason?: string;
  /** Why it was held, in words ("write_note can change or delete things, and you asked to approve such tools"). */
  readonly why?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export type ToolSource = 'default' | 'rule' | 'grant';

export interface ToolView {
  readonly qualifiedName: string;
  readonly name: string;
  readonly description: string;
  readonly readOnly: boolean;
  readonly destructive: boolean;
  /** What a call with no special arguments gets now. */
  readonly decision: Decision;
  readonly source: ToolSource;
  /** Why, in words: "write_note can change or delete things, and you asked to approve such tools". */
  readonly why: string;
  /** The three-state control: the tool's own rule, or `default` when none. */
  readonly control: Decision | 'default';
  readonly ruleId?: string;
  readonly grantCount: number;
  /** Set when an allow rule or grant was made for a different version of the tool (rug-pull guard). */
  readonly fingerprintWarning?: string;
}

export interface ServerForm {
  readonly type: 'stdio' | 'http';
  readonly command: string;
  /** One argument per line. */
  readonly args: string;
  /** `NAME=value`, one per line. */
  readonly env: string;
  readonly cwd: string;
  readonly url: string;
  /** `Name: value`, one per line. */
  readonly headers: string;
}

export interface ServerView {
  readonly name: string;
  readonly status: 'connecting' | 'ready' | 'error' | 'needs-sign-in' | 'stopped' | 'configured';
  readonly error?: string;
  /** Present when the server is in servers.json and so can be edited. */
  readonly form?: ServerForm;
  readonly builtin: boolean;
  readonly serverDefault?: Decision;
  readonly tools: readonly ToolView[];
}

export interface RuleView {
  readonly id: string;
  readonly tool: string;
  readonly whenJson: string;
  readonly decision: Decision;
  readonly reason?: string;
  readonly fingerprint?: string;
}

export interface GrantView {
  readonly id: string;
  readonly tool: string;
  readonly argumentsHash: string;
  /** What the grant covers in words: `name: "notes.txt", content: "hi"`, or why that cannot be shown. */
  readonly covers: string;
  /** False when the arguments cannot be shown (not recorded, or not the ones the hash binds). */
  readonly coversShown: boolean;
  readonly createdAt?: string;
}

export interface ClientView {
  readonly id: string;
  readonly name: string;
  /** Where several clients share a name, what tells this one apart ("2 of 3, registered 30 Nov 14:02"). */
  readonly distinguisher?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
  readonly detail: string;
}

export interface ApiKeyView {
  readonly label: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
}

export interface PanelSnapshot {
  readonly gateway: { readonly running: boolean; readonly message: string };
  readonly pending: readonly PendingItem[];
  /** The longest deny reason the core keeps (the same on every channel). */
  readonly maxReasonLength: number;
  readonly servers: readonly ServerView[];
  readonly serversError?: string;
  readonly policy: {
    readonly defaults: { readonly readOnly: Decision; readonly destructive: Decision; readonly other: Decision };
    readonly rules: readonly RuleView[];
    readonly grants: readonly GrantView[];
    /** A loosening edit of policy.json made outside the panel, waiting for Confirm or Reject. */
    readonly pendingChange?: readonly string[];
    readonly error?: string;
  };
  readonly clients: { readonly oauth: readonly ClientView[]; readonly apiKeys: readonly ApiKeyView[] };
  /** Every exposed tool name, for the "try a call" picker and rule forms. */
  readonly toolNames: readonly string[];
}

export interface RuleForm {
  readonly tool: string;
  /** JSON object of argument path → matcher; empty means "any arguments". */
  readonly when: string;
  readonly decision: Decision;
  readonly reason: string;
}

export type ImportSource = 'codex' | 'claude' | 'cursor' | 'vscode';

export interface ImportCandidate {
  readonly name: string;
  readonly summary: string;
  readonly exists: boolean;
}

export interface HistoryFilter {
  readonly tool?: string;
  readonly decision?: string;
  readonly client?: string;
  /** `YYYY-MM-DD`, inclusive. */
  readonly since?: string;
  readonly until?: string;
}

/** History's "what happened" filter: the words shown, and the word the audit reader matches (auditReader.ts). */
export const HAPPENED_FILTERS: ReadonlyArray<{ readonly value: string; readonly label: string }> = [
  { value: '', label: 'anything' },
  { value: 'allowed', label: 'ran without asking' },
  { value: 'held', label: 'held for approval' },
  { value: 'approved', label: 'you approved' },
  { value: 'denied', label: 'denied or blocked' },
  { value: 'executed', label: 'ran after approval' },
  { value: 'expired', label: 'expired' },
];

export interface HistoryRow {
  readonly ts: string;
  readonly event: string;
  readonly client: string;
  readonly tool: string;
  readonly decision: string;
  /** What happened, in words: "You approved it once, in the editor". */
  readonly happened: string;
  /** The reason and the arguments, for a person. */
  readonly detail: string;
  /** The log's own names (event, decision, rule), for the details line. */
  readonly machine: string;
}

export interface TryCallResult {
  readonly decision: Decision;
  /** Why, in words ("write_note can change or delete things, and you asked to approve such tools"). */
  readonly why: string;
  /** The rule, grant or default that decided, by its machine name. */
  readonly details: string;
  readonly source: ToolSource;
  readonly ruleId?: string;
  readonly grantId?: string;
  readonly reason?: string;
  readonly suspended?: boolean;
}

/** The panel's decision buttons: the core's decision choices. */
export type DecideAction = DecisionChoice;
/** What an approval with changes covers: the core's approval scopes. */
export type EditScope = ApprovalScope;

/** Each request method: its parameters and its result. */
export interface PanelRequests {
  decide: { params: { ids: readonly string[]; action: DecideAction; reason?: string }; result: { decided: number; failures: readonly string[] } };
  /** Approve one call with the human's edited arguments (JSON text); a `FieldValidationError` on `arguments` says why not. */
  approveWithChanges: { params: { id: string; scope: EditScope; arguments: string }; result: null };
  setToolDecision: { params: { tool: string; decision: Decision | 'default' }; result: null };
  setServerDefault: { params: { server: string; decision: Decision | 'default' }; result: null };
  setDefault: { params: { key: 'readOnly' | 'destructive' | 'other'; decision: Decision }; result: null };
  saveServer: { params: { originalName?: string; name: string; form: ServerForm }; result: null };
  removeServer: { params: { name: string }; result: null };
  importPreview: { params: { source: ImportSource }; result: { file: string; candidates: readonly ImportCandidate[]; skipped: readonly string[] } };
  importServers: { params: { source: ImportSource; names: readonly string[] }; result: { imported: readonly string[] } };
  saveRule: { params: { id?: string; rule: RuleForm }; result: { id: string } };
  removeRule: { params: { id: string }; result: null };
  moveRule: { params: { id: string; toIndex: number }; result: null };
  removeGrant: { params: { id: string }; result: null };
  tryCall: { params: { tool: string; arguments: string }; result: TryCallResult };
  resolvePendingPolicy: { params: { confirm: boolean }; result: null };
  history: { params: { filter: HistoryFilter; limit: number }; result: { rows: readonly HistoryRow[]; total: number } };
  exportHistory: { params: { filter: HistoryFilter; format: 'jsonl' | 'csv' }; result: { file?: string; count: number } };
  createApiKey: { params: { label: string }; result: { key: string } };
  revokeApiKey: { params: { label: string }; result: null };
  revokeClient: { params: { clientId: string }; result: null };
  copy: { params: { text: string }; result: null };
  signInServer: { params: { name: string }; result: null };
}

export type RequestMethod = keyof PanelRequests;
export type RequestParams<M extends RequestMethod> = PanelRequests[M]['params'];
export type RequestResult<M extends RequestMethod> = PanelRequests[M]['result'];

export interface PanelNotifications {
  snapshot: PanelSnapshot;
  /** Asks the webview to show a tab (the panel was opened from a notification's Details). */
  showTab: { tab: PanelTab; edit?: string };
  /** The panel went out of sight (another editor tab): a one-time key on screen is forgotten. */
  hidden: Record<string, never>;
}

/** Field name → message; shown next to the field that is wrong. */
export type FieldErrors = Readonly<Record<string, string>>;

export type WebviewToHost =
  | { readonly type: 'ready'; readonly state?: PanelState }
  | { [M in RequestMethod]: { readonly type: 'request'; readonly id: number; readonly method: M; readonly params: RequestParams<M> } }[RequestMethod];

export type HostToWebview =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: string; readonly fieldErrors?: FieldErrors }
  | { [N in keyof PanelNotifications]: { readonly type: 'notification'; readonly method: N; readonly params: PanelNotifications[N] } }[keyof PanelNotifications];

/** A failure that names the form fields at fault; the host turns it into a reply with `fieldErrors`. */
export class FieldValidationError extends Error {
  constructor(readonly fieldErrors: FieldErrors) {
    super(Object.values(fieldErrors)[0] ?? 'The form has errors.');
  }
}

const REQUEST_METHODS: ReadonlySet<string> = new Set<RequestMethod>([
  'decide', 'approveWithChanges', 'setToolDecision', 'setServerDefault', 'setDefault', 'saveServer', 'removeServer', 'importPreview', 'importServers',
  'saveRule', 'removeRule', 'moveRule', 'removeGrant', 'tryCall', 'resolvePendingPolicy', 'history', 'exportHistory',
  'createApiKey', 'revokeApiKey', 'revokeClient', 'copy',
]);

export function isPanelTab(value: unknown): value is PanelTab {
  return typeof value === 'string' && (PANEL_TABS as readonly string[]).includes(value);
}

/** The webview is a page that renders agent-supplied text, so the host checks every message's shape. */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const message = raw as Record<string, unknown>;
  if (message.type === 'ready') {
    const state = parsePanelState(message.state);
    return state ? { type: 'ready', state } : { type: 'ready' };
  }
  if (message.type !== 'request') return undefined;
  if (typeof message.id !== 'number' || !Number.isSafeInteger(message.id)) return undefined;
  if (typeof message.method !== 'string' || !REQUEST_METHODS.has(message.method)) return undefined;
  if (message.params === null || typeof message.params !== 'object') return undefined;
  return message as unknown as WebviewToHost;
}

export function parsePanelState(raw: unknown): PanelState | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const state = raw as Record<string, unknown>;
  if (!isPanelTab(state.tab)) return undefined;
  return { tab: state.tab, ...(typeof state.toolFilter === 'string' ? { toolFilter: state.toolFilter.slice(0, 200) } : {}) };
}

/**
 * The webview's side of requests: numbers each request and resolves it when the reply with that
 * id arrives. Independent of the DOM so it can be tested in node.
 */
export class RequestClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly post: (message: WebviewToHost) => void) {}

  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>> {
    const id = this.nextId++;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ type: 'request', id, method, params } as WebviewToHost);
    });
  }

  /** Returns true when the message was a reply this client was waiting for. */
  handleReply(message: HostToWebview): boolean {
    if (message.type !== 'reply') return false;
    const waiter = this.waiting.get(message.id);
    if (!waiter) return false;
    this.waiting.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new PanelRequestError(message.error, message.fieldErrors));
    return true;
  }

  get outstanding(): number {
    return this.waiting.size;
  }
}

export class PanelRequestError extends Error {
  constructor(
    message: string,
    readonly fieldErrors?: FieldErrors,
  ) {
    super(message);
  }
}
