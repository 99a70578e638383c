import * as assert from 'node:assert/strict';
import { PanelRequestError, RequestClient, parsePanelState, parseWebviewMessage } from '../../src/editor/panel/protocol';
import type { HostToWebview, WebviewToHost } from '../../src/editor/panel/protocol';

/** A webview-side client whose posted messages are collected instead of crossing to a host. */
function recordingClient(): { client: RequestClient; sent: WebviewToHost[] } {
  const sent: WebviewToHost[] = [];
  return { client: new RequestClient((message) => sent.push(message)), sent };
}

describe('panel message protocol', () => {
  it('numbers each request and resolves it with the reply of the same id, whatever the order', async () => {
    const { client, sent } = recordingClient();
    const first = client.request('tryCall', { tool: 'demo__echo', arguments: '{}' });
    const second = client.request('removeRule', { id: 'rule-1' });
    assert.deepEqual(
      sent.map((message) => (message.type === 'request' ? [message.id, message.method] : [])),
      [
        [1, 'tryCall'],
        [2, 'removeRule'],
      ],
    );
    assert.equal(client.handleReply({ type: 'reply', id: 2, ok: true, result: null }), true);
    assert.equal(client.handleReply({ type: 'reply', id: 1, ok: true, result: { decision: 'allow', source: 'default' } }), true);
    assert.deepEqual(await first, { decision: 'allow', source: 'default' });
    assert.equal(await second, null);
    assert.equal(client.outstanding, 0);
  });

  it('rejects a request whose reply failed, carrying the field errors for inline display', async () => {
    const { client } = recordingClient();
    const saving = client.request('saveServer', { name: 'bad name', form: { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' } });
    client.handleReply({ type: 'reply', id: 1, ok: false, error: 'Give the server a name', fieldErrors: { name: 'Give the server a name', command: 'Enter the command' } });
    await assert.rejects(saving, (error: unknown) => {
      assert.ok(error instanceof PanelRequestError);
      assert.deepEqual(error.fieldErrors, { name: 'Give the server a name', command: 'Enter the command' });
      return true;
    });
  });

  it('leaves notifications and replies it did not ask for to the caller', () => {
    const { client } = recordingClient();
    const notification: HostToWebview = { type: 'notification', method: 'showTab', params: { tab: 'rules' } };
    assert.equal(client.handleReply(notification), false);
    assert.equal(client.handleReply({ type: 'reply', id: 99, ok: true, result: null }), false);
  });

  it('accepts the ready handshake with or without a saved state', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'ready', state: { tab: 'rules', toolFilter: 'write' } }), { type: 'ready', state: { tab: 'rules', toolFilter: 'write' } });
    assert.deepEqual(parseWebviewMessage({ type: 'ready', state: { tab: 'nonsense' } }), { type: 'ready' });
  });

  it('refuses messages that are not well-formed requests for a known method', () => {
    for (const raw of [
      null,
      'decide',
      { type: 'request', id: 1, method: 'runShell', params: {} },
      { type: 'request', id: '1', method: 'decide', params: {} },
      { type: 'request', id: 1.5, method: 'decide', params: {} },
      { type: 'request', id: 1, method: 'decide' },
      { type: 'reply', id: 1, ok: true },
    ]) {
      assert.equal(parseWebviewMessage(raw), undefined, JSON.stringify(raw));
    }
    assert.deepEqual(parseWebviewMessage({ type: 'request', id: 3, method: 'removeGrant', params: { id: 'grant-1' } }), { type: 'request', id: 3, method: 'removeGrant', params: { id: 'grant-1' } });
  });

  it('restores only a known tab and a bounded filter from saved state', () => {
    assert.deepEqual(parsePanelState({ tab: 'history' }), { tab: 'history' });
    assert.equal(parsePanelState({ tab: 'settings' }), undefined);
    assert.equal(parsePanelState(undefined), undefined);
    assert.equal(parsePanelState({ tab: 'servers', toolFilter: 'x'.repeat(500) })?.toolFilter?.length, 200);
  });
});
