import * as assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { CallToolResult, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { ParkedCalls } from '../../src/core/gateway/inputRounds';

// The rounds of a 2026-07-28 client's call, without HTTP: protocolEras.test.ts and
// modernUpstream.test.ts drive the same class through the real gateway and SDK 2.x client.

const ELICIT: ServerRequest = { method: 'elicitation/create', params: { message: 'Name?', requestedSchema: { type: 'object', properties: {} } } } as ServerRequest;
const done = (text: string): CallToolResult => ({ content: [{ type: 'text', text }] });

describe('ParkedCalls: a 2026-07-28 call and its rounds', () => {
  it('keeps nothing of a call that answers within its first request, and leaves no listener on its signal', async () => {
    const parked = new ParkedCalls();
    const call = parked.open('client-a');
    call.start(async () => done('quick'));
    const request = new AbortController();
    assert.deepEqual(await call.next(request.signal), { result: done('quick') });
    parked.forget(call);
    assert.equal(parked.size, 0);
    assert.equal(call.dropTimer, undefined, 'no timer holds the finished call');
    assert.equal(call.parkedAs, undefined);

    const slow = parked.open('client-a');
    let finish!: () => void;
    slow.start(() => new Promise((resolve) => (finish = () => resolve(done('slow')))));
    const outcome = slow.next(request.signal);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(getEventListeners(request.signal, 'abort').length, 1, 'the waiting request listens for its end');
    finish();
    assert.deepEqual(await outcome, { result: done('slow') });
    assert.equal(getEventListeners(request.signal, 'abort').length, 0, 'and stops listening once the call woke it');
  });

  it('parks a call that asks, finds it only for its client, and drops it once its result is fetched', async () => {
    const parked = new ParkedCalls();
    const call = parked.open('client-a');
    call.start(async (ask) => done(`hello ${String((await ask(ELICIT)).name)}`));
    const first = await call.next(new AbortController().signal);
    assert.ok('ask' in first);
    const id = parked.park(call);
    assert.equal(parked.park(call), id, 'parked once, under one id');
    assert.equal(parked.size, 1);
    assert.equal(parked.find(id, 'client-b'), undefined);
    const retried = parked.find(id, 'client-a');
    assert.equal(retried, call);
    assert.ok(retried.answer(first.ask.key, { name: 'Ada' }));
    assert.deepEqual(await retried.next(new AbortController().signal), { result: done('hello Ada') });
    assert.ok(call.dropTimer, 'a parked call that finished waits for its client a while');
    parked.forget(call);
    assert.equal(parked.size, 0);
    assert.equal(call.dropTimer, undefined);
  });

  it('gives a finished call parked after the fact a timer, so it never stays for good', async () => {
    const parked = new ParkedCalls();
    const call = parked.open('client-a');
    call.start(async () => done('finished'));
    await call.next(new AbortController().signal);
    parked.park(call);
    assert.ok(call.dropTimer);
    parked.forget(call);
  });

  it('refuses to wait for a request that has already ended', async () => {
    const parked = new ParkedCalls();
    const call = parked.open('client-a');
    call.start(() => new Promise(() => undefined));
    const ended = new AbortController();
    ended.abort();
    await assert.rejects(call.next(ended.signal), /The client went away/);
    const leaving = new AbortController();
    const waiting = call.next(leaving.signal);
    leaving.abort();
    await assert.rejects(waiting, /The client went away/);
  });
});
