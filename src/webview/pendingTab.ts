import { formatRemaining } from '../editor/panel/format';
import type { DecideAction, PanelSnapshot, PendingItem } from '../editor/panel/protocol';
import { act, app, client, render, say, ui } from './app';
import { h, icon } from './dom';
import { decidedMessage, pendingGroups } from './panelLogic';
import type { Child } from './dom';
import { emptyState } from './forms';

/** The Pending tab's own state: what is ticked, folded, and which card is asking for a reason. */
export const pendingState = {
  selected: new Set<string>(),
  /** Argument blocks the user folded; kept across snapshots, which rebuild the list. */
  collapsed: new Set<string>(),
  denyReasonFor: undefined as string | undefined,
  denyReason: '',
};

export function pendingTab(snapshot: PanelSnapshot): Child {
  const items = snapshot.pending;
  if (items.length === 0) {
    return emptyState(
      snapshot.gateway.running
        ? 'No calls are waiting for your approval. When an agent makes a call that the policy says to ask about, it appears here at once.'
        : `No calls can wait while the gateway is ${snapshot.gateway.message}.`,
    );
  }
  const allSelected = items.every((item) => pendingState.selected.has(item.id));
  const selectedCount = items.filter((item) => pendingState.selected.has(item.id)).length;
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
            pendingState.selected = new Set(checked ? items.map((item) => item.id) : []);
            render();
          },
        }),
        ` Select all (${items.length})`,
      ),
      groupSelectors(items),
      h('button', { disabled: selectedCount === 0, onclick: () => void decide([...pendingState.selected], 'once') }, icon('check-all'), ` Approve ${selectedCount || ''} selected`),
      h('button', { className: 'secondary', disabled: selectedCount === 0, onclick: () => void decide([...pendingState.selected], 'deny') }, icon('circle-slash'), ` Deny ${selectedCount || ''} selected`),
    ),
    h('ul', { className: 'pending-list', 'aria-label': 'Calls waiting for approval' }, items.map(pendingCard)),
  ];
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
  const denying = pendingState.denyReasonFor === item.id;
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
    h('p', { className: 'muted' }, item.matchedRule ? `Asked by rule ${item.matchedRule}` : 'Asked by the defaults', item.reason ? `: ${item.reason}` : ''),
    h(
      'details',
      {
        open: !pendingState.collapsed.has(item.id),
        ontoggle: (event: Event) => ((event.target as HTMLDetailsElement).open ? pendingState.collapsed.delete(item.id) : pendingState.collapsed.add(item.id)),
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
            pendingState.denyReasonFor = denying ? undefined : item.id;
            pendingState.denyReason = '';
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
              void decide([item.id], 'deny', pendingState.denyReason);
            },
          },
          h('label', { for: `deny-reason-${item.id}` }, 'Reason the agent will see'),
          h('input', {
            id: `deny-reason-${item.id}`,
            type: 'text',
            value: pendingState.denyReason,
            maxlength: ui.snapshot?.maxReasonLength,
            'data-focus-key': `deny-reason-${item.id}`,
            placeholder: 'e.g. use the staging repository instead',
            oninput: (event: Event) => (pendingState.denyReason = (event.target as HTMLInputElement).value),
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
  for (const id of ids) pendingState.selected.delete(id);
  pendingState.denyReasonFor = undefined;
  say(decidedMessage(action, result));
}

export function tickCountdowns(): void {
  const now = Date.now();
  for (const element of Array.from(app.querySelectorAll<HTMLElement>('[data-expires]'))) {
    const text = formatRemaining(element.dataset.expires ?? '', now);
    if (element.textContent !== text) element.textContent = text;
    element.classList.toggle('urgent', Date.parse(element.dataset.expires ?? '') - now < 60_000);
  }
}
