import * as assert from 'node:assert/strict';
import { WHOLE_ANSWER_MAX_BYTES, wholeWhenQuick } from '../../src/core/gateway/wholeAnswers';

const encoder = new TextEncoder();

/** A server-sent event as the SDK's transport writes it. */
function sse(message: unknown): Uint8Array {
  return encoder.encode(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

const response = (id: number, text: string): unknown => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
const progress = (n: number): unknown => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: n } });

/** An event stream the test writes to, answered as the SDK answers a POST. */
function eventStream(): { response: Response; write(chunk: Uint8Array): void; end(): void; cancelled: Promise<unknown> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled!: (reason: unknown) => void;
  const cancelledPromise = new Promise<unknown>((resolve) => (cancelled = resolve));
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: (reason) => cancelled(reason),
  });
  return {
    response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'mcp-session-id': 's-1' } }),
    write: (chunk) => controller.enqueue(chunk),
    end: () => controller.close(),
    cancelled: cancelledPromise,
  };
}

describe('wholeWhenQuick: a POST whose event stream carries only its response is answered as JSON', () => {
  it('answers with the one event as JSON, keeping the session header, when the stream ends with it', async () => {
    const stream = eventStream();
    const answered = wholeWhenQuick(stream.response);
    stream.write(sse(response(7, 'done')));
    stream.end();
    const answer = await answered;
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.equal(answer.headers.get('mcp-session-id'), 's-1');
    assert.deepEqual(await answer.json(), response(7, 'done'));
  });

  it('keeps a large answer (a page of tools) as a stream, its bytes unchanged', async () => {
    const stream = eventStream();
    const answered = wholeWhenQuick(stream.response);
    const bytes = sse(response(9, 'x'.repeat(WHOLE_ANSWER_MAX_BYTES)));
    stream.write(bytes);
    stream.end();
    const answer = await answered;
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    assert.equal(await answer.text(), new TextDecoder().decode(bytes));
  });

  it('joins an event split over several chunks', async () => {
    const stream = eventStream();
    const answered = wholeWhenQuick(stream.response);
    const bytes = sse(response(1, 'x'.repeat(5000)));
    stream.write(bytes.subarray(0, 100));
    await new Promise((resolve) => setImmediate(resolve));
    stream.write(bytes.subarray(100));
    stream.end();
    assert.deepEqual(await (await answered).json(), response(1, 'x'.repeat(5000)));
  });

  it('streams at once what the call says before its result, and the rest as it comes', async () => {
    const stream = eventStream();
    const answered = wholeWhenQuick(stream.response, 60_000);
    stream.write(sse(progress(1)));
    // Answered without waiting for the result or the window: the progress must reach the client now.
    const answer = await answered;
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    const reader = answer.body!.getReader();
    const decoder = new TextDecoder();
    assert.equal(decoder.decode((await reader.read()).value), new TextDecoder().decode(sse(progress(1))));
    stream.write(sse(response(2, 'after progress')));
    stream.end();
    let rest = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) rest += decoder.decode(read.value);
    assert.equal(rest, new TextDecoder().decode(sse(response(2, 'after progress'))));
  });

  it('streams a call that says nothing within the window, with its headers then', async () => {
    const stream = eventStream();
    const answer = await wholeWhenQuick(stream.response, 20);
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    stream.write(sse(response(3, 'slow')));
    stream.end();
    assert.equal(await answer.text(), new TextDecoder().decode(sse(response(3, 'slow'))));
  });

  it('passes the client going away on to the SDK stream', async () => {
    const stream = eventStream();
    const answer = await wholeWhenQuick(stream.response, 20);
    await answer.body!.cancel('client closed');
    assert.equal(await stream.cancelled, 'client closed');
  });

  it('keeps two events queued together as a stream', async () => {
    const stream = eventStream();
    const answered = wholeWhenQuick(stream.response);
    stream.write(sse(progress(1)));
    stream.write(sse(response(4, 'r')));
    stream.end();
    const answer = await answered;
    assert.equal(answer.headers.get('content-type'), 'text/event-stream');
    assert.equal(await answer.text(), new TextDecoder().decode(sse(progress(1))) + new TextDecoder().decode(sse(response(4, 'r'))));
  });

  it('leaves a JSON or empty answer as it is', async () => {
    const json = new Response('{"jsonrpc":"2.0","id":1,"result":{}}', { headers: { 'content-type': 'application/json' } });
    assert.equal(await wholeWhenQuick(json), json);
    const accepted = new Response(null, { status: 202 });
    assert.equal(await wholeWhenQuick(accepted), accepted);
  });
});
