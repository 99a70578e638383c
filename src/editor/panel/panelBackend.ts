import * as os from 'node:os';
import * as path from 'node:path';
import { APPROVAL_SCOPES, decisionFor, editedDecisionFor, isDecisionChoice } from '../../core/approvals/humanDecision';
import { toCsv } from '../../core/approvals/auditCsv';
import { readAudit } from '../../core/approvals/auditReader';
import { addRule, removeGrant, removeRule, moveRule, setToolDecision } from '../../core/approvals/policy';
import type { PolicyFile } from '../../core/approvals/policy';
import { ApiKeyStore } from '../../core/auth/apiKeys';
import { codexConfigPath } from '../../core/clients/codex';
import { JSON_CLIENTS } from '../../core/clients/jsonClients';
import { readTextIfExists } from '../../core/clients/plan';
import { readClaudeServers, readCodexServers, readCursorServers, readVsCodeServers } from '../../core/clients/readers';
import type { ServersRead } from '../../core/clients/readers';
import type { Gatehouse } from '../../core/gatehouse';
import { loadServers, readServersFileForEdit, removeServer, saveServer } from '../../core/upstreams/serversConfig';
import { describeServerEntry, parseRuleForm, parseServerForm } from './forms';
import { FieldValidationError } from './protocol';
import type { ImportSource, PanelSnapshot, RequestMethod, RequestParams, RequestResult } from './protocol';
import { auditFilter, buildSnapshot, historyRow, parseTryArguments, tryCallVerdict } from './viewModels';

/** What only the editor can do (clipboard, save dialog); injected so the backend stays testable. */
export interface EditorServices {
  copy(text: string): Promise<void>;
  /** Asks where to save; returns the chosen path after writing, or undefined when cancelled. */
  saveFile(defaultName: string, content: string): Promise<string | undefined>;
  /** Starts the human's sign-in to an OAuth upstream (Gatehouse: Sign In to Server… for that server). */
  signIn(server: string): Promise<void>;
}

export interface PanelBackendOptions {
  readonly home: string;
  /** The running core, or undefined while the gateway is stopped or failed. */
  readonly gatehouse: () => Gatehouse | undefined;
  readonly gatewayMessage: () => string;
  readonly editor: EditorServices;
  /** Where import looks: the user's home and the open workspace folder. */
  readonly userHome?: string;
  readonly workspaceFolder?: () => string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

type Handlers = { [M in RequestMethod]: (params: RequestParams<M>) => Promise<RequestResult<M>> | RequestResult<M> };

/**
 * The panel's request handlers and snapshot, over the composed core. Policy edits go through
 * `PolicyStore.update()`, the trusted human channel; nothing here imports `vscode`.
 */
export class PanelBackend {
  private readonly handlers: Handlers;

