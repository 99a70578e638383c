/**
 * `npm run bench`: Gatehouse side by side with the proxies people use today and with the floor
 * (a minimal HTTP→stdio forwarder), each in its own process in front of the same stdio upstream;
 * then the catalog (5,000 tools), start-up of 20 upstreams, approval wake-up, policy evaluation
 * cost and (BENCH_SOAK=1) a soak. Every target is printed as a ratio measured in the same run.
 *
 *   BENCH_CALLS   calls per measurement (default 800; 16 clients share them)
 *   BENCH_ROUNDS  rounds of the side-by-side table, order alternating (default 3)
 *   BENCH_SOAK=1  run the soak; BENCH_SOAK_CALLS (default 10000, the target is 100000) over
 *                 BENCH_SOAK_SESSIONS sessions (default 100)
 *   BENCH_ONLY    comma-separated sections: table,catalog,startup,wake,policy,soak,size
 *   BENCH_BREAKDOWN=0  skips the CPU profiles printed for the call-path and catalog targets missed
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { getRequestListener } from '@hono/node-server';
import { z } from 'zod';
import { Gatehouse } from '../src/core/gatehouse';
import { PolicyStore } from '../src/core/approvals/policyStore';
import { MAX_SESSIONS_PER_CLIENT } from '../src/core/gateway/mcpSessions';
import { leanModernSession, leanSession } from './leanClient';
import { profileGateway } from './profile';
import { printLayers } from './profileSummary';
import type { LeanSession } from './leanClient';
import { NODE, ROOT, UPSTREAM, createKey, gatehouseHome, rssMb, startFloor, startGatehouse, startMcpProxy, startSupergateway } from './systems';
import type { RunningSystem, ServersFile } from './systems';

const CALLS = Number(process.env.BENCH_CALLS ?? 800);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 16;
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const wants = (section: string): boolean => !ONLY || ONLY.has(section);

interface Stats {
  p50: number;
  p99: number;
  throughput: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const [index, row] of rows.entries()) {
    console.log(`| ${row.map((cell, i) => (cell ?? '').padEnd(widths[i])).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  }
}

/** One line per target: the measured ratio, the bound, and met/missed. */
const verdicts: string[][] = [['target', 'measured', 'bound', 'result']];
function target(name: string, measured: number, bound: number, atMost: boolean, unit = '×'): void {
  const met = atMost ? measured <= bound : measured >= bound;
  const digits = unit === '' ? 0 : 2;
  verdicts.push([name, `${fmt(measured, digits)}${unit}`, `${atMost ? '≤' : '≥'} ${fmt(bound, digits)}${unit}`, met ? 'met' : 'MISSED']);
}

// ---------------------------------------------------------------------------------------------
// Clients: the MCP SDK client and the lean node:http client behind one interface
// ---------------------------------------------------------------------------------------------

interface Caller {
  call(i: number): Promise<void>;
  close(): Promise<void>;
}

function checkResult(result: { isError?: boolean; content?: unknown }): void {
  if (result.isError) throw new Error(`tool call failed: ${JSON.stringify(result.content)}`);
}

async function sdkHttpCaller(url: string, headers: Record<string, string>, tool: string): Promise<Caller> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return {
    call: async (i) => checkResult(await client.request({ method: 'tools/call', params: { name: tool, arguments: { text: `call ${i}` } } }, CallToolResultSchema)),
    close: () => client.close(),
  };
}

/**
 * The SDK 2.x client as a client of today connects: `auto` asks the server for 2026-07-28 first
 * (`server/discover`) and falls back to the 2025 handshake where it is not offered. Gatehouse and
 * mcp-proxy 6.7.19 speak 2026-07-28; supergateway and the floor are answered in 2025-11-25.
 */
async function sdk2HttpCaller(url: string, headers: Record<string, string>, tool: string, negotiated: (version: string) => void): Promise<Caller> {
  const client = new ModernClient({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new ModernHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  negotiated(client.getNegotiatedProtocolVersion() ?? 'unknown');
  return {
    call: async (i) => checkResult((await client.callTool({ name: tool, arguments: { text: `call ${i}` } })) as { isError?: boolean }),
    close: () => client.close(),
  };
}

async function sdkStdioClient(): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: UPSTREAM[0], args: UPSTREAM.slice(1), stderr: 'ignore' }));
  return client;
}

