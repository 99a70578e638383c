import { formatAgo, formatRemaining, matchesToolFilter } from '../editor/panel/format';
import { PanelRequestError, RequestClient, isPanelTab, parsePanelState } from '../editor/panel/protocol';
import type {
  DecideAction,
  Decision,
  FieldErrors,
  HistoryFilter,
  HistoryRow,
  HostToWebview,
  ImportCandidate,
  ImportSource,
  PanelSnapshot,
  PanelState,
  PanelTab,
  PendingItem,
  RuleForm,
  ServerForm,
  ServerView,
  ToolView,
  TryCallResult,
  WebviewToHost,
} from '../editor/panel/protocol';
import { h, icon } from './dom';
import type { Child } from './dom';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const client = new RequestClient((message) => vscode.postMessage(message));
const app = document.getElementById('app') as HTMLElement;

const TAB_LABELS: Record<PanelTab, string> = { pending: 'Pending', servers: 'Servers & tools', rules: 'Rules', history: 'History', clients: 'Clients' };
const EMPTY_SERVER_FORM: ServerForm = { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' };
const EMPTY_RULE_FORM: RuleForm = { tool: '', when: '', decision: 'allow', reason: '' };

/** Everything the user is doing in the panel that is not in the core (forms, selection, filters). */
const ui = {
  tab: 'pending' as PanelTab,
  toolFilter: '',
  snapshot: undefined as PanelSnapshot | undefined,
  selected: new Set<string>(),
  /** Argument blocks the user folded; kept across snapshots, which rebuild the list. */
  collapsed: new Set<string>(),
  denyReasonFor: undefined as string | undefined,
  denyReason: '',
  confirming: undefined as string | undefined,
  message: undefined as { kind: 'info' | 'error'; text: string } | undefined,
  serverForm: undefined as { originalName?: string; name: string; form: ServerForm; errors: FieldErrors } | undefined,
  importSource: 'codex' as ImportSource,
  importPreview: undefined as { file: string; candidates: readonly ImportCandidate[]; skipped: readonly string[]; chosen: Set<string> } | undefined,
  ruleForm: undefined as { id?: string; form: RuleForm; errors: FieldErrors } | undefined,
  tryTool: '',
  tryArgs: '',
  tryResult: undefined as TryCallResult | undefined,
  tryError: undefined as string | undefined,
  historyFilter: {} as HistoryFilter,
  history: undefined as { rows: readonly HistoryRow[]; total: number } | undefined,
  newKeyLabel: '',
  newKeyErrors: {} as FieldErrors,
  createdKey: undefined as { label: string; key: string } | undefined,
};

const initial = parsePanelState(vscode.getState()) ?? parsePanelState(safeJson(app.dataset.initialState));
if (initial) {
  ui.tab = initial.tab;
  ui.toolFilter = initial.toolFilter ?? '';
}

function safeJson(text: string | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function saveState(): void {
  const state: PanelState = { tab: ui.tab, ...(ui.toolFilter ? { toolFilter: ui.toolFilter } : {}) };
  vscode.setState(state);
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const message = event.data;
  if (!message || typeof message !== 'object') return;
  if (client.handleReply(message)) return;
  if (message.type !== 'notification') return;
  if (message.method === 'snapshot') {
    ui.snapshot = message.params;
    const pendingIds = new Set(message.params.pending.map((item) => item.id));
    for (const id of [...ui.selected]) if (!pendingIds.has(id)) ui.selected.delete(id);
    if (ui.denyReasonFor && !pendingIds.has(ui.denyReasonFor)) ui.denyReasonFor = undefined;
    render();
    if (ui.tab === 'rules' && ui.tryTool) void runTryCall();
    if (ui.tab === 'history') scheduleHistory();
  } else if (message.method === 'showTab' && isPanelTab(message.params.tab)) {
    switchTab(message.params.tab);
  }
});

/** Runs a request and shows its failure in the panel's message line; field errors go to `onFieldErrors`. */
async function act<T>(run: () => Promise<T>, onFieldErrors?: (errors: FieldErrors) => void): Promise<T | undefined> {
  try {
    const result = await run();
    return result;
  } catch (error) {
    if (error instanceof PanelRequestError && error.fieldErrors && onFieldErrors) {
      onFieldErrors(error.fieldErrors);
    } else {
      ui.message = { kind: 'error', text: error instanceof Error ? error.message : String(error) };
    }
    render();
    return undefined;
  }
}

function say(text: string): void {
  ui.message = { kind: 'info', text };
  render();
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/** Re-renders everything, keeping focus and caret where the user left them. */
function render(): void {
  const active = document.activeElement as HTMLElement | null;
  const focusKey = active?.dataset?.focusKey;
  const selection = active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? [active.selectionStart, active.selectionEnd] : undefined;
  app.replaceChildren(view());
  if (focusKey) {
    const again = app.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (again) {
      again.focus();
      if (selection && (again instanceof HTMLInputElement || again instanceof HTMLTextAreaElement)) {
        try {
          again.setSelectionRange(selection[0], selection[1]);
        } catch {
          // Some input types (date) have no caret.
        }
      }
    }
  }
  tickCountdowns();
}

function view(): HTMLElement {
  const snapshot = ui.snapshot;
  return h(
    'div',
    { className: 'panel' },
    h('header', { className: 'panel-header' }, h('h1', {}, icon('shield'), ' Gatehouse'), snapshot ? h('span', { className: `gateway ${snapshot.gateway.running ? 'ok' : 'bad'}` }, `Gateway ${snapshot.gateway.message}`) : null),
    tabList(),
    snapshot?.policy.pendingChange ? pendingChangeBanner(snapshot.policy.pendingChange) : null,
    snapshot?.policy.error ? h('div', { className: 'banner error', role: 'alert' }, icon('error'), ` ${snapshot.policy.error}`) : null,
    ui.message
      ? h(
          'div',
          { className: `banner ${ui.message.kind}`, role: ui.message.kind === 'error' ? 'alert' : 'status' },
          ui.message.text,
          h('button', { className: 'link', 'aria-label': 'Dismiss message', onclick: () => ((ui.message = undefined), render()) }, icon('close')),
        )
      : null,
    h('main', { id: `tabpanel-${ui.tab}`, role: 'tabpanel', 'aria-labelledby': `tab-${ui.tab}`, tabindex: '-1' }, snapshot ? tabContent(snapshot) : h('p', { className: 'loading' }, 'Loading…')),
  );
}

function tabList(): HTMLElement {
  const counts: Partial<Record<PanelTab, number>> = { pending: ui.snapshot?.pending.length ?? 0 };
  const tabs = (Object.keys(TAB_LABELS) as PanelTab[]).map((tab) =>
    h(
      'button',
      {
        id: `tab-${tab}`,
        role: 'tab',
        className: 'tab',
        'aria-selected': String(tab === ui.tab),
        'aria-controls': `tabpanel-${tab}`,
        tabindex: tab === ui.tab ? '0' : '-1',
        'data-focus-key': `tab-${tab}`,
        onclick: () => switchTab(tab),
        onkeydown: (event: Event) => onTabKey(event as KeyboardEvent, tab),
      },
      TAB_LABELS[tab],
      counts[tab] ? h('span', { className: 'count', 'aria-label': `${counts[tab]} waiting` }, String(counts[tab])) : null,
    ),
  );
  return h('nav', { role: 'tablist', 'aria-label': 'Gatehouse sections', className: 'tabs' }, tabs);
}

/** WAI-ARIA tabs: arrow keys move between tabs, Home/End jump. */
function onTabKey(event: KeyboardEvent, tab: PanelTab): void {
  const tabs = Object.keys(TAB_LABELS) as PanelTab[];
  const index = tabs.indexOf(tab);
  const next =
    event.key === 'ArrowRight' ? tabs[(index + 1) % tabs.length] : event.key === 'ArrowLeft' ? tabs[(index - 1 + tabs.length) % tabs.length] : event.key === 'Home' ? tabs[0] : event.key === 'End' ? tabs[tabs.length - 1] : undefined;
  if (!next) return;
  event.preventDefault();
  switchTab(next);
  document.getElementById(`tab-${next}`)?.focus();
}

function switchTab(tab: PanelTab): void {
  ui.tab = tab;
  ui.message = undefined;
  ui.confirming = undefined;
  saveState();
  render();
  if (tab === 'history') void loadHistory();
  if (tab === 'rules' && ui.tryTool) void runTryCall();
}

function tabContent(snapshot: PanelSnapshot): Child {
  switch (ui.tab) {
    case 'pending':
      return pendingTab(snapshot);
    case 'servers':
      return serversTab(snapshot);
    case 'rules':
      return rulesTab(snapshot);
    case 'history':
      return historyTab();
    case 'clients':
      return clientsTab(snapshot);
  }
}

function pendingChangeBanner(lines: readonly string[]): HTMLElement {
  return h(
    'section',
    { className: 'banner warning', role: 'alert', 'aria-label': 'Policy change waiting for confirmation' },
    h('p', {}, icon('warning'), ' policy.json was edited outside Gatehouse and the edit loosens the policy. Until you confirm it, calls get the stricter of both versions:'),
    h('ul', {}, lines.map((line) => h('li', {}, line))),
    h(
      'div',
      { className: 'actions' },
      h('button', { onclick: () => void act(() => client.request('resolvePendingPolicy', { confirm: true })) }, icon('check'), ' Confirm the edit'),
      h('button', { className: 'secondary', onclick: () => void act(() => client.request('resolvePendingPolicy', { confirm: false })) }, icon('discard'), ' Reject and restore'),
    ),
  );
}

function emptyState(text: string, ...extra: Child[]): HTMLElement {
  return h('div', { className: 'empty' }, h('p', {}, text), extra);
}

function decisionBadge(decision: string): HTMLElement {
  return h('span', { className: `badge decision-${decision}` }, decision);
}

// ---------------------------------------------------------------------------------------------
// Pending
// ---------------------------------------------------------------------------------------------

function pendingTab(snapshot: PanelSnapshot): Child {
  const items = snapshot.pending;
  if (items.length === 0) {
    return emptyState(
      snapshot.gateway.running
        ? 'No calls are waiting for your approval. When an agent makes a call that the policy says to ask about, it appears here at once.'
        : `No calls can wait while the gateway is ${snapshot.gateway.message}.`,
    );
  }
  const allSelected = items.every((item) => ui.selected.has(item.id));
  const selectedCount = items.filter((item) => ui.selected.has(item.id)).length;
  return [
    h(
      'div',
      { className: 'toolbar' },
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          checked: allSelected,
          'data-focus-key': 'select-all',
          onchange: (event: Event) => {
            const checked = (event.target as HTMLInputElement).checked;
            ui.selected = new Set(checked ? items.map((item) => item.id) : []);
            render();
          },
        }),
        ` Select all (${items.length})`,
      ),
      groupSelectors(items),
      h('button', { disabled: selectedCount === 0, onclick: () => void decide([...ui.selected], 'once') }, icon('check-all'), ` Approve ${selectedCount || ''} selected`),
      h('button', { className: 'secondary', disabled: selectedCount === 0, onclick: () => void decide([...ui.selected], 'deny') }, icon('circle-slash'), ` Deny ${selectedCount || ''} selected`),
    ),
    h('ul', { className: 'pending-list', 'aria-label': 'Calls waiting for approval' }, items.map(pendingCard)),
  ];
}