  constructor(private readonly options: PanelBackendOptions) {
    this.handlers = {
      decide: (params) => this.decide(params),
      approveWithChanges: (params) => this.approveWithChanges(params),
      setToolDecision: ({ tool, decision }) => this.updatePolicy((policy) => setToolDecision(policy, tool, decision, decision === 'allow' ? this.fingerprintOf(tool) : undefined)),
      setServerDefault: ({ server, decision }) =>
        this.updatePolicy((policy) => {
          const servers = { ...policy.defaults.servers };
          if (decision === 'default') delete servers[server];
          else servers[server] = decision;
          return { ...policy, defaults: { ...policy.defaults, servers } };
        }),
      setDefault: ({ key, decision }) => this.updatePolicy((policy) => ({ ...policy, defaults: { ...policy.defaults, [key]: decision } })),
      saveServer: (params) => this.saveServer(params),
      removeServer: ({ name }) => {
        if (!removeServer(this.options.home, name)) throw new Error(`"${name}" is not in servers.json, so there is nothing to remove.`);
        this.reloadServers([name]);
        return null;
      },
      importPreview: ({ source }) => this.importPreview(source),
      importServers: ({ source, names }) => this.importServers(source, names),
      saveRule: ({ id, rule }) => this.saveRule(id, rule),
      removeRule: ({ id }) => this.updatePolicy((policy) => removeRule(policy, id)),
      moveRule: ({ id, toIndex }) => this.updatePolicy((policy) => moveRule(policy, id, toIndex)),
      removeGrant: ({ id }) => this.updatePolicy((policy) => removeGrant(policy, id)),
      tryCall: ({ tool, arguments: text }) => this.tryCall(tool, text),
      resolvePendingPolicy: ({ confirm }) => {
        const store = this.core().policy;
        if (confirm) store.confirmPending();
        else store.rejectPending();
        return null;
      },
      history: ({ filter, limit }) => {
        const entries = readAudit(this.options.home, auditFilter(filter));
        return { rows: entries.slice(-Math.max(1, Math.min(limit, 2000))).reverse().map(historyRow), total: entries.length };
      },
      exportHistory: async ({ filter, format }) => {
        const entries = readAudit(this.options.home, auditFilter(filter));
        const content = format === 'csv' ? toCsv(entries) : entries.map((entry) => JSON.stringify(entry)).join('\n') + (entries.length ? '\n' : '');
        const file = await this.options.editor.saveFile(`gatehouse-audit.${format}`, content);
        return { ...(file ? { file } : {}), count: entries.length };
      },
      createApiKey: ({ label }) => {
        try {
          return { key: this.apiKeys().create(label.trim()) };
        } catch (error) {
          throw new FieldValidationError({ label: (error as Error).message });
        }
      },
      revokeApiKey: ({ label }) => {
        if (!this.apiKeys().revoke(label)) throw new Error(`There is no API key labelled "${label}"; it may have been revoked already.`);
        return null;
      },
      revokeClient: ({ clientId }) => {
        if (!this.core().oauth.revokeClient(clientId)) throw new Error('That client is no longer registered; it may have been revoked already.');
        return null;
      },
      copy: async ({ text }) => {
        await this.options.editor.copy(text);
        return null;
      },
      signInServer: async ({ name }) => {
        if (this.core().gateway.upstreams.get(name)?.config.type !== 'http') throw new Error(`"${name}" is not an HTTP server of this gateway, so there is nothing to sign in to.`);
        await this.options.editor.signIn(name);
        return null;
      },
    };
  }

  handle<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>> {
    const handler = this.handlers[method] as (params: RequestParams<M>) => Promise<RequestResult<M>> | RequestResult<M>;
    return Promise.resolve().then(() => handler(params));
  }

  snapshot(): PanelSnapshot {
    const gatehouse = this.options.gatehouse();
    let serversFile: { servers: Record<string, unknown> } | { error: string };
    try {
      serversFile = { servers: readServersFileForEdit(this.options.home).servers };
    } catch (error) {
      serversFile = { error: (error as Error).message };
    }
    const running = gatehouse !== undefined;
    const policyStore = gatehouse?.policy;
    const catalog = gatehouse ? [...gatehouse.gateway.upstreams.catalog.values()] : [];
    let oauthClients: ReturnType<Gatehouse['oauth']['listClients']>;
    try {
      oauthClients = gatehouse?.oauth.listClients() ?? [];
    } catch {
      oauthClients = [];
    }
    return buildSnapshot({
      gateway: { running, message: this.options.gatewayMessage() },
      pending: gatehouse?.approvals.pending() ?? [],
      upstreams: gatehouse?.gateway.upstreams.states() ?? [],
      catalog,
      policyTool: (entry) => (gatehouse ? gatehouse.gate.policyTool(entry) : { name: entry.originalName, server: entry.server, exposedName: entry.name, annotations: entry.tool.annotations }),
      policy: policyStore?.current() ?? { version: 1, defaults: { readOnly: 'allow', destructive: 'ask', other: 'ask', servers: {} }, rules: [], grants: [] },
      evaluate: (tool, args) => policyStore!.evaluate(tool, args),
      ...(policyStore?.pendingChange() ? { pendingChange: policyStore.pendingChange() } : {}),
      ...(policyStore?.error() ? { policyError: policyStore.error()!.message } : {}),
      serversFile,
      oauthClients,
      apiKeys: this.apiKeys().list(),
    });
  }