async function leanCaller(url: string, headers: Record<string, string>, tool: string): Promise<Caller> {
  const session = await leanSession(url, headers);
  return {
    call: async (i) => {
      const response = await session.request('tools/call', { name: tool, arguments: { text: `call ${i}` } });
      if (response.error) throw new Error(response.error.message);
      checkResult(response.result as { isError?: boolean });
    },
    close: () => session.close(),
  };
}

/** `concurrency` callers, each making its share of `CALLS` calls in sequence after a warm-up. */
async function measure(open: () => Promise<Caller>, concurrency: number): Promise<Stats> {
  const callers = await Promise.all(Array.from({ length: concurrency }, () => open()));
  const perCaller = Math.ceil(CALLS / concurrency);
  const warmup = concurrency === 1 ? 50 : 10;
  await Promise.all(callers.map(async (caller) => { for (let i = 0; i < warmup; i++) await caller.call(i); }));
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    callers.map(async (caller) => {
      for (let i = 0; i < perCaller; i++) {
        const t0 = performance.now();
        await caller.call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  await Promise.all(callers.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), throughput: (latencies.length / elapsed) * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Side by side
// ---------------------------------------------------------------------------------------------

type SystemName = 'direct' | 'floor' | 'gatehouse' | 'supergateway' | 'mcp-proxy';
type ClientKind = 'sdk' | 'sdk2' | 'lean';
const CLIENT_LABELS: Record<ClientKind, string> = { sdk: 'MCP SDK client', sdk2: 'MCP SDK 2.x client (auto)', lean: 'lean node:http client' };
const TARGET_LABELS: Record<ClientKind, string> = { sdk: 'SDK client', sdk2: 'SDK 2.x client', lean: 'lean client' };
interface Measured { one: Stats; many: Stats }
/** The revision the SDK 2.x client in `auto` mode negotiated with each system, as it reports it. */
const sdk2Eras = new Map<SystemName, string>();

const LABELS: Record<SystemName, string> = {
  direct: 'direct stdio (no HTTP)',
  floor: 'minimal HTTP→stdio forwarder (the floor)',
  gatehouse: 'Gatehouse (policy allows the tool)',
  supergateway: 'supergateway 4.0.0 --stateful',
  'mcp-proxy': 'mcp-proxy 6.7.19 (stream endpoint)',
};

async function measureSystem(name: SystemName, home: ReturnType<typeof gatehouseHome>): Promise<Partial<Record<ClientKind, Measured>>> {
  if (name === 'direct') {
    // The gateway multiplexes every agent onto one upstream process, so direct stdio shares one too.
    const client = await sdkStdioClient();
    const caller = (): Promise<Caller> => Promise.resolve({
      call: async (i: number) => checkResult(await client.request({ method: 'tools/call', params: { name: 'echo', arguments: { text: `call ${i}` } } }, CallToolResultSchema)),
      close: async () => undefined,
    });
    const sdk = { one: await measure(caller, 1), many: await measure(caller, CONCURRENCY) };
    await client.close();
    return { sdk };
  }
  const system: RunningSystem =
    name === 'floor' ? await startFloor() : name === 'gatehouse' ? await startGatehouse(home) : name === 'supergateway' ? await startSupergateway() : await startMcpProxy();
  const tool = name === 'gatehouse' ? 'local__echo' : 'echo';
  try {
    const sdk = { one: await measure(() => sdkHttpCaller(system.url, system.headers, tool), 1), many: await measure(() => sdkHttpCaller(system.url, system.headers, tool), CONCURRENCY) };
    const negotiated = (version: string): void => void sdk2Eras.set(name, version);
    const sdk2 = { one: await measure(() => sdk2HttpCaller(system.url, system.headers, tool, negotiated), 1), many: await measure(() => sdk2HttpCaller(system.url, system.headers, tool, negotiated), CONCURRENCY) };
    const lean = { one: await measure(() => leanCaller(system.url, system.headers, tool), 1), many: await measure(() => leanCaller(system.url, system.headers, tool), CONCURRENCY) };
    return { sdk, sdk2, lean };
  } finally {
    await system.stop();
  }
}

interface TableResult { floorLeanP50: number; gatehouseLeanP50: number }

async function sideBySide(): Promise<TableResult> {
  const systems: SystemName[] = ['direct', 'floor', 'gatehouse', 'supergateway', 'mcp-proxy'];
  const home = gatehouseHome({ servers: { local: { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) } } }, [{ tool: 'local__echo', decision: 'allow' }]);
  const samples = new Map<string, Measured[]>();
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate, and reverse every other round, so that no system always runs first or after the same one.
    const rotated = systems.map((_, i) => systems[(i + round) % systems.length]);
    const order = round % 2 ? rotated.reverse() : rotated;
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${order.join(', ')}\n`);
    for (const name of order) {
      const measured = await measureSystem(name, home);
      for (const [kind, m] of Object.entries(measured)) {
        const key = `${kind}:${name}`;
        samples.set(key, [...(samples.get(key) ?? []), m]);
      }
    }
  }
  const get = (kind: ClientKind, name: SystemName): { p50: number; p99: number; many: number } => {
    const list = samples.get(`${kind}:${name}`) ?? [];
    return { p50: median(list.map((m) => m.one.p50)), p99: median(list.map((m) => m.one.p99)), many: median(list.map((m) => m.many.throughput)) };
  };
  console.log(`\nSide by side: medians of ${ROUNDS} alternating rounds; ${CALLS} calls per measurement (1 client, then ${CONCURRENCY} clients sharing them), each system in its own process, one stdio upstream with a trivial echo tool`);
  const rows: string[][] = [['client: system', '1 client p50 ms', 'p99 ms', `${CONCURRENCY} clients calls/s`]];
  for (const kind of ['sdk', 'sdk2', 'lean'] as const) {
    for (const name of systems) {
      if (!samples.has(`${kind}:${name}`)) continue;
      const s = get(kind, name);
      rows.push([`${CLIENT_LABELS[kind]}: ${LABELS[name]}${kind === 'sdk2' ? ` [${sdk2Eras.get(name) ?? '?'}]` : ''}`, fmt(s.p50), fmt(s.p99), fmt(s.many, 0)]);
    }
  }
  printTable(rows);
  for (const kind of ['sdk', 'sdk2', 'lean'] as const) {
    const gh = get(kind, 'gatehouse');
    const sg = get(kind, 'supergateway');
    const mp = get(kind, 'mcp-proxy');
    const floor = get(kind, 'floor');
    const label = TARGET_LABELS[kind];
    target(`${label}: 1-client p50 vs faster peer`, gh.p50 / Math.min(sg.p50, mp.p50), 0.8, true);
    target(`${label}: 1-client p99 vs faster peer`, gh.p99 / Math.min(sg.p99, mp.p99), 0.8, true);
    target(`${label}: 1-client p50 vs floor`, gh.p50 / floor.p50, 1.5, true);
    target(`${label}: 1-client p99 vs floor`, gh.p99 / floor.p99, 1.5, true);
    target(`${label}: ${CONCURRENCY}-client calls/s vs better peer`, gh.many / Math.max(sg.many, mp.many), 1.25, false);
  }
  fs.rmSync(home.home, { recursive: true, force: true });
  return { floorLeanP50: get('lean', 'floor').p50, gatehouseLeanP50: get('lean', 'gatehouse').p50 };
}

// ---------------------------------------------------------------------------------------------
// Catalog and start-up: 20 upstreams × 250 tools
// ---------------------------------------------------------------------------------------------

const MANY_UPSTREAMS = 20;
const TOOLS_PER_UPSTREAM = 250;
/**
 * The catalog's memory before any work on it: gateway RSS with this catalog minus RSS with one
 * 1-tool upstream, measured by this benchmark at commit f554a0a. The catalog target is a ratio to it.
 */
const RECORDED_CATALOG_MB = Number(process.env.BENCH_CATALOG_BASELINE_MB ?? 181.5);

function manyServers(): ServersFile {
  const servers: ServersFile['servers'] = {};
  for (let i = 0; i < MANY_UPSTREAMS; i++) {
    servers[`s${String(i).padStart(2, '0')}`] = { type: 'stdio', command: NODE, args: [path.join(ROOT, 'bench/upstreamManyTools.mjs'), String(TOOLS_PER_UPSTREAM)] };
  }
  return { servers };
}

async function listAll(session: LeanSession): Promise<{ tools: number; bytes: number; pages: number; messages: unknown[] }> {
  let cursor: string | undefined;
  let tools = 0;
  let bytes = 0;
  const messages: unknown[] = [];
  do {
    const response = await session.request('tools/list', cursor ? { cursor } : {});
    if (response.error) throw new Error(response.error.message);
    const page = response.result as { tools: unknown[]; nextCursor?: string };
    tools += page.tools.length;
    bytes += session.lastBytes;
    messages.push(response);
    cursor = page.nextCursor;
  } while (cursor);
  return { tools, bytes, pages: messages.length, messages };
}

async function bareStartupMs(serversFile: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(NODE, [path.join(ROOT, 'bench/bareStartup.mjs'), serversFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let ready = 0;
    child.stdout.on('data', (chunk: Buffer) => { if (!ready && chunk.toString().includes('ready')) ready = performance.now() - t0; });
    child.on('exit', (code) => (code === 0 && ready ? resolve(ready) : reject(new Error(`bare start-up exited ${code}`))));
  });
}

/** RSS of a gateway with one 1-tool upstream after the same 25 × 2 listings: the catalog's baseline. */
async function oneToolRss(): Promise<number> {
  const home = gatehouseHome({ servers: { local: { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) } } }, []);
  const gh = await startGatehouse(home);
  const session = await leanSession(gh.url, gh.headers);
  for (let i = 0; i < 50; i++) await listAll(session);
  await session.close();
  const rss = rssMb(gh.child.pid);
  await gh.stop();
  fs.rmSync(home.home, { recursive: true, force: true });
  return rss;
}

async function catalogAndStartup(doCatalog: boolean, doStartup: boolean): Promise<void> {
  const servers = manyServers();
  const home = gatehouseHome(servers, []);
  const serversFile = path.join(home.home, 'servers.json');
  const gatehouseReady: number[] = [];
  const bareReady: number[] = [];
  const rounds = doStartup ? Math.max(1, Math.min(ROUNDS, 3)) : 1;
  for (let round = 0; round < rounds; round++) {
    if (doStartup && round % 2 === 1) bareReady.push(await bareStartupMs(serversFile));
    const t0 = performance.now();
    const gh = await startGatehouse(home, { upstreams: MANY_UPSTREAMS });
    gatehouseReady.push(performance.now() - t0);
    if (doCatalog && round === 0) {
      const session = await leanSession(gh.url, gh.headers);
      const first: number[] = [];
      const whole: number[] = [];
      let firstBytes = 0;
      let all: Awaited<ReturnType<typeof listAll>> = { tools: 0, bytes: 0, pages: 0, messages: [] };
      for (let i = 0; i < 25; i++) {
        let t = performance.now();
        const response = await session.request('tools/list', {});
        first.push(performance.now() - t);
        if (response.error) throw new Error(response.error.message);
        firstBytes = session.lastBytes;
        t = performance.now();
        all = await listAll(session);
        whole.push(performance.now() - t);
      }
      // What any JSON-RPC server and client must do with these pages, in one process and without
      // any I/O: serialise each one and parse it; or, for a server that keeps a page it has not
      // changed serialised (as Gatehouse does), the client's parse alone. Below the second no
      // system can list the catalog here.
      const pages = all.messages;
      const texts = pages.map((page) => JSON.stringify(page));
      const floor: number[] = [];
      const parseFloor: number[] = [];
      for (let i = 0; i < 25; i++) {
        let t = performance.now();
        for (const page of pages) JSON.parse(JSON.stringify(page));
        floor.push(performance.now() - t);
        t = performance.now();
        for (const text of texts) JSON.parse(text);
        parseFloor.push(performance.now() - t);
      }
      await session.close();
      const rss = rssMb(gh.child.pid);
      const baseRss = await oneToolRss();
      console.log(`\nCatalog: ${MANY_UPSTREAMS} upstreams × ${TOOLS_PER_UPSTREAM} tools through Gatehouse (lean client, 25 samples each)`);
      printTable([
        ['measure', 'value'],
        ['tools/list first page, median ms', fmt(median(first))],
        ['tools/list whole list through all pages, median ms', fmt(median(whole))],
        ['floor: serialising and parsing the same pages once, in one process, no I/O, median ms', fmt(median(floor))],
        ['floor: parsing the same pages once (the client\'s part alone), median ms', fmt(median(parseFloor))],
        ['tools in the whole list / pages', `${all.tools} / ${all.pages}`],
        ['first page response bytes', String(firstBytes)],
        ['whole list response bytes', String(all.bytes)],
        ['gateway RSS with this catalog, MB', fmt(rss, 1)],
        ['gateway RSS with one 1-tool upstream (same listing), MB', fmt(baseRss, 1)],
        ['catalog memory (difference), MB', fmt(rss - baseRss, 1)],
      ]);
      target('tools/list 5,000 tools: first page median', median(first), 10, true, ' ms');
      target('tools/list 5,000 tools: whole list median', median(whole), 10, true, ' ms');
      if (RECORDED_CATALOG_MB > 0) target(`catalog memory vs ${RECORDED_CATALOG_MB} MB before`, (rss - baseRss) / RECORDED_CATALOG_MB, 0.7, true);
      else console.log('(catalog memory target: set BENCH_CATALOG_BASELINE_MB to the difference measured on the commit to compare with)');
    }
    await gh.stop();
    if (doStartup && round % 2 === 0) bareReady.push(await bareStartupMs(serversFile));
  }
  if (doStartup) {
    console.log(`\nStart-up: process spawn until all ${MANY_UPSTREAMS} upstreams are ready (connected and tools listed), ${rounds} alternating rounds`);
    printTable([
      ['system', 'median ms', 'samples ms'],
      ['gatehouse serve', fmt(median(gatehouseReady), 0), gatehouseReady.map((v) => fmt(v, 0)).join(', ')],
      ['bare SDK process, same servers', fmt(median(bareReady), 0), bareReady.map((v) => fmt(v, 0)).join(', ')],
    ]);
    target(`${MANY_UPSTREAMS} upstreams ready vs bare SDK process`, median(gatehouseReady) / median(bareReady), 1.1, true);
  }
  fs.rmSync(home.home, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Approval wake-up (in process: the decision is made through the Gatehouse API, as the editor does)
// ---------------------------------------------------------------------------------------------

/** A stateful streamable HTTP upstream built with the SDK, with a tool the policy holds. */
async function startHttpUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const listener = getRequestListener(async (request) => {
    const id = request.headers.get('mcp-session-id');
    const existing = id ? sessions.get(id) : undefined;
    if (existing) return existing.handleRequest(request);
    const server = new McpServer({ name: 'bench-http', version: '1.0.0' });
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

/**
 * Holds `held` calls, parks an await_approval on each, then decides them one at a time: each
 * sample is the time from one decision to its agent receiving the executed result, while the
 * other calls stay held.
 */
async function approvalWakeUp(gatehouse: Gatehouse, url: string, keys: readonly string[], held: number): Promise<number[]> {
  const clients = await Promise.all(
    Array.from({ length: held }, async (_, i) => {
      const client = new Client({ name: 'bench', version: '1.0.0' });
      // Each agent its own key: one client may hold only MAX_PENDING_PER_CLIENT calls at once.
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${keys[i % keys.length]}` } } }));
      return client;
    }),
  );
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

