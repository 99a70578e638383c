/**
 * The systems `npm run bench` compares, each started in its own process in front of the same stdio
 * upstream: Gatehouse (`gatehouse serve`), supergateway, mcp-proxy and the floor forwarder.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const NODE = process.execPath;
export const UPSTREAM = [NODE, path.join(ROOT, 'bench/upstreamStdio.mjs')];
const PEERS = path.join(ROOT, '.tools/bench-peers/node_modules');
/** The Gatehouse CLI to measure: BENCH_GATEHOUSE_CLI points at another build (another branch, an experiment) for A/B runs. */
export const GATEHOUSE_CLI = process.env.BENCH_GATEHOUSE_CLI ?? path.join(ROOT, 'dist/cli.js');

export interface RunningSystem {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServersFile {
  servers: Record<string, { type: 'stdio'; command: string; args: string[]; env?: Record<string, string> }>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** Resolves with the first stdout line matching `pattern`, or rejects when the child exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms: ${buffered}${stderr}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000); });
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const match = pattern.exec(buffered);
      if (match) { clearTimeout(timer); child.stdout?.off('data', onData); resolve(match); }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}) before it was ready: ${buffered}${stderr}`)); });
  });
}

/** Polls until an MCP initialize POST is answered: the peers print nothing reliable when they are ready. */
async function waitForMcp(url: string, child: ChildProcess, what: string): Promise<void> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } } });
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } });
      await res.text();
      const session = res.headers.get('mcp-session-id');
      if (session) await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session } }).then((r) => r.text()).catch(() => undefined);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not answer initialize at ${url}`);
}

export interface GatehouseHome {
  readonly home: string;
  readonly key: string;
}

/** A temp GATEHOUSE_HOME with the given servers, a policy allowing `allowTools`, and an API key. */
export function gatehouseHome(servers: ServersFile, rules: unknown[]): GatehouseHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  fs.writeFileSync(path.join(home, 'servers.json'), JSON.stringify(servers));
  fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ rules }));
  return { home, key: createKey(home, 'bench') };
}

/**
 * Another API key in a bench home. The gateway keeps at most MAX_SESSIONS_PER_CLIENT sessions per
 * client (a key is one client), so a benchmark of many sessions spreads them over several keys,
 * as several agents would.
 */
export function createKey(home: string, label: string): string {
  const created = spawnSync(NODE, [GATEHOUSE_CLI, 'key', 'create', label], { env: { ...process.env, GATEHOUSE_HOME: home }, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`gatehouse key create failed: ${created.stderr}`);
  return created.stdout.trim();
}

export interface GatehouseOptions {
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: string[];
  /** Resolve once this many "upstream …: ready" lines were printed. */
  readonly upstreams?: number;
  /** The build to run, when not GATEHOUSE_CLI (an A/B run). */
  readonly cli?: string;
}

export async function startGatehouse(at: GatehouseHome, options: GatehouseOptions = {}): Promise<RunningSystem & { readyMs: number }> {
  const t0 = performance.now();
  const child = spawn(NODE, [...(options.nodeArgs ?? []), options.cli ?? GATEHOUSE_CLI, 'serve', '--port', '0'], {
    env: { ...process.env, GATEHOUSE_HOME: at.home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const wanted = options.upstreams ?? 1;
  let ready = 0;
  let readyMs = 0;
  const allReady = new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (/^upstream \S+: ready/.test(line) && ++ready === wanted) { readyMs = performance.now() - t0; resolve(); }
        if (/^upstream \S+: error/.test(line)) reject(new Error(line));
      }
    });
  });
  const match = await waitForLine(child, /Gatehouse (http:\/\/\S+\/mcp)/, 'gatehouse serve');
  await allReady;
  return { url: match[1], headers: { authorization: `Bearer ${at.key}` }, child, readyMs, stop: () => stopChild(child) };
}

export async function startFloor(): Promise<RunningSystem> {
  const child = spawn(NODE, [path.join(ROOT, 'bench/floorForwarder.mjs'), ...UPSTREAM], { stdio: ['ignore', 'pipe', 'pipe'] });
  const match = await waitForLine(child, /^(\d+)\n/, 'floor forwarder');
  return { url: `http://127.0.0.1:${match[1]}/mcp`, headers: {}, child, stop: () => stopChild(child) };
}

export async function startSupergateway(): Promise<RunningSystem> {
  const port = await freePort();
  const child = spawn(NODE, [path.join(PEERS, 'supergateway/dist/index.js'), '--stdio', UPSTREAM.map((part) => JSON.stringify(part)).join(' '), '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForMcp(url, child, 'supergateway');
  return { url, headers: {}, child, stop: () => stopChild(child) };
}

export async function startMcpProxy(): Promise<RunningSystem> {
  const port = await freePort();
  const child = spawn(NODE, [path.join(PEERS, 'mcp-proxy/dist/bin/mcp-proxy.mjs'), '--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--no-eventStore', '--', ...UPSTREAM], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForMcp(url, child, 'mcp-proxy');
  return { url, headers: {}, child, stop: () => stopChild(child) };
}

/** Resident set size of a process in MB, from /proc (Linux). */
export function rssMb(pid: number | undefined): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}
