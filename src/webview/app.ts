import { PanelRequestError, RequestClient, parsePanelState } from '../editor/panel/protocol';
import type { FieldErrors, PanelSnapshot, PanelState, PanelTab, WebviewToHost } from '../editor/panel/protocol';
import { h } from './dom';

/**
 * What every tab shares: the host connection, the state the panel as a whole keeps (tab, filter,
 * snapshot, message line), and one way to run a request and to re-render. Each tab keeps its own
 * state in its own module; the shell (main.ts) says what a render draws.
 */

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
export const postMessage = (message: WebviewToHost): void => vscode.postMessage(message);
export const client = new RequestClient((message) => vscode.postMessage(message));
export const app = document.getElementById('app') as HTMLElement;


/** What the panel as a whole keeps; each tab's forms, selections and results live in its own module. */
export const ui = {
  tab: 'pending' as PanelTab,
  toolFilter: '',
  snapshot: undefined as PanelSnapshot | undefined,
  /** The one destructive button waiting for its second click (remove a server, a rule, a key). */
  confirming: undefined as string | undefined,
  message: undefined as { kind: 'info' | 'error'; text: string } | undefined,
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

export function saveState(): void {
  const state: PanelState = { tab: ui.tab, ...(ui.toolFilter ? { toolFilter: ui.toolFilter } : {}) };
  vscode.setState(state);
}


/** Runs a request and shows its failure in the panel's message line; field errors go to `onFieldErrors`. */
export async function act<T>(run: () => Promise<T>, onFieldErrors?: (errors: FieldErrors) => void): Promise<T | undefined> {
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

export function say(text: string): void {
  ui.message = { kind: 'info', text };
  render();
}

let view: () => HTMLElement = () => h('div', {});
const afterRender: (() => void)[] = [];

/** Called once by the shell: what a render draws, and what runs after each render. */
export function mount(draw: () => HTMLElement, ...after: (() => void)[]): void {
  view = draw;
  afterRender.push(...after);
}

/** Re-renders everything, keeping focus and caret where the user left them. */
export function render(): void {
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
  for (const hook of afterRender) hook();
}
