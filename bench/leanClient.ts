/**
 * The lean client: one keep-alive `node:http` connection per session, JSON-RPC POSTs with the
 * streamable HTTP headers, and just enough parsing to find the response (plain JSON or the one SSE
 * event a POST answers with). It shows what a proxy costs when the client costs almost nothing.
 */
import * as http from 'node:http';

export interface LeanSession {
  request(method: string, params: unknown): Promise<{ result?: unknown; error?: { message: string } }>;
  /** Bytes of the last response body. */
  lastBytes: number;
  close(): Promise<void>;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function parseBody(text: string, contentType: string | undefined, id: number): { result?: unknown; error?: { message: string } } {
  if (!contentType?.includes('text/event-stream')) return JSON.parse(text);
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const message = JSON.parse(line.slice(5));
    if (message.id === id) return message;
  }
  throw new Error(`no response for request ${id} in the event stream: ${text.slice(0, 200)}`);
}

export async function leanSession(endpoint: string, extraHeaders: Record<string, string> = {}): Promise<LeanSession> {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers: Record<string, string> = { ...extraHeaders };
  let nextId = 1;
  const init = await post(agent, url, headers, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-lean', version: '1.0.0' } } }));
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${init.text.slice(0, 200)}`);
  const sessionId = init.headers['mcp-session-id'];
  if (typeof sessionId === 'string') headers['mcp-session-id'] = sessionId;
  const negotiated = parseBody(init.text, init.headers['content-type'], 0).result as { protocolVersion?: string } | undefined;
  if (negotiated?.protocolVersion) headers['mcp-protocol-version'] = negotiated.protocolVersion;
  await post(agent, url, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  const session: LeanSession = {
    lastBytes: 0,
    async request(method, params) {
      const id = nextId++;
      const res = await post(agent, url, headers, JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      if (res.status !== 200) throw new Error(`${method} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      session.lastBytes = Buffer.byteLength(res.text);
      return parseBody(res.text, res.headers['content-type'], id);
    },
    async close() {
      if (headers['mcp-session-id']) {
        await new Promise<void>((resolve) => {
          const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'DELETE', headers }, (res) => { res.resume(); res.on('end', resolve); });
          req.on('error', () => resolve());
          req.end();
        });
      }
      agent.destroy();
    },
  };
  return session;
}

const MODERN_ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench-lean', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/**
 * The lean client on MCP 2026-07-28: no initialize and no session; every POST carries the
 * revision, the client's identity and capabilities in `_meta`, and the method (and a tool call's
 * name) in the standard headers.
 */
export async function leanModernSession(endpoint: string, extraHeaders: Record<string, string> = {}): Promise<LeanSession> {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let nextId = 1;
  const session: LeanSession = {
    lastBytes: 0,
    async request(method, params) {
      const id = nextId++;
      const withMeta = { ...(params as Record<string, unknown>), _meta: MODERN_ENVELOPE };
      const name = (params as { name?: unknown }).name;
      const headers: Record<string, string> = { ...extraHeaders, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(typeof name === 'string' ? { 'mcp-name': name } : {}) };
      const res = await post(agent, url, headers, JSON.stringify({ jsonrpc: '2.0', id, method, params: withMeta }));
      if (res.status !== 200) throw new Error(`${method} answered HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      session.lastBytes = Buffer.byteLength(res.text);
      return parseBody(res.text, res.headers['content-type'], id);
    },
    async close() {
      agent.destroy();
    },
  };
  return session;
}
