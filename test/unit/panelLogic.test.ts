import * as assert from 'node:assert/strict';
import type { PendingItem } from '../../src/editor/panel/protocol';
import { decidedMessage, forgetSettled, nextTab, pendingGroups } from '../../src/webview/panelLogic';

function pending(id: string, server = 'demo', tool = 'write_note'): PendingItem {
  return { id, client: 'codex', server, tool, qualifiedName: `${server}__${tool}`, argumentsJson: '{}', argumentsSummary: '', createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T00:10:00Z' };
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
