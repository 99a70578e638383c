import * as assert from 'node:assert/strict';
import type { PendingItem } from '../../src/editor/panel/protocol';
import { decidedMessage, editorRows, forgetSettled, nextTab, pendingGroups } from '../../src/webview/panelLogic';

function pending(id: string, server = 'demo', tool = 'write_note'): PendingItem {
  return { id, client: 'codex', server, tool, qualifiedName: `${server}__${tool}`, argumentsJson: '{}', argumentsSummary: '', argumentsEditable: '{}', createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T00:10:00Z' };
}

describe('the panel webview, without a DOM', function () {
  it('moves between tabs with the arrow keys (wrapping), Home and End, and ignores other keys', function () {
    assert.equal(nextTab('ArrowRight', 'pending'), 'servers');
    assert.equal(nextTab('ArrowRight', 'clients'), 'pending');
    assert.equal(nextTab('ArrowLeft', 'pending'), 'clients');
    assert.equal(nextTab('Home', 'rules'), 'pending');
    assert.equal(nextTab('End', 'rules'), 'clients');
    assert.equal(nextTab('Enter', 'rules'), undefined);
  });

  it('drops calls decided elsewhere from the selection and closes their reason box', function () {
    const state = { selected: new Set(['a', 'b', 'gone']), denyReasonFor: 'gone' as string | undefined };
    forgetSettled(state, [pending('a'), pending('b')]);
    assert.deepEqual([...state.selected], ['a', 'b']);
    assert.equal(state.denyReasonFor, undefined);
    const keep = { selected: new Set<string>(), denyReasonFor: 'a' as string | undefined };
    forgetSettled(keep, [pending('a')]);
    assert.equal(keep.denyReasonFor, 'a');
  });

  it('offers "select all of a kind" only for kinds waiting more than once', function () {
    const groups = pendingGroups([pending('1'), pending('2', 'github', 'create_issue'), pending('3'), pending('4', 'github', 'list_issues')]);
    assert.deepEqual(groups, [{ label: 'demo › write_note', ids: ['1', '3'] }]);
  });

  it('says what a batch decision did, and what it could not do', function () {
    assert.equal(decidedMessage('once', { decided: 1, failures: [] }), 'Approved 1 call.');
    assert.equal(decidedMessage('denyAlways', { decided: 2, failures: ['This request was already approved.'] }), 'Denied 2 calls. Not decided: This request was already approved.');
  });
});

describe('the Pending tab editor and menu state, without a DOM', function () {
  it('forgets the open menu, the editor and the batch reason of calls that were decided elsewhere', function () {
    const state = { selected: new Set(['a']), denyReasonFor: undefined, menuFor: 'a', edit: { id: 'a', text: '{}', scope: 'once' as const }, batchDenying: true };
    forgetSettled(state, [pending('b')]);
    assert.equal(state.menuFor, undefined);
    assert.equal(state.edit, undefined);
    assert.equal(state.batchDenying, false);
    const kept = { selected: new Set(['b']), denyReasonFor: undefined, menuFor: 'b', edit: { id: 'b', text: '{"x":1}', scope: 'session' as const }, batchDenying: true };
    forgetSettled(kept, [pending('b')]);
    assert.deepEqual([kept.menuFor, kept.edit?.text, kept.batchDenying], ['b', '{"x":1}', true]);
  });

  it('sizes the JSON editor to its text, between 4 and 20 rows', function () {
    assert.equal(editorRows('{}'), 4);
    assert.equal(editorRows(JSON.stringify({ a: 1, b: 2, c: 3, d: 4, e: 5 }, null, 2)), 8);
    assert.equal(editorRows('\n'.repeat(100)), 20);
  });
});
