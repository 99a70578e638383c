/**
 * `npm run bench`: the gateway's overhead, approval wake-up latency, start-up time and bundle
 * size, each printed with its ratio against a baseline measured in the same run and process.
 *
 *   (a) an SDK client calling an HTTP MCP upstream directly;
 *   (b) the same client calling the same upstream through the gateway (policy: allow);
 *   (c) the same through a stdio upstream, against the client calling that stdio server directly.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { getRequestListener } from '@hono/node-server';
import { z } from 'zod';
import { Gatehouse } from '../src/core/gatehouse';

const ROOT = path.resolve(__dirname, '..');
const CALLS_PER_CLIENT = Number(process.env.BENCH_CALLS ?? 400);
const WARMUP = 50;

interface Stats {
  p50: number;
  p99: number;
  throughput: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A stateful streamable HTTP upstream built with the SDK: one server and transport per session. */
async function startHttpUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const listener = getRequestListener(async (request) => {
    const id = request.headers.get('mcp-session-id');
    const existing = id ? sessions.get(id) : undefined;
    if (existing) return existing.handleRequest(request);
    const server = new McpServer({ name: 'bench-http', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    server.registerTool('write', { description: 'Pretends to write', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text: `wrote ${text}` }] }));
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, transport),
    });
    await server.connect(transport);
    return transport.handleRequest(request);
  });
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

type ClientFactory = () => Promise<Client>;

