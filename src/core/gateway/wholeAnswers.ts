import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCResultResponse, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isUnchanging, requestId } from './endpointBasics';

/**
 * How long a request may take to be answered and still be answered as plain JSON. A call that
 * answers within it is one JSON response; one that says nothing for longer is streamed from
 * then on, as the SDK writes it.
 */
export const WHOLE_ANSWER_WINDOW_MS = 200;

/**
 * The SDK's transport answers every POST with an event stream (so that what an upstream says
 * during a call reaches the client on that call's stream), even when all the stream will ever
 * carry is the one response. Reading an event stream costs a client more than reading JSON: the
 * SDK client spent about 1.4 ms of CPU per call on Gatehouse's streams against 1.1 ms on the same
 * answers as JSON. The streamable HTTP transport lets a server answer a POST with either.
 *
 * So a POST that carries one request is answered as JSON when the first message the server
 * sends about that request, within `windowMs`, is its response. The messages are seen where the
 * SDK's server hands them to its transport (`send`), before they are written: the moment the
 * server says anything else about the request first (progress, logging, an elicitation or
 * sampling request), or the window passes, the client gets the SDK's stream itself, and every
 * event as it comes.
 *
 * A response taken as JSON is still handed to the SDK, so that it ends the request's stream and
 * forgets the request as it always does; that stream goes to no one, so the SDK is handed an
 * empty result in its place, and a large answer is serialised once, not twice.
 */
export class WholeAnswers {
  /** The requests being answered, by id: each one's taker decides, on the first message about it, whether it becomes the JSON answer. */
  private readonly expected = new Map<RequestId, (message: JSONRPCMessage) => boolean>();

  constructor(transport: Transport) {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      const id = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message) ? message.id : options?.relatedRequestId;
      const take = id === undefined ? undefined : this.expected.get(id);
      if (take && id !== undefined) {
        this.expected.delete(id);
        if (take(message)) return send({ jsonrpc: '2.0', id, result: {} }, options);
      }
      return send(message, options);
    };
  }

  /**
   * Runs `handle` (the SDK transport's handling of a POST that carries the one request `id`) and
   * answers with its response as JSON, or with the SDK's own answer as it is.
   */
  async answer(id: RequestId, handle: () => Promise<Response>, sessionId: () => string | undefined, windowMs = WHOLE_ANSWER_WINDOW_MS): Promise<Response> {
    // The same id twice in flight: the second is left to the SDK.
    if (this.expected.has(id)) return handle();
    let answer: JSONRPCMessage | undefined;
    let said!: () => void;
    const firstMessage = new Promise<void>((resolve) => (said = resolve));
    const take = (message: JSONRPCMessage): boolean => {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) answer = message;
      said();
      return answer !== undefined;
    };
    this.expected.set(id, take);
    let response: Response;
    try {
      response = await handle();
    } catch (error) {
      this.forget(id, take);
      throw error;
    }
    // Anything but the SDK's stream (an error it answered without running the request) goes as it is.
    if (answer === undefined && response.status === 200) {
      let timer: NodeJS.Timeout | undefined;
      const windowPassed = new Promise<void>((resolve) => (timer = setTimeout(resolve, windowMs)));
      await Promise.race([firstMessage, windowPassed]);
      clearTimeout(timer);
    }
    this.forget(id, take);
    return answer === undefined ? response : json(answer, sessionId());
  }

  private forget(id: RequestId, take: (message: JSONRPCMessage) => boolean): void {
    if (this.expected.get(id) === take) this.expected.delete(id);
  }
}

/** The JSON of each unchanging result (a list page that has not changed since), made the first time it is answered. */
const serialised = new WeakMap<object, Buffer>();

function json(message: JSONRPCMessage, sessionId: string | undefined): Response {
  // A plain object rather than Headers, and bytes rather than a string: @hono/node-server writes
  // both out as they are, where a large string went through a slower write (a page of tools/list).
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (sessionId) headers['mcp-session-id'] = sessionId;
  return new Response(body(message), { status: 200, headers });
}

function body(message: JSONRPCMessage): Buffer {
  // The message is a response `send` already told apart with the SDK's guards; a kept result is
  // found by identity, without checking the message's shape again.
  if (!('result' in message) || !('id' in message) || !isUnchanging(message.result)) return Buffer.from(JSON.stringify(message), 'utf8');
  let result = serialised.get(message.result);
  if (!result) serialised.set(message.result, (result = Buffer.from(JSON.stringify(message.result), 'utf8')));
  return Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":`, 'utf8'), result, CLOSING_BRACE]);
}

const CLOSING_BRACE = Buffer.from('}', 'utf8');

/** The id of a POST body that is one JSON-RPC request (not a batch, a notification or a response). */
export function oneRequestId(body: unknown): RequestId | undefined {
  if (typeof body !== 'object' || body === null || !('method' in body)) return undefined;
  return requestId(body) ?? undefined;
}