/** "Select the 4 from github › list_issues": one click picks every waiting call of a kind. */
function groupSelectors(items: readonly PendingItem[]): Child {
  const groups = new Map<string, PendingItem[]>();
  for (const item of items) groups.set(`${item.server} › ${item.tool}`, [...(groups.get(`${item.server} › ${item.tool}`) ?? []), item]);
  return [...groups]
    .filter(([, group]) => group.length > 1)
    .map(([label, group]) =>
      h(
        'button',
        {
          className: 'secondary',
          onclick: () => {
            ui.selected = new Set(group.map((item) => item.id));
            render();
          },
        },
        `Select the ${group.length} from ${label}`,
      ),
    );
}

function pendingCard(item: PendingItem): HTMLElement {
  const label = `${item.server} › ${item.tool} from ${item.client}`;
  const denying = ui.denyReasonFor === item.id;
  return h(
    'li',
    { className: 'card pending', 'data-request-id': item.id, 'data-tool': item.qualifiedName },
    h(
      'div',
      { className: 'card-head' },
      h('input', {
        type: 'checkbox',
        'aria-label': `Select ${label}`,
        checked: ui.selected.has(item.id),
        'data-focus-key': `select-${item.id}`,
        onchange: (event: Event) => {
          if ((event.target as HTMLInputElement).checked) ui.selected.add(item.id);
          else ui.selected.delete(item.id);
          render();
        },
      }),
      h('h2', {}, h('span', { className: 'client' }, item.client), ' wants to run ', h('strong', {}, `${item.server} › ${item.tool}`)),
      h('span', { className: 'countdown', 'data-expires': item.expiresAt, 'aria-label': 'Time left to decide' }, formatRemaining(item.expiresAt, Date.now())),
    ),
    item.additionalInfo ? h('p', { className: 'info' }, icon('comment'), ' ', item.additionalInfo) : null,
    h('p', { className: 'muted' }, item.matchedRule ? `Asked by rule ${item.matchedRule}` : 'Asked by the defaults', item.reason ? `: ${item.reason}` : ''),
    h(
      'details',
      {
        open: !ui.collapsed.has(item.id),
        ontoggle: (event: Event) => ((event.target as HTMLDetailsElement).open ? ui.collapsed.delete(item.id) : ui.collapsed.add(item.id)),
      },
      h('summary', {}, `Arguments (${item.argumentsSummary || 'none'})`),
      h('pre', { className: 'arguments' }, item.argumentsJson),
    ),
    h(
      'div',
      { className: 'actions', role: 'group', 'aria-label': `Decide ${label}` },
      h('button', { onclick: () => void decide([item.id], 'once') }, icon('check'), ' Approve once'),
      h('button', { className: 'secondary', onclick: () => void decide([item.id], 'session') }, 'Approve for session'),
      h('button', { className: 'secondary', onclick: () => void decide([item.id], 'arguments') }, 'Always allow these arguments'),
      h('button', { className: 'secondary', onclick: () => void decide([item.id], 'tool') }, 'Always allow this tool'),
      h('button', { className: 'danger', onclick: () => void decide([item.id], 'deny') }, icon('circle-slash'), ' Deny'),
      h(
        'button',
        {
          className: 'secondary',
          'aria-expanded': String(denying),
          onclick: () => {
            ui.denyReasonFor = denying ? undefined : item.id;
            ui.denyReason = '';
            render();
            document.getElementById(`deny-reason-${item.id}`)?.focus();
          },
        },
        'Deny with reason…',
      ),
    ),
    denying
      ? h(
          'form',
          {
            className: 'inline-form',
            onsubmit: (event: Event) => {
              event.preventDefault();
              void decide([item.id], 'deny', ui.denyReason);
            },
          },
          h('label', { for: `deny-reason-${item.id}` }, 'Reason the agent will see'),
          h('input', {
            id: `deny-reason-${item.id}`,
            type: 'text',
            value: ui.denyReason,
            maxlength: ui.snapshot?.maxReasonLength,
            'data-focus-key': `deny-reason-${item.id}`,
            placeholder: 'e.g. use the staging repository instead',
            oninput: (event: Event) => (ui.denyReason = (event.target as HTMLInputElement).value),
          }),
          h('button', { type: 'submit', className: 'danger' }, 'Deny with this reason'),
        )
      : null,
  );
}

