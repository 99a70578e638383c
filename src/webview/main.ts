import { isPanelTab } from '../editor/panel/protocol';
import type { HostToWebview, PanelSnapshot, PanelTab } from '../editor/panel/protocol';
import { act, client, mount, postMessage, render, saveState, ui } from './app';
import { clientsTab, forgetCreatedKey } from './clientsTab';
import { h, icon } from './dom';
import type { Child } from './dom';
import { historyTab, loadHistory, scheduleHistory } from './historyTab';
import { forgetSettled, nextTab } from './panelLogic';
import { openEditor, pendingState, pendingTab, tickCountdowns } from './pendingTab';
import { rulesState, rulesTab, runTryCall } from './rulesTab';
import { serversTab } from './serversTab';

/**
 * The policy panel's shell: the header, the tab list, the banners, and the messages from the
 * host. Each tab draws itself from the snapshot (pendingTab.ts, serversTab.ts, rulesTab.ts,
 * historyTab.ts, clientsTab.ts); app.ts holds what they share.
 */

const TAB_LABELS: Record<PanelTab, string> = { pending: 'Pending', servers: 'Servers & tools', rules: 'Rules', history: 'History', clients: 'Clients' };

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const message = event.data;
  if (!message || typeof message !== 'object') return;
  if (client.handleReply(message)) return;
  if (message.type !== 'notification') return;
  if (message.method === 'snapshot') {
    ui.snapshot = message.params;
    forgetSettled(pendingState, message.params.pending);
    render();
    if (ui.tab === 'rules' && rulesState.tryTool) void runTryCall();
    if (ui.tab === 'history') scheduleHistory();
  } else if (message.method === 'showTab' && isPanelTab(message.params.tab)) {
    switchTab(message.params.tab);
    if (message.params.tab === 'pending' && typeof message.params.edit === 'string') openEditor(message.params.edit);
  } else if (message.method === 'hidden') {
    forgetCreatedKey();
    render();
  }
});

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
  const next = nextTab(event.key, tab);
  if (!next) return;
  event.preventDefault();
  switchTab(next);
  document.getElementById(`tab-${next}`)?.focus();
}

function switchTab(tab: PanelTab): void {
  // A key is shown once: leaving the tab is as good as pressing Done.
  if (tab !== ui.tab) forgetCreatedKey();
  ui.tab = tab;
  ui.message = undefined;
  ui.confirming = undefined;
  saveState();
  render();
  if (tab === 'history') void loadHistory();
  if (tab === 'rules' && rulesState.tryTool) void runTryCall();
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

mount(view, tickCountdowns);
setInterval(tickCountdowns, 1000);

render();
postMessage({ type: 'ready', state: { tab: ui.tab, ...(ui.toolFilter ? { toolFilter: ui.toolFilter } : {}) } });