async function wakeUp(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const upstream = await startHttpUpstream();
  fs.writeFileSync(path.join(home, 'servers.json'), JSON.stringify({ servers: { web: { type: 'http', url: upstream.url } } }));
  fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ rules: [{ tool: 'web__write', decision: 'ask' }] }));
  const gatehouse = new Gatehouse({ home, port: 0 });
  await gatehouse.start();
  await gatehouse.gateway.upstreams.settled();
  const keys = Array.from({ length: 50 }, (_, i) => gatehouse.gateway.apiKeys.create(`bench-${i}`));
  console.log('\nApproval wake-up: one decision → its await_approval returns the executed result, with N calls held (in process)');
  const rows: string[][] = [['held calls', 'decisions', 'p50 ms', 'p99 ms']];
  for (const [held, rounds] of [[1, 50], [50, 2]] as const) {
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) samples.push(...(await approvalWakeUp(gatehouse, gatehouse.gateway.url, keys, held)));
    samples.sort((a, b) => a - b);
    rows.push([String(held), String(samples.length), fmt(percentile(samples, 50)), fmt(percentile(samples, 99))]);
    if (held === 50) {
      target('approval wake-up, 50 held: p50', percentile(samples, 50), 5, true, ' ms');
      target('approval wake-up, 50 held: p99', percentile(samples, 99), 20, true, ' ms');
    }
  }
  printTable(rows);
  await gatehouse.stop();
  await upstream.close();
  fs.rmSync(home, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Policy evaluation with 1,000 rules (PolicyStore.evaluate, as the gateway calls it per call)
// ---------------------------------------------------------------------------------------------

function policyCost(table: TableResult | undefined): void {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const rules: unknown[] = [];
  for (let i = 0; i < 999; i++) {
    // A mix like a long-lived policy: globs over other servers, argument conditions, and a tenth
    // of the rules on the called server itself whose conditions do not hold for this call.
    if (i % 10 === 0) rules.push({ tool: 'local__*', when: { path: { glob: `/srv/${i}/**` } }, decision: 'deny' });
    else if (i % 3 === 0) rules.push({ tool: `svc${i}__write_*`, when: { path: { prefix: `/data/${i}` }, force: true }, decision: 'ask' });
    else rules.push({ tool: `svc${i}__*`, decision: i % 2 ? 'allow' : 'deny' });
  }
  rules.push({ tool: 'local__echo', decision: 'allow' });
  fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ rules }));
  const store = new PolicyStore(home);
  store.load();
  const tool = { name: 'echo', server: 'local', annotations: { readOnlyHint: true } };
  const evaluate = (i: number): void => {
    const verdict = store.evaluate(tool, { text: `call ${i}`, path: '/home/user/notes.txt' });
    if (verdict.decision !== 'allow') throw new Error(`policy bench expected allow, got ${verdict.decision}`);
  };
  for (let i = 0; i < 2_000; i++) evaluate(i);
  // Five batches: on a shared machine the best batch is the cost, the median what a call sees.
  const iterations = 4_000;
  const batches: number[] = [];
  for (let batch = 0; batch < 5; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) evaluate(i);
    batches.push(((performance.now() - t0) / iterations) * 1000);
  }
  const perCallUs = median(batches);
  const bestUs = Math.min(...batches);
  store.dispose();
  fs.rmSync(home, { recursive: true, force: true });
  console.log(`\nPolicy evaluation: PolicyStore.evaluate with ${rules.length} rules, 5 batches of ${iterations} calls after warm-up (the verdict is allow by the last rule)`);
  const rows: string[][] = [['measure', 'value'], ['per call, µs (median batch)', fmt(perCallUs, 1)], ['per call, µs (best batch)', fmt(bestUs, 1)]];
  if (table) {
    rows.push(['share of the floor\'s 1-client p50 (lean client)', `${fmt((perCallUs / 1000 / table.floorLeanP50) * 100, 1)} %`]);
    rows.push(['share of Gatehouse\'s 1-client p50 (lean client)', `${fmt((perCallUs / 1000 / table.gatehouseLeanP50) * 100, 1)} %`]);
  }
  printTable(rows);
}