async function decide(ids: readonly string[], action: DecideAction, reason?: string): Promise<void> {
  if (ids.length === 0) return;
  const result = await act(() => client.request('decide', { ids, action, ...(reason ? { reason } : {}) }));
  if (!result) return;
  for (const id of ids) ui.selected.delete(id);
  ui.denyReasonFor = undefined;
  const verb = action === 'deny' || action === 'denyAlways' ? 'Denied' : 'Approved';
  say(`${verb} ${result.decided} call${result.decided === 1 ? '' : 's'}.${result.failures.length ? ` Not decided: ${result.failures.join(' ')}` : ''}`);
}

function tickCountdowns(): void {
  const now = Date.now();
  for (const element of Array.from(app.querySelectorAll<HTMLElement>('[data-expires]'))) {
    const text = formatRemaining(element.dataset.expires ?? '', now);
    if (element.textContent !== text) element.textContent = text;
    element.classList.toggle('urgent', Date.parse(element.dataset.expires ?? '') - now < 60_000);
  }
}
setInterval(tickCountdowns, 1000);

// ---------------------------------------------------------------------------------------------
// Servers & tools
// ---------------------------------------------------------------------------------------------

function decisionSelect(id: string, label: string, value: string, options: readonly string[], onChange: (value: string) => void): HTMLElement {
  return h(
    'span',
    { className: 'field inline' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, 'data-focus-key': id, onchange: (event: Event) => onChange((event.target as HTMLSelectElement).value) },
      options.map((option) => h('option', { value: option, selected: option === value }, option)),
    ),
  );
}

