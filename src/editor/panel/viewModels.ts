import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { canEditArguments } from '../../core/approvals/editedArguments';
import type { ApprovalRequest } from '../../core/approvals/approvalQueue';
import { MAX_REASON_LENGTH } from '../../core/approvals/humanDecision';
import type { AuditEntry } from '../../core/approvals/auditFiles';
import { canonicalJson } from '../../core/approvals/canonical';
import { describeGrantArguments, grantArguments } from '../../core/approvals/policy';
import type { PolicyFile, PolicyTool, PolicyVerdict } from '../../core/approvals/policy';
import { auditEntryInWords, verdictDetails, verdictInWords } from '../../core/approvals/plainWords';
import type { PendingPolicyChange } from '../../core/approvals/policyStore';
import { neutralizeText } from '../../core/displayText';
import type { ApiKeyRecord } from '../../core/auth/apiKeys';
import type { ConnectedClient } from '../../core/auth/oauthClients';
import type { CatalogEntry } from '../../core/calls/callPath';
import type { UpstreamState } from '../../core/upstreams/upstream';
import { heldBecause, summariseArguments } from '../promptText';
import { truncate } from './format';
import { serverFormFromEntry } from './forms';
import type { HistoryFilter, HistoryRow, PanelSnapshot, PendingItem, ServerView, ToolView, TryCallResult } from './protocol';

/** Everything the snapshot is made of, read from the core by the host. Pure data plus `evaluate`. */
export interface SnapshotInputs {
  readonly gateway: { readonly running: boolean; readonly message: string };
  readonly pending: readonly ApprovalRequest[];
  readonly upstreams: readonly UpstreamState[];
  readonly catalog: readonly CatalogEntry[];
  readonly policyTool: (entry: CatalogEntry) => PolicyTool;
  readonly policy: PolicyFile;
  readonly evaluate: (tool: PolicyTool, args: Record<string, unknown>) => PolicyVerdict;
  readonly pendingChange?: PendingPolicyChange;
  readonly policyError?: string;
  /** servers.json entries as written, or the reason it cannot be read. */
  readonly serversFile: { readonly servers: Readonly<Record<string, unknown>> } | { readonly error: string };
  readonly oauthClients: readonly ConnectedClient[];
  readonly apiKeys: readonly ApiKeyRecord[];
}

/** A held call as the panel shows it: agent-written text with invisible and reordering characters made visible. */
export function pendingItem(request: ApprovalRequest, tool?: Tool): PendingItem {
  const shown = (text: string): string => neutralizeText(text, { keepLineBreaks: true });
  return {
    id: request.id,
    client: shown(request.clientName || request.clientId),
    server: shown(request.server),
    tool: shown(request.originalName),
    qualifiedName: request.tool,
    argumentsJson: shown(JSON.stringify(request.arguments, null, 2)),
    argumentsSummary: neutralizeText(summariseArguments(request.arguments)),
    argumentsEditable: JSON.stringify(request.arguments, null, 2),
    // Only tool calls are edited (`Gatehouse.checkEdit`), never a server's sampling request or a resource read.
    ...(tool && canEditArguments(request) ? { inputSchemaJson: JSON.stringify(tool.inputSchema, null, 2) } : {}),
    ...(request.additionalInfo ? { additionalInfo: shown(request.additionalInfo) } : {}),
    ...(request.rule ? { matchedRule: request.rule.id } : {}),
    ...(request.reason ? { reason: request.reason } : {}),
    why: shown(heldBecause(request)),
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
  };
}

/** The rule the three-state control edits: an argument-less rule naming exactly this tool. */
function toolRule(policy: PolicyFile, qualified: string): PolicyFile['rules'][number] | undefined {
  return policy.rules.find((rule) => rule.tool === qualified && Object.keys(rule.when ?? {}).length === 0);
}

/** An allow rule or grant recorded for another version of the tool: the rug-pull guard suspends it. */
function fingerprintWarning(policy: PolicyFile, qualified: string, current: string | undefined, verdict: PolicyVerdict): string | undefined {
  if (verdict.suspended) return `The tool's description or schema changed since ${verdict.suspended.ruleOrGrantId} was made; calls ask again until you confirm it.`;
  const stale = [
    ...policy.rules.filter((rule) => rule.tool === qualified && rule.decision === 'allow' && rule.fingerprint !== undefined && rule.fingerprint !== current).map((rule) => rule.id),
    ...policy.grants.filter((grant) => grant.tool === qualified && grant.fingerprint !== undefined && grant.fingerprint !== current).map((grant) => grant.id),
  ];
  if (stale.length === 0) return undefined;
  return `The tool changed since ${stale.join(', ')} ${stale.length === 1 ? 'was' : 'were'} made; ${stale.length === 1 ? 'it is' : 'they are'} suspended and calls ask again until you confirm.`;
}

