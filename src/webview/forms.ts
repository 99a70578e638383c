import { h } from './dom';
import type { Child } from './dom';

/** Form controls and small views every tab builds with; ids double as focus keys, so focus survives a re-render. */

export function decisionSelect(id: string, label: string, value: string, options: readonly string[], onChange: (value: string) => void): HTMLElement {
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

export function field(id: string, label: string, control: HTMLElement, error: string | undefined, hint?: string): HTMLElement {
  if (error) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${id}-error`);
  }
  return h('div', { className: 'field' }, h('label', { for: id }, label), control, hint ? h('div', { className: 'muted small' }, hint) : null, error ? h('div', { id: `${id}-error`, className: 'error-text field-error', role: 'alert' }, error) : null);
}

export function textInput(id: string, value: string, onInput: (value: string) => void, extra: Record<string, string> = {}): HTMLInputElement {
  return h('input', { id, type: 'text', value, 'data-focus-key': id, oninput: (event: Event) => onInput((event.target as HTMLInputElement).value), ...extra });
}

export function textArea(id: string, value: string, onInput: (value: string) => void, extra: Record<string, string> = {}): HTMLTextAreaElement {
  return h('textarea', { id, rows: '3', value, 'data-focus-key': id, oninput: (event: Event) => onInput((event.target as HTMLTextAreaElement).value), ...extra });
}

export function emptyState(text: string, ...extra: Child[]): HTMLElement {
  return h('div', { className: 'empty' }, h('p', {}, text), extra);
}

export function decisionBadge(decision: string): HTMLElement {
  return h('span', { className: `badge decision-${decision}` }, decision);
}
