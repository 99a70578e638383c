import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { getRequestListener } from '@hono/node-server';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import type { HumanDecision } from '../../src/core/approvals/humanDecision';
import { Gateway, type GatewayOptions } from '../../src/core/gateway/gateway';
import { Gatehouse, type GatehouseOptions } from '../../src/core/gatehouse';
import { watchFile } from '../../src/core/store/watch';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const madeDirs: string[] = [];
process.once('exit', () => {
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = 'gatehouse-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export function writeServers(home: string, servers: Record<string, unknown>): void {
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'servers.json'), JSON.stringify({ servers }, null, 2));
}

/** The real everything server from npm, over stdio. */
export function everythingServer(): { type: 'stdio'; command: string; args: string[] } {
  return { type: 'stdio', command: process.execPath, args: [path.join(REPO_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'] };
}

export function crashyServer(): { type: 'stdio'; command: string; args: string[] } {
  return { type: 'stdio', command: process.execPath, args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/crashy.mjs')] };
}

/** Resolves once `file` exists: an event (watchFile), not a guess at how long something takes. */
export function fileAppears(file: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!fs.existsSync(file)) return;
      watcher.close();
      resolve();
    };
    const watcher = watchFile(file, check, { debounceMs: 0, pollMs: 50 });
    check();
  });
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly home: string;
  readonly key: string;
  readonly url: string;
  close(): Promise<void>;
}

/** A real gateway on an ephemeral loopback port with a fresh GATEHOUSE_HOME and an API key. */
export async function startTestGateway(options: { servers?: Record<string, unknown>; home?: string } & Partial<GatewayOptions> = {}): Promise<TestGateway> {
  const home = options.home ?? tempDir();
  if (options.servers) writeServers(home, options.servers);
  const gateway = new Gateway({ ...options, home, port: 0 });
  const key = gateway.apiKeys.create('test');
  await gateway.start();
  await gateway.upstreams.settled();
  return {
    gateway,
    home,
    key,
    url: gateway.url,
    close: () => gateway.stop(),
  };
}

/** The SDK's own client over streamable HTTP, authenticated with an API key. */
export async function connectClient(url: string, key: string, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  await client.connect(transport);
  return client;
}

/** Waits for an event-like condition; the mocha timeout bounds it. */
export async function until(check: () => boolean | Promise<boolean>, intervalMs = 20): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}

/**
 * A real streamable HTTP MCP upstream built with the SDK, in stateless mode (a fresh server per
 * request), on an ephemeral loopback port. With `stream`, answers are server-sent events, so that
 * notifications about a call (progress) reach the caller; JSON answers drop them.
 */
export async function startHttpUpstream(register: (server: McpServer) => void, options: { stream?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const listener = getRequestListener(async (request) => {
    const server = new McpServer({ name: 'http-upstream', version: '1.0.0' });
    register(server);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !options.stream });
    await server.connect(transport);
    return transport.handleRequest(request);
  });
  return listenOnLoopback(listener);
}

/** Serves `listener` on an ephemeral loopback port; `url` is its `/mcp`, and `close` ends every connection. */
export async function listenOnLoopback(listener: http.RequestListener): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An HTTP request with headers fetch() would not send as given (Host). */
export function rawRequest(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  // An empty host means "send no Host header at all".
  const headers = { ...options.headers };
  const setHost = headers.host !== '';
  if (!setHost) delete headers.host;
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/mcp', headers, setHost }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

export interface TestGatehouse {
  readonly gatehouse: Gatehouse;
  readonly home: string;
  readonly key: string;
  readonly url: string;
  close(): Promise<void>;
}

/** The whole product (gateway, OAuth, policy, approvals) on an ephemeral port with a fresh home. */
export async function startTestGatehouse(options: { servers?: Record<string, unknown>; home?: string; policy?: unknown } & Partial<GatehouseOptions> = {}): Promise<TestGatehouse> {
  const home = options.home ?? tempDir();
  if (options.servers) writeServers(home, options.servers);
  if (options.policy) fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify(options.policy, null, 2));
  const gatehouse = new Gatehouse({ ...options, home, port: 0 });
  const key = gatehouse.gateway.apiKeys.create('test');
  await gatehouse.start();
  await gatehouse.gateway.upstreams.settled();
  return { gatehouse, home, key, url: gatehouse.gateway.url, close: () => gatehouse.stop() };
}

/**
 * The human of an end-to-end test: decides each held call once a client waits on it with
 * await_approval (the gate listens to 'decided' itself; one more listener is the waiting agent).
 */
export function humanWhoDecides(th: TestGatehouse, decision: HumanDecision): { decided: ApprovalRequest[]; stop(): void } {
  const decided: ApprovalRequest[] = [];
  const onRequested = (request: ApprovalRequest): void => {
    void (async () => {
      const deadline = Date.now() + 60_000;
      await until(() => th.gatehouse.approvals.waitingCount() > 0 || Date.now() > deadline, 50);
      const result = th.gatehouse.decide(request.id, decision);
      if (result.ok) decided.push(result.request);
    })();
  };
  th.gatehouse.approvals.on('requested', onRequested);
  return { decided, stop: () => th.gatehouse.approvals.off('requested', onRequested) };
}
