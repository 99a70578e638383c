import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * How long a POST's event stream may take to finish and still be answered as plain JSON. A call
 * that answers within it is one JSON response; one that says nothing for longer is streamed from
 * then on, as the SDK wrote it.
 */
export const WHOLE_ANSWER_WINDOW_MS = 200;

/**
 * Larger answers (a page of `tools/list`) stay event streams: reading the event to turn it into
 * JSON costs the gateway about as much as reading the stream costs the client, while for a small
 * answer the client's fixed cost of setting up a stream is most of what is saved.
 */
export const WHOLE_ANSWER_MAX_BYTES = 64 * 1024;

type Read = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
const WINDOW_PASSED = Symbol('window passed');

/**
 * The SDK's transport answers every POST with an event stream (so that what an upstream says
 * during a call reaches the client on that call's stream), even when all the stream will ever
 * carry is the one response. Reading an event stream costs a client more than reading JSON: the
 * SDK client spent about 1.4 ms of CPU per call on Gatehouse's streams against 1.1 ms on the same
 * answers as JSON. The streamable HTTP transport lets a server answer a POST with either.
 *
 * So a POST that carries one JSON-RPC request is answered with the stream's data as JSON when the
 * stream ends within `windowMs` having carried exactly one event of at most
 * `WHOLE_ANSWER_MAX_BYTES`: the stream closes only after the request's response, so that event is
 * the response. The moment the stream carries an event and is not finished (progress, logging, an
 * elicitation or sampling request for the call), or the window passes, the client gets the stream
 * itself, with what was read so far, and every event as it comes.
 */
export async function wholeWhenQuick(response: Response, windowMs = WHOLE_ANSWER_WINDOW_MS): Promise<Response> {
  if (!response.body || !/^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '')) return response;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const chunks: Uint8Array[] = [];
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => void events.push(event) });
  let timer: NodeJS.Timeout | undefined;
  const windowPassed = new Promise<typeof WINDOW_PASSED>((resolve) => {
    timer = setTimeout(() => resolve(WINDOW_PASSED), windowMs);
  });
  let size = 0;
  try {
    let pending: Promise<Read> = reader.read();
    for (;;) {
      // Before the first event the stream may be waited for, up to the window; after it, it must end now.
      const read = await (events.length === 0 ? Promise.race([pending, windowPassed]) : settledNow(pending));
      if (read === WINDOW_PASSED || read === undefined) return streamed(response, reader, chunks, pending);
      if (read.done) break;
      chunks.push(read.value);
      size += read.value.byteLength;
      if (size > WHOLE_ANSWER_MAX_BYTES) return streamed(response, reader, chunks);
      parser.feed(decoder.decode(read.value, { stream: true }));
      if (events.length > 1) return streamed(response, reader, chunks);
      pending = reader.read();
    }
  } finally {
    clearTimeout(timer);
  }
  if (events.length !== 1 || (events[0].event !== undefined && events[0].event !== 'message')) return streamed(response, undefined, chunks);
  // A plain object rather than Headers: @hono/node-server writes it out as it is.
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  response.headers.forEach((value, name) => {
    if (name !== 'content-type' && name !== 'cache-control' && name !== 'connection') headers[name] = value;
  });
  return new Response(events[0].data, { status: response.status, headers });
}

/** The read if it has already settled, or settles within the current turn of the microtask queue. */
async function settledNow(read: Promise<Read>): Promise<Read | undefined> {
  return Promise.race([read, Promise.resolve().then(() => Promise.resolve(undefined))]);
}

/** The stream as the SDK wrote it: what was already read, then the rest as it comes. */
function streamed(response: Response, reader: ReadableStreamDefaultReader<Uint8Array> | undefined, chunks: Uint8Array[], pending?: Promise<Read>): Response {
  let next = pending;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (!reader) controller.close();
    },
    async pull(controller) {
      if (!reader) return;
      const read = await (next ?? reader.read());
      next = undefined;
      if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    // The client went away: the SDK's stream learns it, as it would have without this wrapper.
    cancel: (reason) => reader?.cancel(reason),
  });
  return new Response(body, { status: response.status, headers: response.headers });
}
