import type { FieldErrors } from '../editor/panel/protocol';
import { act, render } from './app';
import { h, icon } from './dom';
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

export interface SavingFormOptions<T> {
  /** The form's accessible name ("Edit rule r1", "Add a server"). */
  readonly label: string;
  readonly heading: string;
  readonly submitLabel: string;
  /** The request that saves the form; a FieldValidationError's fields come back to `onFieldErrors`. */
  readonly save: () => Promise<T>;
  readonly onFieldErrors: (errors: FieldErrors) => void;
  readonly onSaved: (result: T) => void;
  readonly onCancel: () => void;
}

/** The card both the server and the rule form are: a heading, the fields, Save and Cancel, errors shown inline. */
export function savingForm<T>(options: SavingFormOptions<T>, ...fields: Child[]): HTMLElement {
  return h(
    'form',
    {
      className: 'card form',
      'aria-label': options.label,
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(options.save, (errors) => (options.onFieldErrors(errors), render())).then((result) => {
          // act() answers undefined when the request failed; it has already said why.
          if (result !== undefined) options.onSaved(result);
        });
      },
    },
    h('h2', {}, options.heading),
    fields,
    h('div', { className: 'actions' }, h('button', { type: 'submit' }, icon('save'), ` ${options.submitLabel}`), h('button', { type: 'button', className: 'secondary', onclick: () => (options.onCancel(), render()) }, 'Cancel')),
  );
}