  /** Calls `onChange` whenever something the panel shows changes in the core; returns the unsubscribe. */
  watch(gatehouse: Gatehouse, onChange: () => void): () => void {
    const offs: Array<() => void> = [];
    for (const event of ['requested', 'decided', 'expired'] as const) {
      gatehouse.approvals.on(event, onChange);
      offs.push(() => gatehouse.approvals.off(event, onChange));
    }
    for (const event of ['changed', 'pendingLoosening', 'error'] as const) offs.push(gatehouse.policy.on(event, onChange));
    for (const event of ['catalogChanged', 'upstreamChanged', 'configError', 'configLoaded'] as const) {
      gatehouse.gateway.upstreams.on(event, onChange);
      offs.push(() => gatehouse.gateway.upstreams.off(event, onChange));
    }
    return () => offs.forEach((off) => off());
  }

  private core(): Gatehouse {
    const gatehouse = this.options.gatehouse();
    if (!gatehouse) throw new Error(`The gateway is not running (${this.options.gatewayMessage()}); start it with "Gatehouse: Restart Gateway".`);
    return gatehouse;
  }

  private apiKeys(): ApiKeyStore {
    return this.options.gatehouse()?.gateway.apiKeys ?? new ApiKeyStore(this.options.home);
  }

  private updatePolicy(mutator: (policy: PolicyFile) => PolicyFile): null {
    this.core().policy.update(mutator);
    return null;
  }

  private fingerprintOf(qualified: string): string | undefined {
    const entry = this.findTool(qualified);
    return entry ? this.core().gate.fingerprint(entry) : undefined;
  }

  private findTool(qualified: string): Parameters<Gatehouse['gate']['policyTool']>[0] | undefined {
    const gatehouse = this.options.gatehouse();
    if (!gatehouse) return undefined;
    return gatehouse.gateway.upstreams.catalog.get(qualified);
  }

  private decide({ ids, action, reason }: RequestParams<'decide'>): RequestResult<'decide'> {
    const gatehouse = this.core();
    if (!isDecisionChoice(action)) throw new Error(`Unknown decision "${String(action)}".`);
    const decision = decisionFor(action, 'editor', reason);
    const failures: string[] = [];
    let decided = 0;
    for (const id of ids) {
      const result = gatehouse.decide(id, decision);
      if (result.ok) decided++;
      else failures.push(result.message);
    }
    return { decided, failures };
  }

  /** "Approve with changes" from the panel's editor; every problem is shown under the JSON it is about. */
  private approveWithChanges({ id, scope, arguments: text }: RequestParams<'approveWithChanges'>): null {
    const gatehouse = this.core();
    if (!(APPROVAL_SCOPES as readonly string[]).includes(scope)) throw new Error(`Unknown approval scope "${String(scope)}".`);
    let edited: unknown;
    try {
      edited = JSON.parse(String(text));
    } catch (error) {
      throw new FieldValidationError({ arguments: `This is not valid JSON (${error instanceof Error ? error.message : String(error)}). Nothing was decided.` });
    }
    const result = gatehouse.decide(id, editedDecisionFor(scope, 'editor', edited as Record<string, unknown>));
    if (!result.ok) throw new FieldValidationError({ arguments: result.message });
    return null;
  }

  private saveServer({ originalName, name, form }: RequestParams<'saveServer'>): null {
    const existing = readServersFileForEdit(this.options.home).servers;
    const taken = new Set(Object.keys(existing).filter((candidate) => candidate !== originalName));
    const parsed = parseServerForm(name, form, taken);
    if ('errors' in parsed) throw new FieldValidationError(parsed.errors);
    try {
      saveServer(this.options.home, name.trim(), parsed.entry);
    } catch (error) {
      throw new FieldValidationError({ form: (error as Error).message });
    }
    if (originalName && originalName !== name.trim()) removeServer(this.options.home, originalName);
    this.reloadServers([name.trim(), ...(originalName ? [originalName] : [])]);
    return null;
  }

  /** The file watcher would notice too; reloading now makes the panel's next snapshot current. */
  /** The panel is the human's own form: what it wrote runs without a second confirmation. */
  private reloadServers(names: readonly string[]): void {
    const gatehouse = this.options.gatehouse();
    if (!gatehouse) return;
    gatehouse.servers.trust(names, loadServers(this.options.home));
    gatehouse.gateway.upstreams.reload();
  }