export function toolView(entry: CatalogEntry, inputs: Pick<SnapshotInputs, 'policy' | 'evaluate' | 'policyTool'>): ToolView {
  const tool = inputs.policyTool(entry);
  const qualified = entry.name;
  const verdict = inputs.evaluate(tool, {});
  const own = toolRule(inputs.policy, qualified);
  const grantCount = inputs.policy.grants.filter((grant) => grant.tool === qualified).length;
  const warning = fingerprintWarning(inputs.policy, qualified, tool.fingerprint, verdict);
  return {
    qualifiedName: qualified,
    name: entry.originalName,
    description: entry.tool.description ?? '',
    readOnly: entry.tool.annotations?.readOnlyHint === true,
    destructive: entry.tool.annotations?.destructiveHint === true,
    decision: verdict.decision,
    source: verdict.source,
    why: verdictInWords(verdict, entry.originalName, entry.server),
    control: own ? own.decision : 'default',
    ...(verdict.rule ? { ruleId: verdict.rule.id } : {}),
    grantCount,
    ...(warning ? { fingerprintWarning: warning } : {}),
  };
}

function serverViews(inputs: SnapshotInputs): ServerView[] {
  const configured = 'servers' in inputs.serversFile ? inputs.serversFile.servers : {};
  const names = new Set([...inputs.upstreams.map((state) => state.name), ...Object.keys(configured)]);
  return [...names].sort().map((name) => {
    const state = inputs.upstreams.find((candidate) => candidate.name === name);
    const editable = Object.hasOwn(configured, name);
    const serverDefault = Object.hasOwn(inputs.policy.defaults.servers, name) ? inputs.policy.defaults.servers[name] : undefined;
    return {
      name,
      status: state?.status ?? 'configured',
      ...(state?.error ? { error: state.error } : {}),
      ...(editable ? { form: serverFormFromEntry(configured[name]) } : {}),
      builtin: !editable,
      ...(serverDefault ? { serverDefault } : {}),
      tools: inputs.catalog.filter((entry) => entry.server === name).map((entry) => toolView(entry, inputs)),
    };
  });
}

export function buildSnapshot(inputs: SnapshotInputs): PanelSnapshot {
  const { policy } = inputs;
  return {
    gateway: inputs.gateway,
    pending: inputs.pending.map((request) => pendingItem(request, inputs.catalog.find((entry) => entry.name === request.tool)?.tool)),
    maxReasonLength: MAX_REASON_LENGTH,
    servers: serverViews(inputs),
    ...('error' in inputs.serversFile ? { serversError: inputs.serversFile.error } : {}),
    policy: {
      defaults: { readOnly: policy.defaults.readOnly, destructive: policy.defaults.destructive, other: policy.defaults.other },
      rules: policy.rules.map((rule) => ({
        id: rule.id,
        tool: rule.tool,
        whenJson: rule.when && Object.keys(rule.when).length > 0 ? JSON.stringify(rule.when) : '',
        decision: rule.decision,
        ...(rule.reason !== undefined ? { reason: rule.reason } : {}),
        ...(rule.fingerprint !== undefined ? { fingerprint: rule.fingerprint } : {}),
      })),
      grants: policy.grants.map((grant) => ({
        id: grant.id,
        tool: grant.tool,
        argumentsHash: grant.argumentsHash,
        covers: neutralizeText(describeGrantArguments(grant)),
        coversShown: grantArguments(grant).kind === 'shown',
        ...(grant.createdAt ? { createdAt: grant.createdAt } : {}),
      })),
      ...(inputs.pendingChange ? { pendingChange: inputs.pendingChange.diffSummary } : {}),
      ...(inputs.policyError ? { error: inputs.policyError } : {}),
    },
    clients: {
      oauth: inputs.oauthClients.map((client) => ({
        id: client.clientId,
        name: client.clientName,
        ...sameNameDistinguisher(inputs.oauthClients, client),
        createdAt: client.createdAt,
        ...(client.lastUsedAt ? { lastUsedAt: client.lastUsedAt } : {}),
        detail: [client.redirectHosts.length ? `redirects to ${client.redirectHosts.join(', ')}` : '', client.consentedScopes ? `scopes: ${client.consentedScopes.join(' ')}` : 'not yet consented']
          .filter(Boolean)
          .join(' · '),
      })),
      apiKeys: inputs.apiKeys.map((key) => ({ label: key.label, createdAt: key.createdAt, ...(key.lastUsedAt ? { lastUsedAt: key.lastUsedAt } : {}) })),
    },
    toolNames: inputs.catalog.map((entry) => entry.name).sort(),
  };
}