function serversTab(snapshot: PanelSnapshot): Child {
  const defaults = snapshot.policy.defaults;
  const filter = ui.toolFilter.trim();
  const servers = snapshot.servers;
  return [
    h(
      'section',
      { className: 'defaults', 'aria-label': 'Defaults' },
      h('h2', {}, 'Defaults for calls no rule matches'),
      (['readOnly', 'destructive', 'other'] as const).map((key) =>
        decisionSelect(`default-${key}`, key === 'readOnly' ? 'Read-only tools' : key === 'destructive' ? 'Destructive tools' : 'Other tools', defaults[key], ['allow', 'ask', 'deny'], (value) =>
          void act(() => client.request('setDefault', { key, decision: value as Decision })),
        ),
      ),
    ),
    h(
      'div',
      { className: 'toolbar' },
      h('label', { for: 'tool-filter', className: 'visually-hidden' }, 'Filter tools'),
      h('input', {
        id: 'tool-filter',
        type: 'search',
        placeholder: 'Filter tools by name, server or description',
        value: ui.toolFilter,
        'data-focus-key': 'tool-filter',
        oninput: (event: Event) => {
          ui.toolFilter = (event.target as HTMLInputElement).value;
          saveState();
          render();
        },
      }),
      h('button', { onclick: () => openServerForm() }, icon('add'), ' Add server'),
      h('label', { for: 'import-source', className: 'visually-hidden' }, 'Import from'),
      h(
        'select',
        { id: 'import-source', 'data-focus-key': 'import-source', onchange: (event: Event) => (ui.importSource = (event.target as HTMLSelectElement).value as ImportSource) },
        (
          [
            ['codex', 'Codex (config.toml)'],
            ['claude', 'Claude Code (~/.claude.json)'],
            ['cursor', 'Cursor (~/.cursor/mcp.json)'],
            ['vscode', 'VS Code (mcp.json)'],
          ] as const
        ).map(([value, text]) => h('option', { value, selected: value === ui.importSource }, text)),
      ),
      h('button', { className: 'secondary', onclick: () => void previewImport() }, icon('cloud-download'), ' Import…'),
    ),
    snapshot.serversError ? h('div', { className: 'banner error', role: 'alert' }, snapshot.serversError) : null,
    ui.serverForm ? serverFormView() : null,
    ui.importPreview ? importView() : null,
    servers.length === 0
      ? emptyState('No upstream servers yet: add one, or import from Codex.')
      : servers.map((server) => serverSection(server, filter)),
  ];
}

