import { formatRemaining } from '../editor/panel/format';
import type { DecideAction, EditScope, PanelSnapshot, PendingItem } from '../editor/panel/protocol';
import { act, app, client, render, say, ui } from './app';
import { h, icon } from './dom';
import { decidedMessage, editorRows, pendingGroups, type PendingEdit } from './panelLogic';
import type { Child } from './dom';
import { emptyState } from './forms';

/** The Pending tab's own state: what is ticked, unfolded, which menu is open, and which card asks for a reason or is being edited. */
export const pendingState = {
  selected: new Set<string>(),
  /** Argument blocks the user unfolded; kept across snapshots, which rebuild the list. */
  expanded: new Set<string>(),
  denyReasonFor: undefined as string | undefined,
  denyReason: '',
  /** The toolbar's "deny the selected calls with a reason" form. */
  batchDenying: false,
  batchReason: '',
  menuFor: undefined as string | undefined,
  edit: undefined as PendingEdit | undefined,
};

/** The same words as the notification's Details, the browser page and the serve terminal. */
const MENU: readonly { action: DecideAction | 'denyReason' | 'edit'; label: string; icon: string }[] = [
  { action: 'session', label: 'Approve for this session', icon: 'check-all' },
  { action: 'arguments', label: 'Always allow these arguments', icon: 'pass' },
  { action: 'tool', label: 'Always allow this tool', icon: 'pass-filled' },
  { action: 'edit', label: 'Approve with changes…', icon: 'edit' },
  { action: 'denyReason', label: 'Deny with reason…', icon: 'comment' },
  { action: 'denyAlways', label: 'Always deny this tool', icon: 'circle-slash' },
];

const EDIT_SCOPES: readonly { scope: EditScope; label: string }[] = [
  { scope: 'once', label: 'once' },
  { scope: 'session', label: 'for this session' },
  { scope: 'arguments', label: 'always, for these edited arguments' },
  { scope: 'tool', label: 'always, for this tool' },
];

export function pendingTab(snapshot: PanelSnapshot): Child {
  const items = snapshot.pending;
  if (items.length === 0) {
    return emptyState(
      snapshot.gateway.running
        ? 'No calls are waiting for your approval. When an agent makes a call that the policy says to ask about, it appears here at once.'
        : `No calls can wait while the gateway is ${snapshot.gateway.message}.`,
    );
  }
  return [toolbar(items), h('ul', { className: 'pending-list', 'aria-label': 'Calls waiting for approval' }, items.map(pendingCard))];
}

/** Select, approve and deny many at once; sticky, so it stays in reach while the list scrolls. */
function toolbar(items: readonly PendingItem[]): HTMLElement {
  const allSelected = items.every((item) => pendingState.selected.has(item.id));
  const selectedCount = items.filter((item) => pendingState.selected.has(item.id)).length;
  const none = selectedCount === 0;
  return h(
    'div',
    { className: 'toolbar sticky', role: 'toolbar', 'aria-label': 'Decide the selected calls' },
    h(
      'label',
      {},
      h('input', {
        type: 'checkbox',
        checked: allSelected,
        'data-focus-key': 'select-all',
        onchange: (event: Event) => {
          const checked = (event.target as HTMLInputElement).checked;
          pendingState.selected = new Set(checked ? items.map((item) => item.id) : []);
          render();
        },
      }),
      ` Select all (${items.length})`,
    ),
    groupSelectors(items),
    h('button', { disabled: none, onclick: () => void decide([...pendingState.selected], 'once') }, icon('check-all'), ` Approve ${selectedCount || ''} selected`),
    h('button', { className: 'secondary', disabled: none, onclick: () => void decide([...pendingState.selected], 'deny') }, icon('circle-slash'), ` Deny ${selectedCount || ''} selected`),
    h(
      'button',
      {
        className: 'secondary',
        disabled: none,
        'aria-expanded': String(pendingState.batchDenying),
        onclick: () => {
          pendingState.batchDenying = !pendingState.batchDenying;
          render();
          document.getElementById('batch-deny-reason')?.focus();
        },
      },
      `Deny ${selectedCount || ''} with reason…`,
    ),
    pendingState.batchDenying && !none
      ? reasonForm('batch-deny-reason', `Deny ${selectedCount} with this reason`, pendingState.batchReason, (text) => (pendingState.batchReason = text), () => void decide([...pendingState.selected], 'deny', pendingState.batchReason))
      : null,
  );
}

/** "Select the 4 from github › list_issues": one click picks every waiting call of a kind. */
function groupSelectors(items: readonly PendingItem[]): Child {
  return pendingGroups(items).map(({ label, ids }) =>
    h(
      'button',
      {
        className: 'secondary',
        onclick: () => {
          pendingState.selected = new Set(ids);
          render();
        },
      },
      `Select the ${ids.length} from ${label}`,
    ),
  );
}