// ---------------------------------------------------------------------------------------------
// Soak
// ---------------------------------------------------------------------------------------------

/**
 * `2025`: calls over 2025-era sessions; `2026-07-28`: the same calls as 2026-07-28 requests, which
 * have no session (each of the 100 callers is one client connection), through that era's own
 * serving path.
 */
async function soak(era: '2025' | '2026-07-28'): Promise<void> {
  const total = Number(process.env.BENCH_SOAK_CALLS ?? 10_000);
  const sessionsCount = Number(process.env.BENCH_SOAK_SESSIONS ?? 100);
  const open = era === '2025' ? leanSession : leanModernSession;
  const home = gatehouseHome({ servers: { local: { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) } } }, [{ tool: 'local__echo', decision: 'allow' }]);
  const gh = await startGatehouse(home);
  // As several agents: one key holds at most MAX_SESSIONS_PER_CLIENT sessions.
  const keys = [home.key, ...Array.from({ length: Math.ceil(sessionsCount / MAX_SESSIONS_PER_CLIENT) - 1 }, (_, i) => createKey(home.home, `soak-${i}`))];
  const sessions = await Promise.all(Array.from({ length: sessionsCount }, (_, i) => open(gh.url, { authorization: `Bearer ${keys[i % keys.length]}` })));
  const warmupCalls = Math.max(1_000, Math.floor(total / 10));
  let next = 0;
  let errors = 0;
  let firstError = '';
  let warmRss = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      try {
        const response = await sessions[i % sessionsCount].request('tools/call', { name: 'local__echo', arguments: { text: `soak ${i}` } });
        if (response.error || (response.result as { isError?: boolean }).isError) throw new Error(JSON.stringify(response));
      } catch (error) {
        errors++;
        firstError ||= String(error).slice(0, 200);
      }
      if (i === warmupCalls) warmRss = rssMb(gh.child.pid);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - t0;
  const endRss = rssMb(gh.child.pid);
  await Promise.all(sessions.map((s) => s.close()));
  await gh.stop();
  fs.rmSync(home.home, { recursive: true, force: true });
  const over = era === '2025' ? `${sessionsCount} sessions` : `${sessionsCount} callers of MCP 2026-07-28 (no sessions)`;
  console.log(`\nSoak${era === '2025' ? '' : ' (2026-07-28)'}: ${total} calls over ${over} (${CONCURRENCY} in flight, lean client) through gatehouse serve`);
  printTable([
    ['measure', 'value'],
    ['errors', `${errors}${firstError ? ` (first: ${firstError})` : ''}`],
    ['calls/s', fmt((total / elapsed) * 1000, 0)],
    [`RSS after ${warmupCalls} warm-up calls, MB`, fmt(warmRss, 1)],
    ['RSS at the end, MB', fmt(endRss, 1)],
  ]);
  const name = era === '2025' ? 'soak' : 'soak (2026-07-28)';
  target(`${name} errors`, errors, 0, true, '');
  target(`${name} RSS end / after warm-up`, endRss / (warmRss || endRss), 1.1, true);
  if (total < 100_000 && era === '2025') console.log(`(the target is 100,000 calls over 100 sessions: BENCH_SOAK_CALLS=100000)`);
}