function serverSection(server: ServerView, filter: string): HTMLElement | null {
  const tools = filter ? server.tools.filter((tool) => matchesToolFilter(filter, tool.qualifiedName, tool.description)) : server.tools;
  if (filter && tools.length === 0 && !matchesToolFilter(filter, server.name)) return null;
  const statusIcon = server.status === 'ready' ? 'pass' : server.status === 'error' ? 'error' : server.status === 'connecting' ? 'loading' : 'circle-outline';
  const removeKey = `remove-server-${server.name}`;
  return h(
    'section',
    { className: 'card server', 'aria-label': `Server ${server.name}`, 'data-server': server.name },
    h(
      'div',
      { className: 'card-head' },
      h('h2', {}, server.name),
      h('span', { className: `status status-${server.status}` }, icon(statusIcon), ` ${server.status}`),
      server.builtin ? h('span', { className: 'badge' }, 'built-in') : null,
      decisionSelect(`server-default-${server.name}`, 'Default for this server', server.serverDefault ?? 'default', ['default', 'allow', 'ask', 'deny'], (value) =>
        void act(() => client.request('setServerDefault', { server: server.name, decision: value as Decision | 'default' })),
      ),
      server.form
        ? h('button', { className: 'secondary', 'aria-label': `Edit server ${server.name}`, onclick: () => openServerForm(server) }, icon('edit'), ' Edit')
        : null,
      server.form
        ? h(
            'button',
            {
              className: 'danger',
              'aria-label': ui.confirming === removeKey ? `Confirm removing server ${server.name}` : `Remove server ${server.name}`,
              onclick: () => {
                if (ui.confirming !== removeKey) {
                  ui.confirming = removeKey;
                  render();
                  return;
                }
                ui.confirming = undefined;
                void act(() => client.request('removeServer', { name: server.name })).then((done) => done === null && say(`Removed ${server.name} from servers.json.`));
              },
            },
            icon('trash'),
            ui.confirming === removeKey ? ' Click again to remove' : ' Remove',
          )
        : null,
    ),
    server.error ? h('p', { className: 'error-text', role: 'alert' }, server.error) : null,
    tools.length === 0
      ? h('p', { className: 'muted' }, server.status === 'ready' ? 'This server lists no tools.' : server.status === 'connecting' ? 'Connecting…' : 'No tools until the server connects.')
      : h(
          'table',
          { className: 'tools' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tool'), h('th', { scope: 'col' }, 'Decision'), h('th', { scope: 'col' }, 'Comes from'))),
          h('tbody', {}, tools.map(toolRow)),
        ),
  );
}

function toolRow(tool: ToolView): HTMLElement {
  const choices: Array<Decision | 'default'> = ['allow', 'ask', 'deny', 'default'];
  return h(
    'tr',
    { 'data-tool': tool.qualifiedName },
    h(
      'td',
      {},
      h('div', { className: 'tool-name' }, tool.name, tool.readOnly ? h('span', { className: 'badge read-only', title: 'readOnlyHint' }, icon('eye'), ' read-only') : null, tool.destructive ? h('span', { className: 'badge destructive', title: 'destructiveHint' }, icon('warning'), ' destructive') : null),
      tool.description ? h('div', { className: 'muted small' }, tool.description) : null,
      tool.fingerprintWarning ? h('div', { className: 'warning-text', role: 'note' }, icon('warning'), ` ${tool.fingerprintWarning}`) : null,
    ),
    h(
      'td',
      {},
      h(
        'div',
        { className: 'segmented', role: 'group', 'aria-label': `Decision for ${tool.qualifiedName}` },
        choices.map((choice) =>
          h(
            'button',
            {
              className: `segment decision-${choice}`,
              'aria-pressed': String(tool.control === choice),
              'data-decision': choice,
              'data-focus-key': `control-${tool.qualifiedName}-${choice}`,
              title: choice === 'default' ? 'Remove the tool rule; the defaults decide' : `${choice} every call to this tool`,
              onclick: () => void act(() => client.request('setToolDecision', { tool: tool.qualifiedName, decision: choice })),
            },
            choice === 'default' ? 'use default' : choice,
          ),
        ),
      ),
    ),
    h(
      'td',
      {},
      decisionBadge(tool.decision),
      ` ${tool.source === 'rule' ? `rule ${tool.ruleId ?? ''}` : tool.source}`,
      tool.grantCount ? h('span', { className: 'muted' }, ` · ${tool.grantCount} argument grant${tool.grantCount === 1 ? '' : 's'}`) : null,
    ),
  );
}

function openServerForm(server?: ServerView): void {
  ui.importPreview = undefined;
  ui.serverForm = server?.form ? { originalName: server.name, name: server.name, form: { ...server.form }, errors: {} } : { name: '', form: { ...EMPTY_SERVER_FORM }, errors: {} };
  render();
  document.getElementById('server-name')?.focus();
}

function field(id: string, label: string, control: HTMLElement, error: string | undefined, hint?: string): HTMLElement {
  if (error) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${id}-error`);
  }
  return h('div', { className: 'field' }, h('label', { for: id }, label), control, hint ? h('div', { className: 'muted small' }, hint) : null, error ? h('div', { id: `${id}-error`, className: 'error-text field-error', role: 'alert' }, error) : null);
}

function textInput(id: string, value: string, onInput: (value: string) => void, extra: Record<string, string> = {}): HTMLInputElement {
  return h('input', { id, type: 'text', value, 'data-focus-key': id, oninput: (event: Event) => onInput((event.target as HTMLInputElement).value), ...extra });
}

function textArea(id: string, value: string, onInput: (value: string) => void, extra: Record<string, string> = {}): HTMLTextAreaElement {
  return h('textarea', { id, rows: '3', value, 'data-focus-key': id, oninput: (event: Event) => onInput((event.target as HTMLTextAreaElement).value), ...extra });
}

function serverFormView(): HTMLElement {
  const state = ui.serverForm!;
  const form = state.form;
  const set = (patch: Partial<ServerForm>): void => {
    state.form = { ...state.form, ...patch };
  };
  return h(
    'form',
    {
      className: 'card form',
      'aria-label': state.originalName ? `Edit server ${state.originalName}` : 'Add a server',
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(
          () => client.request('saveServer', { ...(state.originalName ? { originalName: state.originalName } : {}), name: state.name, form: state.form }),
          (errors) => ((state.errors = errors), render()),
        ).then((done) => {
          if (done !== null) return;
          ui.serverForm = undefined;
          say(`Saved ${state.name.trim()} to servers.json; the gateway is connecting to it.`);
        });
      },
    },
    h('h2', {}, state.originalName ? `Edit ${state.originalName}` : 'Add a server'),
    ui.snapshot?.servers.some((server) => server.builtin && server.name === 'demo') && !state.originalName
      ? h('p', { className: 'muted' }, icon('info'), ' The built-in demo server runs only while there is no servers.json; saving this server creates the file, and the demo goes away.')
      : null,
    field('server-name', 'Name', textInput('server-name', state.name, (value) => (state.name = value), { placeholder: 'github' }), state.errors.name, 'Tools appear as <name>__<tool>.'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Transport'),
      (['stdio', 'http'] as const).map((type) =>
        h(
          'label',
          { className: 'radio' },
          h('input', { type: 'radio', name: 'server-type', value: type, checked: form.type === type, 'data-focus-key': `server-type-${type}`, onchange: () => (set({ type }), render()) }),
          type === 'stdio' ? ' Local command (stdio)' : ' Remote URL (streamable HTTP)',
        ),
      ),
    ),
    form.type === 'stdio'
      ? [
          field('server-command', 'Command', textInput('server-command', form.command, (value) => set({ command: value }), { placeholder: 'npx' }), state.errors.command),
          field('server-args', 'Arguments, one per line', textArea('server-args', form.args, (value) => set({ args: value })), state.errors.args),
          field('server-env', 'Environment, NAME=value per line', textArea('server-env', form.env, (value) => set({ env: value }), { placeholder: 'GITHUB_TOKEN=${env:GITHUB_TOKEN}' }), state.errors.env, 'Use ${env:NAME} to keep a secret out of servers.json.'),
          field('server-cwd', 'Working directory (optional)', textInput('server-cwd', form.cwd, (value) => set({ cwd: value })), state.errors.cwd),
        ]
      : [
          field('server-url', 'URL', textInput('server-url', form.url, (value) => set({ url: value }), { placeholder: 'https://example.com/mcp' }), state.errors.url),
          field('server-headers', 'Headers, Name: value per line', textArea('server-headers', form.headers, (value) => set({ headers: value }), { placeholder: 'Authorization: Bearer ${env:TOKEN}' }), state.errors.headers),
        ],
    state.errors.form ? h('div', { className: 'error-text field-error', role: 'alert', id: 'server-form-error' }, state.errors.form) : null,
    h('div', { className: 'actions' }, h('button', { type: 'submit' }, icon('save'), ' Save server'), h('button', { type: 'button', className: 'secondary', onclick: () => ((ui.serverForm = undefined), render()) }, 'Cancel')),
  );
}

async function previewImport(): Promise<void> {
  const source = ui.importSource;
  const preview = await act(() => client.request('importPreview', { source }));
  if (!preview) return;
  ui.serverForm = undefined;
  ui.importPreview = { ...preview, chosen: new Set(preview.candidates.filter((candidate) => !candidate.exists).map((candidate) => candidate.name)) };
  render();
}

function importView(): HTMLElement {
  const preview = ui.importPreview!;
  return h(
    'section',
    { className: 'card form', 'aria-label': 'Import servers' },
    h('h2', {}, `Import from ${preview.file}`),
    preview.candidates.length === 0
      ? h('p', {}, 'No servers to import there. Gatehouse looked in this file; if your servers live elsewhere, add them with "Add server".')
      : h(
          'ul',
          { className: 'plain' },
          preview.candidates.map((candidate) =>
            h(
              'li',
              {},
              h(
                'label',
                {},
                h('input', {
                  type: 'checkbox',
                  checked: preview.chosen.has(candidate.name),
                  onchange: (event: Event) => ((event.target as HTMLInputElement).checked ? preview.chosen.add(candidate.name) : preview.chosen.delete(candidate.name)),
                }),
                ` ${candidate.name}`,
                h('span', { className: 'muted' }, ` — ${candidate.summary}`),
                candidate.exists ? h('span', { className: 'badge' }, 'replaces the existing entry') : null,
              ),
            ),
          ),
        ),
    preview.skipped.length ? h('p', { className: 'muted' }, `Skipped: ${preview.skipped.join('; ')}`) : null,
    h(
      'div',
      { className: 'actions' },
      preview.candidates.length
        ? h(
            'button',
            {
              onclick: () =>
                void act(() => client.request('importServers', { source: ui.importSource, names: [...preview.chosen] })).then((result) => {
                  if (!result) return;
                  ui.importPreview = undefined;
                  say(result.imported.length ? `Imported ${result.imported.join(', ')}. The original client still has them: disconnect them there once they work through Gatehouse.` : 'Nothing was imported.');
                }),
            },
            'Import selected',
          )
        : null,
      h('button', { className: 'secondary', onclick: () => ((ui.importPreview = undefined), render()) }, 'Close'),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

function rulesTab(snapshot: PanelSnapshot): Child {
  const rules = snapshot.policy.rules;
  const grants = snapshot.policy.grants;
  return [
    h('datalist', { id: 'tool-names' }, snapshot.toolNames.map((name) => h('option', { value: name }))),
    tryCallView(),
    h(
      'section',
      { 'aria-label': 'Rules' },
      h('div', { className: 'section-head' }, h('h2', {}, 'Rules'), h('button', { onclick: () => openRuleForm() }, icon('add'), ' Add rule')),
      h('p', { className: 'muted' }, 'A matching deny wins, then a grant for the exact arguments, then ask, then allow; otherwise the defaults decide. Order only picks which rule is named among equals.'),
      ui.ruleForm ? ruleFormView() : null,
      rules.length === 0
        ? emptyState('No rules yet: every call follows the defaults. Add a rule to allow, ask or deny a tool, or only some of its arguments.')
        : h(
            'table',
            { className: 'rules' },
            h('thead', {}, h('tr', {}, ['#', 'Tool', 'When', 'Decision', 'Reason', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              rules.map((rule, index) => {
                const deleteKey = `delete-rule-${rule.id}`;
                return h(
                  'tr',
                  { 'data-rule-id': rule.id },
                  h('td', {}, String(index + 1)),
                  h('td', {}, h('code', {}, rule.tool)),
                  h('td', {}, rule.whenJson ? h('code', {}, rule.whenJson) : h('span', { className: 'muted' }, 'any arguments')),
                  h('td', {}, decisionBadge(rule.decision)),
                  h('td', {}, rule.reason ?? '', rule.fingerprint ? h('span', { className: 'muted small' }, ' (pinned to this tool version)') : null),
                  h(
                    'td',
                    { className: 'row-actions' },
                    h('button', { className: 'icon', 'aria-label': `Move rule ${rule.id} up`, disabled: index === 0, onclick: () => void act(() => client.request('moveRule', { id: rule.id, toIndex: index - 1 })) }, icon('arrow-up')),
                    h('button', { className: 'icon', 'aria-label': `Move rule ${rule.id} down`, disabled: index === rules.length - 1, onclick: () => void act(() => client.request('moveRule', { id: rule.id, toIndex: index + 1 })) }, icon('arrow-down')),
                    h('button', { className: 'icon', 'aria-label': `Edit rule ${rule.id}`, onclick: () => openRuleForm(rule.id, { tool: rule.tool, when: rule.whenJson, decision: rule.decision, reason: rule.reason ?? '' }) }, icon('edit')),
                    h(
                      'button',
                      {
                        className: ui.confirming === deleteKey ? 'danger' : 'icon',
                        'aria-label': ui.confirming === deleteKey ? `Confirm deleting rule ${rule.id}` : `Delete rule ${rule.id}`,
                        onclick: () => {
                          if (ui.confirming !== deleteKey) return void ((ui.confirming = deleteKey), render());
                          ui.confirming = undefined;
                          void act(() => client.request('removeRule', { id: rule.id }));
                        },
                      },
                      icon('trash'),
                      ui.confirming === deleteKey ? ' Delete?' : null,
                    ),
                  ),
                );
              }),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-label': 'Grants' },
      h('h2', {}, 'Remembered grants'),
      grants.length === 0
        ? emptyState('No grants. "Always allow these arguments" on a pending call adds one here.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Tool', 'Arguments hash', 'Given', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              grants.map((grant) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('code', {}, grant.tool)),
                  h('td', {}, h('code', { title: grant.argumentsHash }, `${grant.argumentsHash.slice(0, 12)}…`)),
                  h('td', {}, grant.createdAt ? formatAgo(grant.createdAt, Date.now()) : ''),
                  h('td', {}, h('button', { className: 'secondary', 'aria-label': `Revoke grant ${grant.id}`, onclick: () => void act(() => client.request('removeGrant', { id: grant.id })) }, 'Revoke')),
                ),
              ),
            ),
          ),
    ),
  ];
}

function openRuleForm(id?: string, form: RuleForm = { ...EMPTY_RULE_FORM, tool: ui.tryTool }): void {
  ui.ruleForm = { ...(id ? { id } : {}), form: { ...form }, errors: {} };
  render();
  document.getElementById('rule-tool')?.focus();
}

function ruleFormView(): HTMLElement {
  const state = ui.ruleForm!;
  const set = (patch: Partial<RuleForm>): void => {
    state.form = { ...state.form, ...patch };
  };
  return h(
    'form',
    {
      className: 'card form',
      'aria-label': state.id ? `Edit rule ${state.id}` : 'Add a rule',
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(
          () => client.request('saveRule', { ...(state.id ? { id: state.id } : {}), rule: state.form }),
          (errors) => ((state.errors = errors), render()),
        ).then((result) => {
          if (!result) return;
          ui.ruleForm = undefined;
          say(`Saved rule ${result.id}.`);
        });
      },
    },
    h('h2', {}, state.id ? `Edit rule ${state.id}` : 'Add a rule'),
    field('rule-tool', 'Tool (name or glob)', textInput('rule-tool', state.form.tool, (value) => set({ tool: value }), { list: 'tool-names', placeholder: 'github__create_issue or github__*' }), state.errors.tool),
    field(
      'rule-when',
      'When the arguments match (JSON, optional)',
      textArea('rule-when', state.form.when, (value) => set({ when: value }), { placeholder: '{"path": {"glob": "/tmp/**"}, "count": {"lte": 10}}' }),
      state.errors.when,
      'Matchers: equals, in, glob, prefix, regex, lt, lte, gt, gte, exists. A bare value means equals.',
    ),
    field(
      'rule-decision',
      'Decision',
      h('select', { id: 'rule-decision', 'data-focus-key': 'rule-decision', onchange: (event: Event) => set({ decision: (event.target as HTMLSelectElement).value as Decision }) }, (['allow', 'ask', 'deny'] as const).map((decision) => h('option', { value: decision, selected: decision === state.form.decision }, decision))),
      state.errors.decision,
    ),
    field('rule-reason', 'Reason (shown to the agent on deny)', textInput('rule-reason', state.form.reason, (value) => set({ reason: value })), state.errors.reason),
    h('div', { className: 'actions' }, h('button', { type: 'submit' }, icon('save'), ' Save rule'), h('button', { type: 'button', className: 'secondary', onclick: () => ((ui.ruleForm = undefined), render()) }, 'Cancel')),
  );
}

let tryTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleTryCall(): void {
  clearTimeout(tryTimer);
  tryTimer = setTimeout(() => void runTryCall(), 250);
}

async function runTryCall(): Promise<void> {
  if (!ui.tryTool.trim()) {
    ui.tryResult = undefined;
    ui.tryError = undefined;
    render();
    return;
  }
  try {
    ui.tryResult = await client.request('tryCall', { tool: ui.tryTool, arguments: ui.tryArgs });
    ui.tryError = undefined;
  } catch (error) {
    ui.tryResult = undefined;
    ui.tryError = error instanceof PanelRequestError && error.fieldErrors ? Object.values(error.fieldErrors).join(' ') : (error as Error).message;
  }
  render();
}

function tryCallView(): HTMLElement {
  const result = ui.tryResult;
  return h(
    'section',
    { className: 'card try', 'aria-label': 'Try a call' },
    h('h2', {}, icon('beaker'), ' Try a call'),
    h('p', { className: 'muted' }, 'Pick a tool and type arguments: the real policy says what would happen, and which rule decides.'),
    field('try-tool', 'Tool', textInput('try-tool', ui.tryTool, (value) => ((ui.tryTool = value), scheduleTryCall()), { list: 'tool-names', placeholder: 'demo__write_note' }), undefined),
    field('try-args', 'Arguments (JSON)', textArea('try-args', ui.tryArgs, (value) => ((ui.tryArgs = value), scheduleTryCall()), { placeholder: '{"name": "notes.txt"}' }), undefined),
    h(
      'div',
      { id: 'try-result', role: 'status', 'aria-live': 'polite', className: 'try-result' },
      ui.tryError
        ? h('span', { className: 'error-text' }, ui.tryError)
        : result
          ? [
              decisionBadge(result.decision),
              ' ',
              result.ruleId ? `matched rule ${result.ruleId}` : result.grantId ? `matched grant ${result.grantId}` : 'no rule matches: the defaults decide',
              result.reason ? h('span', { className: 'muted' }, ` — ${result.reason}`) : null,
              result.suspended ? h('div', { className: 'warning-text' }, icon('warning'), ' Suspended: the tool changed since this was approved.') : null,
            ]
          : h('span', { className: 'muted' }, 'Type a tool name to see its decision.'),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

let historyTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleHistory(): void {
  clearTimeout(historyTimer);
  historyTimer = setTimeout(() => void loadHistory(), 300);
}

async function loadHistory(): Promise<void> {
  const result = await act(() => client.request('history', { filter: ui.historyFilter, limit: 200 }));
  if (!result) return;
  ui.history = result;
  if (ui.tab === 'history') render();
}

function historyTab(): Child {
  const filter = ui.historyFilter;
  const setFilter = (patch: Partial<HistoryFilter>): void => {
    ui.historyFilter = { ...ui.historyFilter, ...patch };
    scheduleHistory();
  };
  const history = ui.history;
  return [
    h(
      'form',
      { className: 'filters', 'aria-label': 'Filter the history', onsubmit: (event: Event) => (event.preventDefault(), void loadHistory()) },
      field('history-tool', 'Tool', textInput('history-tool', filter.tool ?? '', (value) => setFilter({ tool: value }), { placeholder: 'github__*' }), undefined),
      field(
        'history-decision',
        'Decision',
        h(
          'select',
          { id: 'history-decision', 'data-focus-key': 'history-decision', onchange: (event: Event) => setFilter({ decision: (event.target as HTMLSelectElement).value }) },
          ['', 'allow', 'ask', 'deny', 'approve', 'held', 'denied', 'expired'].map((value) => h('option', { value, selected: (filter.decision ?? '') === value }, value || 'any')),
        ),
        undefined,
      ),
      field('history-client', 'Client', textInput('history-client', filter.client ?? '', (value) => setFilter({ client: value })), undefined),
      field('history-since', 'From', h('input', { id: 'history-since', type: 'date', value: filter.since ?? '', onchange: (event: Event) => setFilter({ since: (event.target as HTMLInputElement).value }) }), undefined),
      field('history-until', 'To', h('input', { id: 'history-until', type: 'date', value: filter.until ?? '', onchange: (event: Event) => setFilter({ until: (event.target as HTMLInputElement).value }) }), undefined),
      h(
        'div',
        { className: 'actions' },
        h('button', { type: 'submit', className: 'secondary' }, icon('refresh'), ' Refresh'),
        h('button', { type: 'button', onclick: () => void exportHistory('jsonl') }, icon('export'), ' Export JSONL'),
        h('button', { type: 'button', onclick: () => void exportHistory('csv') }, icon('export'), ' Export CSV'),
      ),
    ),
    !history
      ? h('p', { className: 'loading' }, 'Reading the audit log…')
      : history.rows.length === 0
        ? emptyState('Nothing recorded matches. Every call through the gateway and every decision is written to the audit log under the Gatehouse home.')
        : [
            h('p', { className: 'muted' }, `Newest first; showing ${history.rows.length} of ${history.total}.`),
            h(
              'table',
              { className: 'history' },
              h('thead', {}, h('tr', {}, ['Time', 'Event', 'Client', 'Tool', 'Decision', 'Detail'].map((title) => h('th', { scope: 'col' }, title)))),
              h(
                'tbody',
                {},
                history.rows.map((row) =>
                  h('tr', {}, h('td', { title: row.ts, className: 'nowrap' }, new Date(row.ts).toLocaleString()), h('td', {}, row.event), h('td', {}, row.client), h('td', {}, h('code', {}, row.tool)), h('td', {}, row.decision), h('td', { className: 'small' }, row.detail)),
                ),
              ),
            ),
          ],
  ];
}

async function exportHistory(format: 'jsonl' | 'csv'): Promise<void> {
  const result = await act(() => client.request('exportHistory', { filter: ui.historyFilter, format }));
  if (result?.file) say(`Exported ${result.count} entries to ${result.file}.`);
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

function clientsTab(snapshot: PanelSnapshot): Child {
  const now = Date.now();
  const { oauth, apiKeys } = snapshot.clients;
  const revokeButton = (key: string, label: string, run: () => Promise<unknown>): HTMLElement =>
    h(
      'button',
      {
        className: 'danger',
        'aria-label': ui.confirming === key ? `Confirm revoking ${label}` : `Revoke ${label}`,
        onclick: () => {
          if (ui.confirming !== key) return void ((ui.confirming = key), render());
          ui.confirming = undefined;
          void act(run).then(() => say(`Revoked ${label}.`));
        },
      },
      ui.confirming === key ? 'Click again to revoke' : 'Revoke',
    );
  return [
    h(
      'section',
      { 'aria-label': 'OAuth clients' },
      h('h2', {}, 'Signed-in clients (OAuth)'),
      oauth.length === 0
        ? emptyState('No client has signed in yet. Connect Codex with "codex mcp login gatehouse" and approve the sign-in in the editor.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Client', 'Registered', 'Last used', 'Details', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              oauth.map((entry) =>
                h('tr', {}, h('td', {}, entry.name), h('td', {}, formatAgo(entry.createdAt, now)), h('td', {}, formatAgo(entry.lastUsedAt, now)), h('td', { className: 'small' }, entry.detail), h('td', {}, revokeButton(`client-${entry.id}`, entry.name, () => client.request('revokeClient', { clientId: entry.id })))),
              ),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-label': 'API keys' },
      h('h2', {}, 'API keys'),
      ui.createdKey
        ? h(
            'div',
            { className: 'banner info created-key', role: 'status' },
            h('p', {}, `The key for "${ui.createdKey.label}" is shown only this once. Copy it now:`),
            h('code', { className: 'secret' }, ui.createdKey.key),
            h(
              'div',
              { className: 'actions' },
              h('button', { onclick: () => void act(() => client.request('copy', { text: ui.createdKey!.key })).then(() => say('Copied the key to the clipboard.')) }, icon('copy'), ' Copy key'),
              h('button', { className: 'secondary', onclick: () => ((ui.createdKey = undefined), render()) }, 'Done'),
            ),
          )
        : null,
      h(
        'form',
        {
          className: 'inline-form',
          'aria-label': 'Create an API key',
          novalidate: true,
          onsubmit: (event: Event) => {
            event.preventDefault();
            const label = ui.newKeyLabel.trim();
            void act(
              () => client.request('createApiKey', { label }),
              (errors) => ((ui.newKeyErrors = errors), render()),
            ).then((result) => {
              if (!result) return;
              ui.createdKey = { label, key: result.key };
              ui.newKeyLabel = '';
              ui.newKeyErrors = {};
              render();
            });
          },
        },
        field('key-label', 'New key for', textInput('key-label', ui.newKeyLabel, (value) => (ui.newKeyLabel = value), { placeholder: 'codex' }), ui.newKeyErrors.label),
        h('button', { type: 'submit' }, icon('key'), ' Create API key'),
      ),
      apiKeys.length === 0
        ? emptyState('No API keys. Create one for a client that cannot sign in with OAuth; send it as "Authorization: Bearer <key>".')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Label', 'Created', 'Last used', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              apiKeys.map((key) =>
                h('tr', {}, h('td', {}, key.label), h('td', {}, formatAgo(key.createdAt, now)), h('td', {}, formatAgo(key.lastUsedAt, now)), h('td', {}, revokeButton(`key-${key.label}`, `the key "${key.label}"`, () => client.request('revokeApiKey', { label: key.label })))),
              ),
            ),
          ),
    ),
  ];
}

render();
vscode.postMessage({ type: 'ready', state: { tab: ui.tab, ...(ui.toolFilter ? { toolFilter: ui.toolFilter } : {}) } });