function pendingCard(item: PendingItem): HTMLElement {
  const label = `${item.server} › ${item.tool} from ${item.client}`;
  const menuOpen = pendingState.menuFor === item.id;
  const editing = pendingState.edit?.id === item.id ? pendingState.edit : undefined;
  return h(
    'li',
    { className: 'card pending', 'data-request-id': item.id, 'data-tool': item.qualifiedName },
    h(
      'div',
      { className: 'card-head' },
      h('input', {
        type: 'checkbox',
        'aria-label': `Select ${label}`,
        checked: pendingState.selected.has(item.id),
        'data-focus-key': `select-${item.id}`,
        onchange: (event: Event) => {
          if ((event.target as HTMLInputElement).checked) pendingState.selected.add(item.id);
          else pendingState.selected.delete(item.id);
          render();
        },
      }),
      h('h2', {}, h('span', { className: 'client' }, item.client), ' wants to run ', h('strong', {}, `${item.server} › ${item.tool}`)),
      h('span', { className: 'countdown', 'data-expires': item.expiresAt, 'aria-label': 'Time left to decide' }, formatRemaining(item.expiresAt, Date.now())),
    ),
    item.additionalInfo ? h('p', { className: 'info' }, icon('comment'), ' ', item.additionalInfo) : null,
    h(
      'details',
      {
        className: 'arguments-fold',
        open: pendingState.expanded.has(item.id),
        ontoggle: (event: Event) => ((event.target as HTMLDetailsElement).open ? pendingState.expanded.add(item.id) : pendingState.expanded.delete(item.id)),
      },
      h('summary', {}, h('span', { className: 'summary-line' }, `Arguments: ${item.argumentsSummary || 'none'}`), ' ', h('span', { className: 'muted small' }, item.matchedRule ? `· asked by rule ${item.matchedRule}` : '· asked by the defaults')),
      item.reason ? h('p', { className: 'muted small' }, item.reason) : null,
      h('pre', { className: 'arguments' }, item.argumentsJson),
    ),
    h(
      'div',
      { className: 'actions', role: 'group', 'aria-label': `Decide ${label}` },
      h('button', { onclick: () => void decide([item.id], 'once') }, icon('check'), ' Approve once'),
      h('button', { className: 'secondary', onclick: () => void decide([item.id], 'deny') }, icon('close'), ' Deny'),
      item.inputSchemaJson ? h('button', { className: 'secondary', 'aria-expanded': String(Boolean(editing)), onclick: () => startEdit(item) }, icon('edit'), ' Approve with changes…') : null,
      h(
        'span',
        { className: 'menu-anchor' },
        h(
          'button',
          {
            className: 'secondary',
            'aria-haspopup': 'menu',
            'aria-expanded': String(menuOpen),
            'aria-label': `More decisions for ${label}`,
            'data-focus-key': `more-${item.id}`,
            onclick: () => {
              pendingState.menuFor = menuOpen ? undefined : item.id;
              render();
              app.querySelector<HTMLElement>(`[data-request-id="${CSS.escape(item.id)}"] [role="menuitem"]`)?.focus();
            },
          },
          'More ',
          icon('chevron-down'),
        ),
        menuOpen ? decisionMenu(item) : null,
      ),
    ),
    pendingState.denyReasonFor === item.id
      ? reasonForm(`deny-reason-${item.id}`, 'Deny with this reason', pendingState.denyReason, (text) => (pendingState.denyReason = text), () => void decide([item.id], 'deny', pendingState.denyReason))
      : null,
    editing ? editForm(item, editing) : null,
  );
}

function decisionMenu(item: PendingItem): HTMLElement {
  return h(
    'div',
    {
      className: 'menu',
      role: 'menu',
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key !== 'Escape') return;
        pendingState.menuFor = undefined;
        render();
      },
    },
    MENU.filter((entry) => entry.action !== 'edit' || item.inputSchemaJson).map((entry) =>
      h(
        'button',
        {
          role: 'menuitem',
          className: entry.action === 'denyAlways' ? 'menuitem danger-text' : 'menuitem',
          onclick: () => {
            pendingState.menuFor = undefined;
            if (entry.action === 'edit') return startEdit(item);
            if (entry.action === 'denyReason') {
              pendingState.denyReasonFor = item.id;
              pendingState.denyReason = '';
              render();
              document.getElementById(`deny-reason-${item.id}`)?.focus();
              return;
            }
            void decide([item.id], entry.action);
          },
        },
        icon(entry.icon),
        ` ${entry.label}`,
      ),
    ),
  );
}

function reasonForm(id: string, submitLabel: string, value: string, onInput: (text: string) => void, submit: () => void): HTMLElement {
  return h(
    'form',
    {
      className: 'inline-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        submit();
      },
    },
    h('label', { for: id }, 'Reason the agent will see'),
    h('input', {
      id,
      type: 'text',
      value,
      maxlength: ui.snapshot?.maxReasonLength,
      'data-focus-key': id,
      placeholder: 'e.g. use the staging repository instead',
      oninput: (event: Event) => onInput((event.target as HTMLInputElement).value),
    }),
    h('button', { type: 'submit', className: 'danger' }, submitLabel),
  );
}

