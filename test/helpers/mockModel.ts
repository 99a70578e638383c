import type * as http from 'node:http';
import { ScriptedModelServer, type Step } from './scriptedModelServer';

/**
 * A scripted stand-in for the OpenAI Responses API, so the real Codex CLI can run offline. This is
 * a mock because no model can run here; everything else in a Codex test is real.
 *
 * Each POST /v1/responses consumes the next step of the script. A step returns the output items of
 * that turn; they are streamed as server-sent events the way Codex expects.
 */
export type ResponseItem = Record<string, unknown>;
export interface ResponsesRequest {
  readonly model?: string;
  readonly instructions?: string;
  readonly input?: ResponseItem[];
  readonly tools?: ResponseItem[];
  readonly [key: string]: unknown;
}
export type ScriptStep = Step<ResponsesRequest, ResponseItem[]>;

/** An MCP tool call as Codex 0.171 expects it: the namespace is `mcp__<server>`, the name the tool's own. */
export function functionCall(namespace: string, name: string, args: Record<string, unknown>, callId = `call_${name}`): ResponseItem {
  return { type: 'function_call', id: `fc_${callId}`, call_id: callId, namespace, name, arguments: JSON.stringify(args) };
}

export function assistantMessage(text: string): ResponseItem {
  return { type: 'message', role: 'assistant', id: `msg_${Math.random().toString(36).slice(2)}`, content: [{ type: 'output_text', text, annotations: [] }] };
}

/** The `function_call_output` items Codex sent back in a request, by call id. */
export function functionOutputs(request: ResponsesRequest): Map<string, unknown> {
  const outputs = new Map<string, unknown>();
  for (const item of request.input ?? []) if (item.type === 'function_call_output') outputs.set(String(item.call_id), item.output);
  return outputs;
}

/**
 * What the model was handed for each tool call, as text (a string output as it is, anything else
 * as JSON): `remember` reads it from a request while the script runs, `outputs` keeps it for the checks.
 */
export function seenOutputs(): { readonly outputs: Map<string, string>; remember(request: ResponsesRequest, callId: string): string } {
  const outputs = new Map<string, string>();
  return {
    outputs,
    remember(request, callId) {
      const output = functionOutputs(request).get(callId);
      const value = typeof output === 'string' ? output : JSON.stringify(output ?? null);
      outputs.set(callId, value);
      return value;
    },
  };
}

const ZERO_USAGE = { input_tokens: 0, input_tokens_details: null, output_tokens: 0, output_tokens_details: null, total_tokens: 0 };

export class MockModel extends ScriptedModelServer<ResponsesRequest, ResponseItem[]> {
  constructor(script: readonly ScriptStep[], fallback: ScriptStep = [assistantMessage('(the scripted model has nothing more to say)')]) {
    super(script, fallback);
  }

  /** The `base_url` for `[model_providers.mock]`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  /** A `config.toml` preamble that points Codex at this model (TESTING.md). */
  codexConfig(): string {
    return [
      'model = "mock-model"',
      'model_provider = "mock"',
      'approval_policy = "never"',
      'sandbox_mode = "read-only"',
      '',
      '[analytics]',
      'enabled = false',
      '',
      '[model_providers.mock]',
      'name = "Mock"',
      `base_url = "${this.baseUrl}"`,
      'wire_api = "responses"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n');
  }

  protected handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `mock model: no ${req.method} ${req.url}` } }));
      return;
    }
    let request: ResponsesRequest;
    try {
      request = JSON.parse(body) as ResponsesRequest;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const items = this.nextOutput(request);
    const id = `resp_${this.requests.length}`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (type: string, data: Record<string, unknown>): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    send('response.created', { response: { id } });
    for (const item of items) send('response.output_item.done', { item });
    send('response.completed', { response: { id, usage: ZERO_USAGE } });
    res.end();
  }
}