function sizes(): void {
  console.log('\nBundle sizes');
  const rows: string[][] = [['file', 'bytes', 'budget', 'ratio']];
  for (const [file, budget] of [['dist/extension.js', 1.5 * 1024 * 1024], ['dist/cli.js', 1.5 * 1024 * 1024], ['dist/gatehouse.vsix', 3 * 1024 * 1024]] as const) {
    const full = path.join(ROOT, file);
    if (fs.existsSync(full)) rows.push([file, String(fs.statSync(full).size), String(budget), fmt(fs.statSync(full).size / budget)]);
  }
  printTable(rows);
}

async function main(): Promise<void> {
  console.log(`Gatehouse benchmark; node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log('Read the ratios, not the milliseconds: the clients, the systems and their upstreams share this machine.');
  const table = wants('table') ? await sideBySide() : undefined;
  if (wants('catalog') || wants('startup')) await catalogAndStartup(wants('catalog'), wants('startup'));
  if (wants('wake')) await wakeUp();
  if (wants('policy')) policyCost(table);
  if (process.env.BENCH_SOAK === '1' && wants('soak')) {
    await soak('2025');
    await soak('2026-07-28');
  }
  if (wants('size')) sizes();
  console.log(`\nTargets (load average at the end ${os.loadavg().map((v) => v.toFixed(2)).join(' ')})`);
  printTable(verdicts);
  await breakdownsOfMissed();
}

/** Where the time goes, measured, for the targets this run missed (BENCH_BREAKDOWN=0 skips it). */
async function breakdownsOfMissed(): Promise<void> {
  if (process.env.BENCH_BREAKDOWN === '0') return;
  const missed = verdicts.slice(1).filter((row) => row[3] === 'MISSED').map((row) => row[0]);
  const profiles: Array<{ title: string; options: Parameters<typeof profileGateway>[0]; unit: string }> = [];
  if (missed.some((name) => /client: 1-client/.test(name))) profiles.push({ title: 'allowed call, 1 lean client, 2,000 calls', options: { catalog: false, calls: 2000, clients: 1 }, unit: 'call' });
  if (missed.some((name) => /client: 16-client/.test(name))) profiles.push({ title: 'allowed call, 16 lean clients, 4,000 calls', options: { catalog: false, calls: 4000, clients: 16 }, unit: 'call' });
  if (missed.some((name) => name.startsWith('tools/list'))) profiles.push({ title: 'tools/list, 10 whole lists of 5,002 tools', options: { catalog: true, calls: 10, clients: 1 }, unit: 'whole list' });
  for (const { title, options, unit } of profiles) {
    const profile = await profileGateway(options);
    console.log(`\nWhere the time goes (missed target): ${title}, gatehouse serve under --cpu-prof, the samples while the calls ran; each charged to the first layer its stack shows`);
    printLayers(profile.file, profile.calls, unit, profile.window);
    fs.rmSync(path.dirname(profile.file), { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
