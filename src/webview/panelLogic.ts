import { PANEL_TABS } from '../editor/panel/protocol';
import type { DecideAction, EditScope, PanelTab, PendingItem } from '../editor/panel/protocol';

/**
 * The panel's decisions that do not need a DOM, so they are tested in plain Node
 * (test/unit/panelLogic.test.ts); the tab modules only draw and wire them up.
 */

/** WAI-ARIA tabs: arrow keys move between tabs (wrapping), Home and End jump; other keys do nothing. */
export function nextTab(key: string, tab: PanelTab): PanelTab | undefined {
  const index = PANEL_TABS.indexOf(tab);
  if (key === 'ArrowRight') return PANEL_TABS[(index + 1) % PANEL_TABS.length];
  if (key === 'ArrowLeft') return PANEL_TABS[(index - 1 + PANEL_TABS.length) % PANEL_TABS.length];
  if (key === 'Home') return PANEL_TABS[0];
  if (key === 'End') return PANEL_TABS[PANEL_TABS.length - 1];
  return undefined;
}

/** A held call's arguments being edited in the Pending tab ("approve with changes"). */
export interface PendingEdit {
  readonly id: string;
  text: string;
  scope: EditScope;
  /** Why the host refused the last submission (bad JSON, the schema, a deny rule). */
  error?: string;
}

export interface PendingSelection {
  selected: Set<string>;
  denyReasonFor: string | undefined;
  menuFor?: string | undefined;
  edit?: PendingEdit | undefined;
  batchDenying?: boolean;
}

/** After a snapshot: calls decided elsewhere or expired leave the selection, the menu, the reason box and the editor. */
export function forgetSettled(state: PendingSelection, pending: readonly PendingItem[]): void {
  const ids = new Set(pending.map((item) => item.id));
  for (const id of [...state.selected]) if (!ids.has(id)) state.selected.delete(id);
  if (state.denyReasonFor && !ids.has(state.denyReasonFor)) state.denyReasonFor = undefined;
  if (state.menuFor && !ids.has(state.menuFor)) state.menuFor = undefined;
  if (state.edit && !ids.has(state.edit.id)) state.edit = undefined;
  if (state.selected.size === 0) state.batchDenying = false;
}

/** Rows for the JSON editor: the text's lines, between 4 and 20. */
export function editorRows(text: string): number {
  return Math.min(20, Math.max(4, text.split('\n').length + 1));
}

/** "Select the 4 from github › list_issues": the kinds of call waiting more than once, in order of arrival. */
export function pendingGroups(items: readonly PendingItem[]): { label: string; ids: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    const label = `${item.server} › ${item.tool}`;
    groups.set(label, [...(groups.get(label) ?? []), item.id]);
  }
  return [...groups].filter(([, ids]) => ids.length > 1).map(([label, ids]) => ({ label, ids }));
}

/** The message line after a batch decision. */
export function decidedMessage(action: DecideAction, result: { decided: number; failures: readonly string[] }): string {
  const verb = action === 'deny' || action === 'denyAlways' ? 'Denied' : 'Approved';
  return `${verb} ${result.decided} call${result.decided === 1 ? '' : 's'}.${result.failures.length ? ` Not decided: ${result.failures.join(' ')}` : ''}`;
}
