import { matchesToolFilter } from '../editor/panel/format';
import type { Decision, FieldErrors, ImportCandidate, ImportSource, PanelSnapshot, ServerForm, ServerView, ToolView } from '../editor/panel/protocol';
import { act, client, render, say, saveState, ui } from './app';
import { h, icon } from './dom';
import type { Child } from './dom';
import { decisionBadge, decisionSelect, emptyState, field, savingForm, textArea, textInput } from './forms';

const EMPTY_SERVER_FORM: ServerForm = { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' };

/** The Servers & tools tab's own state: the server form and the import preview. */
export const serversState = {
  serverForm: undefined as { originalName?: string; name: string; form: ServerForm; errors: FieldErrors } | undefined,
  importSource: 'codex' as ImportSource,
  importPreview: undefined as { file: string; candidates: readonly ImportCandidate[]; skipped: readonly string[]; chosen: Set<string> } | undefined,
};

export function serversTab(snapshot: PanelSnapshot): Child {
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
        { id: 'import-source', 'data-focus-key': 'import-source', onchange: (event: Event) => (serversState.importSource = (event.target as HTMLSelectElement).value as ImportSource) },
        (
          [
            ['codex', 'Codex (config.toml)'],
            ['claude', 'Claude Code (~/.claude.json)'],
            ['cursor', 'Cursor (~/.cursor/mcp.json)'],
            ['vscode', 'VS Code (mcp.json)'],
          ] as const
        ).map(([value, text]) => h('option', { value, selected: value === serversState.importSource }, text)),
      ),
      h('button', { className: 'secondary', onclick: () => void previewImport() }, icon('cloud-download'), ' Import…'),
    ),
    snapshot.serversError ? h('div', { className: 'banner error', role: 'alert' }, snapshot.serversError) : null,
    serversState.serverForm ? serverFormView() : null,
    serversState.importPreview ? importView() : null,
    servers.length === 0
      ? emptyState('No upstream servers yet: add one, or import from Codex.')
      : servers.map((server) => serverSection(server, filter)),
  ];
}

function serverSection(server: ServerView, filter: string): HTMLElement | null {
  const tools = filter ? server.tools.filter((tool) => matchesToolFilter(filter, tool.qualifiedName, tool.description)) : server.tools;
  if (filter && tools.length === 0 && !matchesToolFilter(filter, server.name)) return null;
  const statusIcon = server.status === 'ready' ? 'pass' : server.status === 'error' ? 'error' : server.status === 'needs-sign-in' ? 'key' : server.status === 'connecting' ? 'loading' : 'circle-outline';
  const removeKey = `remove-server-${server.name}`;
  return h(
    'section',
    { className: 'card server', 'aria-label': `Server ${server.name}`, 'data-server': server.name },
    h(
      'div',
      { className: 'card-head' },
      h('h2', {}, server.name),
      h('span', { className: `status status-${server.status}` }, icon(statusIcon), ` ${server.status === 'needs-sign-in' ? 'needs sign-in' : server.status}`),
      server.builtin ? h('span', { className: 'badge' }, 'built-in') : null,
      decisionSelect(`server-default-${server.name}`, 'Default for this server', server.serverDefault ?? 'default', ['default', 'allow', 'ask', 'deny'], (value) =>
        void act(() => client.request('setServerDefault', { server: server.name, decision: value as Decision | 'default' })),
      ),
      server.status === 'needs-sign-in'
        ? h('button', { 'aria-label': `Sign in to server ${server.name}`, onclick: () => void act(() => client.request('signInServer', { name: server.name })) }, icon('key'), ' Sign In')
        : null,
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
      ? h('p', { className: 'muted' }, server.status === 'ready' ? 'This server lists no tools.' : server.status === 'connecting' ? 'Connecting…' : server.status === 'needs-sign-in' ? `No tools until you sign in: Gatehouse: Sign In to Server…, or \`gatehouse login ${server.name}\`.` : 'No tools until the server connects.')
      : h(
          'table',
          { className: 'tools' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tool'), h('th', { scope: 'col' }, 'Decision'), h('th', { scope: 'col' }, 'Why'))),
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
            // The chosen segment shows a check as well as its colour, so it reads in every theme.
            tool.control === choice ? icon('check') : null,
            choice === 'default' ? 'use default' : choice,
          ),
        ),
      ),
    ),
    h(
      'td',
      {},
      decisionBadge(tool.decision),
      h('span', { className: 'small', title: tool.source === 'rule' ? `rule ${tool.ruleId ?? ''}` : tool.source }, ` ${tool.why}`),
      tool.grantCount ? h('span', { className: 'muted' }, ` · ${tool.grantCount} argument grant${tool.grantCount === 1 ? '' : 's'}`) : null,
    ),
  );
}

function openServerForm(server?: ServerView): void {
  serversState.importPreview = undefined;
  serversState.serverForm = server?.form ? { originalName: server.name, name: server.name, form: { ...server.form }, errors: {} } : { name: '', form: { ...EMPTY_SERVER_FORM }, errors: {} };
  render();
  document.getElementById('server-name')?.focus();
}

function serverFormView(): HTMLElement {
  const state = serversState.serverForm!;
  const form = state.form;
  const set = (patch: Partial<ServerForm>): void => {
    state.form = { ...state.form, ...patch };
  };
  return savingForm(
    {
      label: state.originalName ? `Edit server ${state.originalName}` : 'Add a server',
      heading: state.originalName ? `Edit ${state.originalName}` : 'Add a server',
      submitLabel: 'Save server',
      save: () => client.request('saveServer', { ...(state.originalName ? { originalName: state.originalName } : {}), name: state.name, form: state.form }),
      onFieldErrors: (errors) => (state.errors = errors),
      onSaved: () => {
        serversState.serverForm = undefined;
        say(`Saved ${state.name.trim()} to servers.json; the gateway is connecting to it.`);
      },
      onCancel: () => (serversState.serverForm = undefined),
    },
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
  );
}

async function previewImport(): Promise<void> {
  const source = serversState.importSource;
  const preview = await act(() => client.request('importPreview', { source }));
  if (!preview) return;
  serversState.serverForm = undefined;
  serversState.importPreview = { ...preview, chosen: new Set(preview.candidates.filter((candidate) => !candidate.exists).map((candidate) => candidate.name)) };
  render();
}

function importView(): HTMLElement {
  const preview = serversState.importPreview!;
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
                void act(() => client.request('importServers', { source: serversState.importSource, names: [...preview.chosen] })).then((result) => {
                  if (!result) return;
                  serversState.importPreview = undefined;
                  say(result.imported.length ? `Imported ${result.imported.join(', ')}. The original client still has them: disconnect them there once they work through Gatehouse.` : 'Nothing was imported.');
                }),
            },
            'Import selected',
          )
        : null,
      h('button', { className: 'secondary', onclick: () => ((serversState.importPreview = undefined), render()) }, 'Close'),
    ),
  );
}
