import { HAPPENED_FILTERS } from '../editor/panel/protocol';
import type { HistoryFilter, HistoryRow } from '../editor/panel/protocol';
import { act, client, render, say, ui } from './app';
import { h, icon } from './dom';
import type { Child } from './dom';
import { emptyState, field, textInput } from './forms';

/** The History tab's own state: its filter and the rows last loaded. */
export const historyState = {
  historyFilter: {} as HistoryFilter,
  history: undefined as { rows: readonly HistoryRow[]; total: number } | undefined,
};

let historyTimer: ReturnType<typeof setTimeout> | undefined;
export function scheduleHistory(): void {
  clearTimeout(historyTimer);
  historyTimer = setTimeout(() => void loadHistory(), 300);
}

export async function loadHistory(): Promise<void> {
  const result = await act(() => client.request('history', { filter: historyState.historyFilter, limit: 200 }));
  if (!result) return;
  historyState.history = result;
  if (ui.tab === 'history') render();
}

export function historyTab(): Child {
  const filter = historyState.historyFilter;
  const setFilter = (patch: Partial<HistoryFilter>): void => {
    historyState.historyFilter = { ...historyState.historyFilter, ...patch };
    scheduleHistory();
  };
  const history = historyState.history;
  return [
    h(
      'form',
      { className: 'filters', 'aria-label': 'Filter the history', onsubmit: (event: Event) => (event.preventDefault(), void loadHistory()) },
      field('history-tool', 'Tool', textInput('history-tool', filter.tool ?? '', (value) => setFilter({ tool: value }), { placeholder: 'github__*' }), undefined),
      field(
        'history-decision',
        'What happened',
        h(
          'select',
          { id: 'history-decision', 'data-focus-key': 'history-decision', onchange: (event: Event) => setFilter({ decision: (event.target as HTMLSelectElement).value }) },
          HAPPENED_FILTERS.map(({ value, label }) => h('option', { value, selected: (filter.decision ?? '') === value }, label)),
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
              h('thead', {}, h('tr', {}, ['Time', 'What happened', 'Client', 'Tool', 'Detail'].map((title) => h('th', { scope: 'col' }, title)))),
              h(
                'tbody',
                {},
                history.rows.map((row) =>
                  h(
                    'tr',
                    { 'data-event': row.event },
                    h('td', { title: row.ts, className: 'nowrap' }, new Date(row.ts).toLocaleString()),
                    h('td', {}, row.happened),
                    h('td', {}, row.client),
                    h('td', {}, h('code', {}, row.tool)),
                    h('td', { className: 'small' }, row.detail ? h('div', {}, row.detail) : null, h('div', { className: 'muted machine' }, row.machine)),
                  ),
                ),
              ),
            ),
          ],
  ];
}

async function exportHistory(format: 'jsonl' | 'csv'): Promise<void> {
  const result = await act(() => client.request('exportHistory', { filter: historyState.historyFilter, format }));
  if (result?.file) say(`Exported ${result.count} entries to ${result.file}.`);
}