/** Opens the JSON editor for a call, from its card, its menu or the notification's Details. */
export function startEdit(item: PendingItem): void {
  pendingState.edit = { id: item.id, text: item.argumentsEditable, scope: 'once' };
  pendingState.menuFor = undefined;
  render();
  document.getElementById(`edit-arguments-${item.id}`)?.focus();
}

/**
 * The arguments as JSON, checked by the host against the tool's input schema and the policy's
 * deny rules when submitted; what is wrong is shown under the text, and nothing is decided.
 */
function editForm(item: PendingItem, edit: PendingEdit): HTMLElement {
  const id = `edit-arguments-${item.id}`;
  const textarea = h('textarea', {
    id,
    rows: String(editorRows(edit.text)),
    spellcheck: 'false',
    value: edit.text,
    'data-focus-key': id,
    oninput: (event: Event) => (edit.text = (event.target as HTMLTextAreaElement).value),
    // The text as its default too, so what the editor starts from is readable as the element's text.
  }, edit.text);
  if (edit.error) {
    textarea.setAttribute('aria-invalid', 'true');
    textarea.setAttribute('aria-describedby', `${id}-error`);
  }
  return h(
    'form',
    {
      className: 'inline-form edit-form',
      'aria-label': `Approve ${item.server} › ${item.tool} with changed arguments`,
      onsubmit: (event: Event) => {
        event.preventDefault();
        void approveWithChanges(item, edit);
      },
    },
    h('label', { for: id }, 'Arguments to run instead (JSON); the agent is told what you changed'),
    textarea,
    edit.error ? h('div', { id: `${id}-error`, className: 'error-text field-error', role: 'alert' }, edit.error) : null,
    h(
      'details',
      {},
      h('summary', { className: 'muted small' }, `Input schema of ${item.tool}`),
      h('pre', { className: 'arguments' }, item.inputSchemaJson ?? ''),
    ),
    h(
      'div',
      { className: 'actions' },
      h('label', { for: `edit-scope-${item.id}` }, 'Approve'),
      h(
        'select',
        { id: `edit-scope-${item.id}`, 'data-focus-key': `edit-scope-${item.id}`, onchange: (event: Event) => (edit.scope = (event.target as HTMLSelectElement).value as EditScope) },
        EDIT_SCOPES.map(({ scope, label }) => h('option', { value: scope, selected: scope === edit.scope }, label)),
      ),
      h('button', { type: 'submit' }, icon('check'), ' Approve with these arguments'),
      h(
        'button',
        {
          type: 'button',
          className: 'secondary',
          onclick: () => {
            edit.text = item.argumentsEditable;
            edit.error = undefined;
            render();
          },
        },
        'Reset',
      ),
      h(
        'button',
        {
          type: 'button',
          className: 'secondary',
          onclick: () => {
            pendingState.edit = undefined;
            render();
          },
        },
        'Cancel',
      ),
    ),
  );
}

async function approveWithChanges(item: PendingItem, edit: PendingEdit): Promise<void> {
  const done = await act(
    async () => (await client.request('approveWithChanges', { id: item.id, scope: edit.scope, arguments: edit.text }), true),
    (errors) => (edit.error = errors.arguments ?? Object.values(errors)[0]),
  );
  if (!done) return;
  pendingState.edit = undefined;
  pendingState.selected.delete(item.id);
  say(`Approved ${item.server} › ${item.tool} with your changes; the agent is told what you changed.`);
}

async function decide(ids: readonly string[], action: DecideAction, reason?: string): Promise<void> {
  if (ids.length === 0) return;
  const result = await act(() => client.request('decide', { ids, action, ...(reason ? { reason } : {}) }));
  if (!result) return;
  for (const id of ids) pendingState.selected.delete(id);
  pendingState.denyReasonFor = undefined;
  pendingState.batchDenying = false;
  pendingState.batchReason = '';
  say(decidedMessage(action, result));
}

/** The host asked for a call's editor (Details → "Approve with changes…"). */
export function openEditor(id: string): void {
  const item = ui.snapshot?.pending.find((candidate) => candidate.id === id);
  if (item?.inputSchemaJson) startEdit(item);
}

export function tickCountdowns(): void {
  const now = Date.now();
  for (const element of Array.from(app.querySelectorAll<HTMLElement>('[data-expires]'))) {
    const text = formatRemaining(element.dataset.expires ?? '', now);
    if (element.textContent !== text) element.textContent = text;
    element.classList.toggle('urgent', Date.parse(element.dataset.expires ?? '') - now < 60_000);
  }
}
