import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApprovalQueue, type NewRequest } from '../../src/core/approvals/approvalQueue';
import { tempDir, until } from '../helpers/gatewayHarness';

function heldCall(n: number): NewRequest {
  return { clientId: 'key:test', clientName: 'test', sessionId: 's1', server: 'fs', tool: 'fs__write', originalName: 'write', arguments: { path: `/tmp/${n}` } };
}

function onDisk(home: string): Array<{ id: string; status: string }> {
  return (JSON.parse(fs.readFileSync(path.join(home, 'pending.json'), 'utf8')) as { requests: Array<{ id: string; status: string }> }).requests;
}

describe('pending.json written off the event loop', () => {
  it('ends with every request and decision of a burst, written in the background', async () => {
    const home = tempDir();
    const queue = new ApprovalQueue(home);
    const ids = Array.from({ length: 5 }, (_, n) => queue.create(heldCall(n)).request.id);
    queue.decide(ids[0], { kind: 'approve', scope: 'once', channel: 'test' });
    await until(() => fs.existsSync(path.join(home, 'pending.json')) && onDisk(home).length === 5 && onDisk(home)[0].status === 'approved');
    queue.decide(ids[4], { kind: 'deny', channel: 'test' });
    await until(() => onDisk(home).find((r) => r.id === ids[4])?.status === 'denied');
    assert.deepEqual(onDisk(home).map((r) => r.status), ['approved', 'pending', 'pending', 'pending', 'denied']);
    assert.deepEqual(fs.readdirSync(home).filter((name) => name.endsWith('.tmp')), [], 'no temporary file is left behind');
    queue.dispose();
  });

  it('keeps what dispose wrote when a background write finishes after it', async () => {
    const home = tempDir();
    const queue = new ApprovalQueue(home);
    const first = queue.create(heldCall(1)).request.id;
    // Let the background write of the first request start, then decide and dispose at once:
    // dispose writes synchronously, and the older background write must not replace it.
    await new Promise((resolve) => setImmediate(resolve));
    queue.decide(first, { kind: 'approve', scope: 'once', channel: 'test' });
    queue.dispose();
    assert.equal(onDisk(home)[0].status, 'approved');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(onDisk(home)[0].status, 'approved', 'still the newest state after the background write settled');
    assert.deepEqual(fs.readdirSync(home).filter((name) => name.endsWith('.tmp')), []);
  });
});