/**
 * Several registrations can carry one name (each `codex mcp login` registers Codex CLI again);
 * the person needs to tell them apart to revoke the right one: its place among them and its id.
 */
function sameNameDistinguisher(all: readonly ConnectedClient[], client: ConnectedClient): { distinguisher?: string } {
  const namesakes = all.filter((other) => other.clientName === client.clientName).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (namesakes.length < 2) return {};
  return { distinguisher: `${namesakes.indexOf(client) + 1} of ${namesakes.length} named so, id ${client.clientId.slice(0, 8)}` };
}

/** The "try a call" box: the real verdict for a tool (its own name and server) and arguments typed as JSON. */
export function tryCallVerdict(verdict: PolicyVerdict, tool: { readonly name: string; readonly server: string }): TryCallResult {
  return {
    decision: verdict.decision,
    why: verdictInWords(verdict, tool.name, tool.server),
    details: verdictDetails(verdict),
    source: verdict.source,
    ...(verdict.rule ? { ruleId: verdict.rule.id } : {}),
    ...(verdict.grant ? { grantId: verdict.grant.id } : {}),
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    ...(verdict.suspended ? { suspended: true } : {}),
  };
}

/** Parses the "try a call" arguments; an empty box means no arguments. */
export function parseTryArguments(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`The arguments are not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('The arguments must be a JSON object, for example {"name": "a.txt"}.');
  return value as Record<string, unknown>;
}

/** The audit filter the core reads, from the panel's filter fields (dates are whole UTC days). */
export function auditFilter(filter: HistoryFilter): { since?: Date; until?: Date; tool?: string; decision?: string; client?: string } {
  const day = (text: string | undefined, end: boolean): Date | undefined => {
    if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
    const date = new Date(`${text}T${end ? '23:59:59.999' : '00:00:00.000'}Z`);
    return Number.isNaN(date.getTime()) ? undefined : date;
  };
  const since = day(filter.since, false);
  const until = day(filter.until, true);
  return {
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(filter.tool?.trim() ? { tool: filter.tool.trim() } : {}),
    ...(filter.decision?.trim() ? { decision: filter.decision.trim() } : {}),
    ...(filter.client?.trim() ? { client: filter.client.trim() } : {}),
  };
}

/** Why the policy held or blocked a call, in words, from what the audit line kept of the verdict. */
function policyWhy(entry: AuditEntry): string | undefined {
  if ((entry.event !== 'held' && !(entry.event === 'denied' && entry.channel === 'policy')) || !entry.tool) return undefined;
  const server = entry.server ?? entry.tool.split('__')[0];
  const name = entry.tool.startsWith(`${server}__`) ? entry.tool.slice(server.length + 2) : entry.tool;
  const decision = entry.event === 'held' ? 'ask' : 'deny';
  // A rule's own reason is the audit line's reason; its id is all that names it.
  const rule = entry.rule ? { id: entry.rule, decision, ...(entry.reason ? { reason: entry.reason } : {}) } : undefined;
  return `because ${verdictInWords({ decision, ...(entry.reason ? { reason: entry.reason } : {}), ...(rule ? { rule } : {}) }, name, server)}`;
}

export function historyRow(entry: AuditEntry): HistoryRow {
  const detail = [
    policyWhy(entry) ?? (entry.event === 'decided' || entry.event === 'denied' ? entry.reason : undefined),
    entry.arguments !== undefined ? truncate(canonicalJson(entry.arguments), 120) : undefined,
  ].filter((part): part is string => Boolean(part));
  const machine = [
    `event ${entry.event}`,
    entry.decision ? `decision ${entry.decision}` : undefined,
    entry.rule ? `rule ${entry.rule}` : undefined,
    entry.channel ? `channel ${entry.channel}` : undefined,
    entry.resultStatus ? `result ${entry.resultStatus}` : undefined,
    entry.event !== 'decided' && entry.event !== 'denied' ? entry.reason : undefined,
    entry.event === 'denied' && policyWhy(entry) ? entry.reason : undefined,
  ].filter((part): part is string => Boolean(part));
  return {
    ts: entry.ts,
    event: entry.event,
    client: entry.client ?? entry.clientName ?? entry.clientId ?? '',
    tool: entry.tool ?? '',
    decision: entry.decision ?? '',
    happened: auditEntryInWords(entry),
    detail: neutralizeText(detail.join(' · ')),
    machine: neutralizeText(machine.join(' · ')),
  };
}
