import { formatAgo } from '../editor/panel/format';
import type { FieldErrors, PanelSnapshot } from '../editor/panel/protocol';
import { act, client, render, say, ui } from './app';
import { h, icon } from './dom';
import type { Child } from './dom';
import { emptyState, field, textInput } from './forms';

/** The Clients tab's own state: the new-key form and the key shown once. */
export const clientsState = {
  newKeyLabel: '',
  newKeyErrors: {} as FieldErrors,
  createdKey: undefined as { label: string; key: string } | undefined,
};

/** The one-time key leaves the page: after Done, a tab switch, or the panel going out of sight. */
export function forgetCreatedKey(): void {
  clientsState.createdKey = undefined;
}

export function clientsTab(snapshot: PanelSnapshot): Child {
  const now = Date.now();
  const { oauth, apiKeys } = snapshot.clients;
  const revokeButton = (key: string, label: string, run: () => Promise<unknown>): HTMLElement =>
    h(
      'button',
      {
        className: 'danger',
        'aria-label': ui.confirming === key ? `Confirm revoking ${label}` : `Revoke ${label}`,
        onclick: () => {
          if (ui.confirming !== key) return void ((ui.confirming = key), render());
          ui.confirming = undefined;
          void act(run).then(() => say(`Revoked ${label}.`));
        },
      },
      ui.confirming === key ? 'Click again to revoke' : 'Revoke',
    );
  return [
    h(
      'section',
      { 'aria-label': 'OAuth clients' },
      h('h2', {}, 'Signed-in clients (OAuth)'),
      oauth.length === 0
        ? emptyState('No client has signed in yet. Connect Codex with "codex mcp login gatehouse" and approve the sign-in in the editor.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Client', 'Registered', 'Last used', 'Details', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              oauth.map((entry) =>
                h(
                  'tr',
                  { 'data-client-id': entry.id },
                  h('td', {}, entry.name, entry.distinguisher ? h('div', { className: 'muted small' }, entry.distinguisher) : null),
                  h('td', { title: entry.createdAt }, new Date(entry.createdAt).toLocaleString()), h('td', {}, formatAgo(entry.lastUsedAt, now)),
                  h('td', { className: 'small' }, entry.detail),
                  h('td', {}, revokeButton(`client-${entry.id}`, entry.distinguisher ? `${entry.name} (${entry.distinguisher})` : entry.name, () => client.request('revokeClient', { clientId: entry.id }))),
                ),
              ),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-label': 'API keys' },
      h('h2', {}, 'API keys'),
      clientsState.createdKey
        ? h(
            'div',
            { className: 'banner info created-key', role: 'status' },
            h('p', {}, `The key for "${clientsState.createdKey.label}" is shown only this once: it disappears when you press Done or leave this tab. Copy it now:`),
            h('code', { className: 'secret' }, clientsState.createdKey.key),
            h(
              'div',
              { className: 'actions' },
              h('button', { onclick: () => void act(() => client.request('copy', { text: clientsState.createdKey!.key })).then(() => say('Copied the key to the clipboard.')) }, icon('copy'), ' Copy key'),
              h('button', { className: 'secondary', onclick: () => (forgetCreatedKey(), render()) }, 'Done'),
            ),
          )
        : null,
      h(
        'form',
        {
          className: 'inline-form',
          'aria-label': 'Create an API key',
          novalidate: true,
          onsubmit: (event: Event) => {
            event.preventDefault();
            const label = clientsState.newKeyLabel.trim();
            void act(
              () => client.request('createApiKey', { label }),
              (errors) => ((clientsState.newKeyErrors = errors), render()),
            ).then((result) => {
              if (!result) return;
              clientsState.createdKey = { label, key: result.key };
              clientsState.newKeyLabel = '';
              clientsState.newKeyErrors = {};
              render();
            });
          },
        },
        field('key-label', 'New key for', textInput('key-label', clientsState.newKeyLabel, (value) => (clientsState.newKeyLabel = value), { placeholder: 'codex' }), clientsState.newKeyErrors.label),
        h('button', { type: 'submit' }, icon('key'), ' Create API key'),
      ),
      apiKeys.length === 0
        ? emptyState('No API keys. Create one for a client that cannot sign in with OAuth; send it as "Authorization: Bearer <key>".')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Label', 'Created', 'Last used', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              apiKeys.map((key) =>
                h('tr', {}, h('td', {}, key.label), h('td', {}, formatAgo(key.createdAt, now)), h('td', {}, formatAgo(key.lastUsedAt, now)), h('td', {}, revokeButton(`key-${key.label}`, `the key "${key.label}"`, () => client.request('revokeApiKey', { label: key.label })))),
              ),
            ),
          ),
    ),
  ];
}
