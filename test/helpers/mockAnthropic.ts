import type * as http from 'node:http';
import { ScriptedModelServer, type Step } from './scriptedModelServer';

/**
 * A scripted stand-in for the Anthropic Messages API, so the real Claude Code CLI can run offline
 * (`ANTHROPIC_BASE_URL`). This is a mock because no model can run here; everything else in a
 * Claude Code test is real.
 *
 * Each POST /v1/messages that offers the model tools consumes the next step of the script; a
 * step returns the content blocks of that turn, streamed as server-sent events the way the
 * Messages API streams them. Requests without tools (side queries Claude Code may make) get a
 * short text.
 */
export type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };
export interface MessagesRequest {
  readonly model?: string;
  readonly messages?: Array<{ role: string; content: unknown }>;
  readonly tools?: Array<{ name: string }>;
  readonly [key: string]: unknown;
}
export type MessagesStep = Step<MessagesRequest, ContentBlock[]>;

export function toolUse(name: string, input: Record<string, unknown>, id = `toolu_${name.replace(/\W/g, '_')}`): ContentBlock {
  return { type: 'tool_use', id, name, input };
}

export function text(value: string): ContentBlock {
  return { type: 'text', text: value };
}

/**
 * The `tool_result` blocks Claude Code sent back in a request, by tool_use id, as the model
 * reads them: a string, or the text of each text block joined.
 */
export function toolResults(request: MessagesRequest): Map<string, string> {
  const results = new Map<string, string>();
  for (const message of request.messages ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content as Array<Record<string, unknown>>) {
      if (block.type !== 'tool_result') continue;
      const content = block.content;
      const value = typeof content === 'string' ? content : Array.isArray(content) ? (content as Array<{ type?: string; text?: string }>).map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n') : '';
      results.set(String(block.tool_use_id), value);
    }
  }
  return results;
}

export class MockAnthropic extends ScriptedModelServer<MessagesRequest, ContentBlock[]> {
  constructor(script: readonly MessagesStep[], fallback: MessagesStep = [text('(the scripted model has nothing more to say)')]) {
    super(script, fallback);
  }

  /** For `ANTHROPIC_BASE_URL`. */
  get baseUrl(): string {
    return this.origin;
  }

  protected handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const url = req.url ?? '';
    if (req.method === 'POST' && url.startsWith('/v1/messages/count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 1 }));
      return;
    }
    if (req.method !== 'POST' || !url.startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `mock model: no ${req.method} ${url}` } }));
      return;
    }
    let request: MessagesRequest;
    try {
      request = JSON.parse(body) as MessagesRequest;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const blocks = request.tools?.length ? this.nextOutput(request) : [text('ok')];
    this.stream(res, request, blocks);
  }

  private stream(res: http.ServerResponse, request: MessagesRequest, blocks: ContentBlock[]): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (type: string, data: Record<string, unknown>): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    const id = `msg_${this.requests.length}_${Math.random().toString(36).slice(2)}`;
    send('message_start', { message: { id, type: 'message', role: 'assistant', model: request.model ?? 'mock', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } });
    blocks.forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
      } else {
        send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      }
      send('content_block_stop', { index });
    });
    const stopReason = blocks.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn';
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 1 } });
    send('message_stop', {});
    res.end();
  }
}