function httpClient(url: string, headers: Record<string, string> = {}): ClientFactory {
  return async () => {
    const client = new Client({ name: 'bench', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  };
}

function stdioClient(): ClientFactory {
  return async () => {
    const client = new Client({ name: 'bench', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [path.join(ROOT, 'bench/upstreamStdio.mjs')], stderr: 'ignore' }));
    return client;
  };
}

async function measure(factory: ClientFactory, tool: string, concurrency: number, shareOneConnection = false): Promise<Stats> {
  const shared = shareOneConnection ? await factory() : undefined;
  const clients = shared ? Array.from({ length: concurrency }, () => shared) : await Promise.all(Array.from({ length: concurrency }, () => factory()));
  const call = (client: Client, i: number): Promise<unknown> => client.request({ method: 'tools/call', params: { name: tool, arguments: { text: `call ${i}` } } }, CallToolResultSchema);
  await Promise.all(clients.map(async (client) => { for (let i = 0; i < WARMUP; i++) await call(client, i); }));
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < CALLS_PER_CLIENT; i++) {
        const t0 = performance.now();
        await call(client, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  await Promise.all([...new Set(clients)].map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), throughput: (latencies.length / elapsed) * 1000 };
}

/**
 * Holds `held` calls, parks an await_approval on each, then decides them one at a time: each
 * sample is the time from one decision to its agent receiving the executed result, while the
 * other calls stay held. Event-driven waiting keeps this flat as `held` grows.
 */
async function approvalWakeUp(gatehouse: Gatehouse, url: string, key: string, held: number): Promise<number[]> {
  const clients = await Promise.all(Array.from({ length: held }, () => httpClient(url, { authorization: `Bearer ${key}` })()));
  const ids = await Promise.all(
    clients.map(async (client, i) => {
      const result = await client.request({ method: 'tools/call', params: { name: 'web__write', arguments: { text: `held ${i} ${Math.random()}` } } }, CallToolResultSchema);
      return String((result.structuredContent as { request_id: string }).request_id);
    }),
  );
  const returned = new Map<string, () => void>();
  const waits = clients.map(async (client, i) => {
    await client.request({ method: 'tools/call', params: { name: 'await_approval', arguments: { request_id: ids[i] } } }, CallToolResultSchema, { timeout: 120_000 });
    returned.get(ids[i])?.();
  });
  while (gatehouse.approvals.waitingCount() < held) await new Promise((resolve) => setTimeout(resolve, 5));
  const latencies: number[] = [];
  for (const id of ids) {
    const done = new Promise<void>((resolve) => returned.set(id, resolve));
    const decidedAt = performance.now();
    gatehouse.decide(id, { kind: 'approve', scope: 'once', channel: 'test' });
    await done;
    latencies.push(performance.now() - decidedAt);
  }
  await Promise.all(waits);
  await Promise.all(clients.map((c) => c.close()));
  return latencies;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const upstream = await startHttpUpstream();
  fs.writeFileSync(
    path.join(home, 'servers.json'),
    JSON.stringify({ servers: { web: { type: 'http', url: upstream.url }, local: { type: 'stdio', command: process.execPath, args: [path.join(ROOT, 'bench/upstreamStdio.mjs')] } } }),
  );
  fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ rules: [{ tool: '*__echo', decision: 'allow' }, { tool: 'web__write', decision: 'ask' }] }));

  const startT0 = performance.now();
  const gatehouse = new Gatehouse({ home, port: 0 });
  await gatehouse.start();
  const listening = performance.now() - startT0;
  await gatehouse.gateway.upstreams.settled();
  const ready = performance.now() - startT0;
  const key = gatehouse.gateway.apiKeys.create('bench');
  const viaGateway = httpClient(gatehouse.gateway.url, { authorization: `Bearer ${key}` });

  console.log(`Gatehouse benchmark: ${CALLS_PER_CLIENT} calls per client after ${WARMUP} warm-up calls; node ${process.version}, ${os.cpus().length} cores\n`);
  const rows: string[][] = [['scenario', 'clients', 'p50 ms', 'p99 ms', 'calls/s', 'added p50 ms', 'added p99 ms', 'p50 ratio', 'throughput ratio']];
  for (const concurrency of [1, 32]) {
    const direct = await measure(httpClient(upstream.url), 'echo', concurrency);
    const gw = await measure(viaGateway, 'web__echo', concurrency);
    // The gateway multiplexes every agent onto one upstream process, so the direct baseline shares one too.
    const stdioDirect = await measure(stdioClient(), 'echo', concurrency, true);
    const gwStdio = await measure(viaGateway, 'local__echo', concurrency);
    rows.push(['(a) direct HTTP upstream', String(concurrency), fmt(direct.p50), fmt(direct.p99), fmt(direct.throughput, 0), '', '', '1.00', '1.00']);
    rows.push(['(b) gateway → HTTP upstream', String(concurrency), fmt(gw.p50), fmt(gw.p99), fmt(gw.throughput, 0), fmt(gw.p50 - direct.p50), fmt(gw.p99 - direct.p99), fmt(gw.p50 / direct.p50), fmt(gw.throughput / direct.throughput)]);
    rows.push(['    direct stdio upstream', String(concurrency), fmt(stdioDirect.p50), fmt(stdioDirect.p99), fmt(stdioDirect.throughput, 0), '', '', '1.00', '1.00']);
    rows.push(['(c) gateway → stdio upstream', String(concurrency), fmt(gwStdio.p50), fmt(gwStdio.p99), fmt(gwStdio.throughput, 0), fmt(gwStdio.p50 - stdioDirect.p50), fmt(gwStdio.p99 - stdioDirect.p99), fmt(gwStdio.p50 / stdioDirect.p50), fmt(gwStdio.throughput / stdioDirect.throughput)]);
  }
  printTable(rows);

  // Approval wake-up: from the human's decision to await_approval returning the executed result,
  // against the baseline of one allowed call through the gateway (the same upstream round trip).
  const baseline = await measure(viaGateway, 'web__echo', 1);
  console.log('\nApproval wake-up: one decision → its await_approval returns the executed result, with N calls held');
  const wake: string[][] = [['held calls', 'p50 ms', 'p99 ms', 'baseline p50 ms (allowed call)', 'p50 ratio', 'target p50']];
  for (const held of [1, 50]) {
    const samples: number[] = [];
    // About a hundred decisions for each case, so that p99 means something.
    for (let round = 0; round < (held === 1 ? 100 : 2); round++) samples.push(...(await approvalWakeUp(gatehouse, gatehouse.gateway.url, key, held)));
    samples.sort((a, b) => a - b);
    const p50 = percentile(samples, 50);
    wake.push([String(held), fmt(p50), fmt(percentile(samples, 99)), fmt(baseline.p50), fmt(p50 / baseline.p50), '≤ 10 ms']);
  }
  printTable(wake);

  // Start-up: the gateway listening and all upstreams ready, against a bare node HTTP server start.
  const bareT0 = performance.now();
  const bare = http.createServer(() => undefined);
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareMs = performance.now() - bareT0;
  bare.close();
  console.log('\nStart-up and size');
  const sizes: string[][] = [['measure', 'value', 'baseline', 'ratio']];
  sizes.push(['gateway listening (ms)', fmt(listening), `${fmt(bareMs)} (bare http.Server)`, fmt(listening / bareMs, 1)]);
  sizes.push(['all upstreams ready (ms)', fmt(ready), `${fmt(listening)} (listening)`, fmt(ready / listening, 1)]);
  for (const [file, budget] of [['dist/extension.js', 1.5 * 1024 * 1024], ['dist/cli.js', 1.5 * 1024 * 1024]] as const) {
    const size = fs.statSync(path.join(ROOT, file)).size;
    sizes.push([`${file} (bytes)`, String(size), `${budget} (budget)`, fmt(size / budget)]);
  }
  const vsix = path.join(ROOT, 'dist/gatehouse.vsix');
  if (fs.existsSync(vsix)) sizes.push(['dist/gatehouse.vsix (bytes)', String(fs.statSync(vsix).size), `${3 * 1024 * 1024} (budget)`, fmt(fs.statSync(vsix).size / (3 * 1024 * 1024))]);
  printTable(sizes);
  console.log('\nExtension activation time is measured inside a real VS Code by `npm run test:vscode` (it prints "activation").');

  await gatehouse.stop();
  await upstream.close();
  fs.rmSync(home, { recursive: true, force: true });
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [index, row] of rows.entries()) {
    console.log(`| ${row.map((cell, i) => (cell ?? '').padEnd(widths[i])).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
