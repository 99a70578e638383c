import { formatAgo } from '../editor/panel/format';
import { PanelRequestError } from '../editor/panel/protocol';
import type { Decision, FieldErrors, PanelSnapshot, RuleForm, TryCallResult } from '../editor/panel/protocol';
import { act, client, render, say, ui } from './app';
import { h, icon } from './dom';
import type { Child } from './dom';
import { decisionBadge, emptyState, field, savingForm, textArea, textInput } from './forms';

const EMPTY_RULE_FORM: RuleForm = { tool: '', when: '', decision: 'allow', reason: '' };

/** The Rules tab's own state: the rule form and the "try a call" box. */
export const rulesState = {
  ruleForm: undefined as { id?: string; form: RuleForm; errors: FieldErrors } | undefined,
  tryTool: '',
  tryArgs: '',
  tryResult: undefined as TryCallResult | undefined,
  tryError: undefined as string | undefined,
};

export function rulesTab(snapshot: PanelSnapshot): Child {
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
      rulesState.ruleForm ? ruleFormView() : null,
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
                  h('td', {}, rule.reason ?? '', rule.fingerprint ? h('div', { className: 'muted small', title: `fingerprint ${rule.fingerprint}` }, 'Stops applying if the tool changes (its description or inputs)') : null),
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
            { className: 'grants' },
            h('thead', {}, h('tr', {}, ['Tool', 'Allowed with these arguments', 'Given', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              grants.map((grant) =>
                h(
                  'tr',
                  { 'data-grant-id': grant.id },
                  h('td', {}, h('code', {}, grant.tool)),
                  h(
                    'td',
                    {},
                    grant.coversShown ? h('code', { className: 'grant-arguments' }, grant.covers) : h('span', { className: 'warning-text' }, grant.covers),
                    h('div', { className: 'muted small' }, `${grant.id} · arguments hash ${grant.argumentsHash.slice(0, 12)}…`),
                  ),
                  h('td', {}, grant.createdAt ? formatAgo(grant.createdAt, Date.now()) : ''),
                  h('td', {}, h('button', { className: 'secondary', 'aria-label': `Revoke grant ${grant.id}`, onclick: () => void act(() => client.request('removeGrant', { id: grant.id })) }, 'Revoke')),
                ),
              ),
            ),
          ),
    ),
  ];
}

function openRuleForm(id?: string, form: RuleForm = { ...EMPTY_RULE_FORM, tool: rulesState.tryTool }): void {
  rulesState.ruleForm = { ...(id ? { id } : {}), form: { ...form }, errors: {} };
  render();
  document.getElementById('rule-tool')?.focus();
}

function ruleFormView(): HTMLElement {
  const state = rulesState.ruleForm!;
  const set = (patch: Partial<RuleForm>): void => {
    state.form = { ...state.form, ...patch };
  };
  return savingForm(
    {
      label: state.id ? `Edit rule ${state.id}` : 'Add a rule',
      heading: state.id ? `Edit rule ${state.id}` : 'Add a rule',
      submitLabel: 'Save rule',
      save: () => client.request('saveRule', { ...(state.id ? { id: state.id } : {}), rule: state.form }),
      onFieldErrors: (errors) => (state.errors = errors),
      onSaved: (result) => {
        rulesState.ruleForm = undefined;
        say(`Saved rule ${result.id}.`);
      },
      onCancel: () => (rulesState.ruleForm = undefined),
    },
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
  );
}

let tryTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleTryCall(): void {
  clearTimeout(tryTimer);
  tryTimer = setTimeout(() => void runTryCall(), 250);
}

export async function runTryCall(): Promise<void> {
  if (!rulesState.tryTool.trim()) {
    rulesState.tryResult = undefined;
    rulesState.tryError = undefined;
    render();
    return;
  }
  try {
    rulesState.tryResult = await client.request('tryCall', { tool: rulesState.tryTool, arguments: rulesState.tryArgs });
    rulesState.tryError = undefined;
  } catch (error) {
    rulesState.tryResult = undefined;
    rulesState.tryError = error instanceof PanelRequestError && error.fieldErrors ? Object.values(error.fieldErrors).join(' ') : (error as Error).message;
  }
  render();
}

function tryCallView(): HTMLElement {
  const result = rulesState.tryResult;
  return h(
    'section',
    { className: 'card try', 'aria-label': 'Try a call' },
    h('h2', {}, icon('beaker'), ' Try a call'),
    h('p', { className: 'muted' }, 'Pick a tool and type arguments: the real policy says what would happen, and which rule decides.'),
    field('try-tool', 'Tool', textInput('try-tool', rulesState.tryTool, (value) => ((rulesState.tryTool = value), scheduleTryCall()), { list: 'tool-names', placeholder: 'demo__write_note' }), undefined),
    field('try-args', 'Arguments (JSON)', textArea('try-args', rulesState.tryArgs, (value) => ((rulesState.tryArgs = value), scheduleTryCall()), { placeholder: '{"name": "notes.txt"}' }), undefined),
    h(
      'div',
      { id: 'try-result', role: 'status', 'aria-live': 'polite', className: 'try-result' },
      rulesState.tryError
        ? h('span', { className: 'error-text' }, rulesState.tryError)
        : result
          ? [
              h('p', {}, decisionBadge(result.decision), ' ', tryOutcome(result.decision), ': ', result.why, '.'),
              result.details ? h('p', { className: 'muted small' }, `Details: ${result.details}`) : null,
              result.suspended ? h('div', { className: 'warning-text' }, icon('warning'), ' Suspended: the tool changed since this was approved.') : null,
            ]
          : h('span', { className: 'muted' }, 'Type a tool name to see its decision.'),
    ),
  );
}

function tryOutcome(decision: Decision): string {
  if (decision === 'allow') return 'It would run at once';
  if (decision === 'deny') return 'It would be refused';
  return 'It would wait for your approval';
}