  private saveRule(id: string | undefined, form: RequestParams<'saveRule'>['rule']): RequestResult<'saveRule'> {
    const parsed = parseRuleForm(form);
    if ('errors' in parsed) throw new FieldValidationError(parsed.errors);
    let savedId = id ?? '';
    this.core().policy.update((policy) => {
      if (id === undefined) {
        const next = addRule(policy, parsed.rule);
        savedId = next.rules[next.rules.length - 1].id;
        return next;
      }
      const index = policy.rules.findIndex((rule) => rule.id === id);
      if (index < 0) throw new Error(`There is no rule "${id}" any more; it may have been removed.`);
      return addRule(removeRule(policy, id), { ...parsed.rule, id }, index);
    });
    return { id: savedId };
  }

  private tryCall(tool: string, text: string): RequestResult<'tryCall'> {
    const gatehouse = this.core();
    let args: Record<string, unknown>;
    try {
      args = parseTryArguments(text);
    } catch (error) {
      throw new FieldValidationError({ arguments: (error as Error).message });
    }
    const name = tool.trim();
    const entry = this.findTool(name);
    // A verdict for a tool that does not exist would read as if it might run; say so instead.
    if (!entry) throw new FieldValidationError({ tool: unknownToolMessage(name, [...gatehouse.gateway.upstreams.catalog.keys()], gatehouse.gateway.upstreams.states()) });
    return tryCallVerdict(gatehouse.policy.evaluate(gatehouse.gate.policyTool(entry), args), { name: entry.originalName, server: entry.server });
  }

  private importFile(source: ImportSource): string {
    const userHome = this.options.userHome ?? os.homedir();
    const env = this.options.env ?? process.env;
    switch (source) {
      case 'codex':
        return codexConfigPath(env, userHome);
      case 'claude':
        return JSON_CLIENTS.claude.file(userHome, env, process.platform);
      case 'cursor':
        return JSON_CLIENTS.cursor.file(userHome, env, process.platform);
      case 'vscode': {
        const folder = this.options.workspaceFolder?.();
        const workspaceFile = folder ? path.join(folder, '.vscode', 'mcp.json') : undefined;
        if (workspaceFile && readTextIfExists(workspaceFile) !== undefined) return workspaceFile;
        return JSON_CLIENTS.vscode.file(userHome, env, process.platform);
      }
    }
  }

  private readImport(source: ImportSource): { file: string; read: ServersRead } {
    const file = this.importFile(source);
    const text = readTextIfExists(file);
    const read =
      source === 'codex' ? readCodexServers(text, file) : source === 'claude' ? readClaudeServers(text, { label: file }) : source === 'cursor' ? readCursorServers(text, file) : readVsCodeServers(text, file);
    return { file, read };
  }

  private importPreview(source: ImportSource): RequestResult<'importPreview'> {
    const { file, read } = this.readImport(source);
    const existing = readServersFileForEdit(this.options.home).servers;
    return {
      file,
      candidates: Object.entries(read.servers).map(([name, entry]) => ({ name, summary: describeServerEntry(entry), exists: Object.hasOwn(existing, name) })),
      skipped: read.skipped.map((skip) => `${skip.name}: ${skip.reason}`),
    };
  }

  private importServers(source: ImportSource, names: readonly string[]): RequestResult<'importServers'> {
    const { read } = this.readImport(source);
    const imported: string[] = [];
    for (const name of names) {
      const entry = read.servers[name];
      if (!entry) continue;
      saveServer(this.options.home, name, entry);
      imported.push(name);
    }
    if (imported.length) this.reloadServers(imported);
    return { imported };
  }
}

/** "There is no tool demo__nope. Tools with that in their name: demo__note_read, …" */
export function unknownToolMessage(name: string, tools: readonly string[], upstreams: ReadonlyArray<{ readonly name: string; readonly status: string }>): string {
  const separator = name.indexOf('__');
  const server = separator > 0 ? upstreams.find((state) => state.name === name.slice(0, separator)) : undefined;
  if (server && server.status !== 'ready') return `There is no tool "${name}" right now: its server ${server.name} is ${server.status.replace(/-/g, ' ')}, so its tools are not known.`;
  const words = name.toLowerCase().split(/__|[^a-z0-9]+/).filter((word) => word.length >= 3);
  const near = tools.filter((candidate) => words.some((word) => candidate.toLowerCase().includes(word))).slice(0, 5);
  return `There is no tool "${name}".${near.length ? ` Did you mean ${near.join(', ')}?` : ' Pick one from the list (names are <server>__<tool>).'}`;
}
