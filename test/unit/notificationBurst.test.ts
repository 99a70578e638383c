import * as assert from 'node:assert/strict';
import { NotificationBurst } from '../../src/editor/notificationBurst';

describe('when held calls are summed up instead of notified one by one', () => {
  it('notifies each of the first three calls within 2 s and sums up the fourth and later', () => {
    const burst = new NotificationBurst();
    assert.deepEqual([0, 100, 200, 300, 400].map((at) => burst.arrive(at)), [false, false, false, true, true]);
  });

  it('notifies each call again once the 2 s window has passed', () => {
    const burst = new NotificationBurst();
    for (const at of [0, 100, 200, 300]) burst.arrive(at);
    assert.equal(burst.arrive(2_350), false);
    assert.equal(burst.arrive(5_000), false);
  });

  it('never sums up calls that arrive more than 2 s apart', () => {
    const burst = new NotificationBurst();
    assert.deepEqual([0, 2_000, 4_000, 6_000, 8_000].map((at) => burst.arrive(at)), [false, false, false, false, false]);
  });
});
