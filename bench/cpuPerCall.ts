/**
 * `npx tsx bench/cpuPerCall.ts`: CPU time per allowed call, of the gateway (user + system of the
 * `gatehouse serve` process, from /proc) and of the clients (this process, which runs nothing
 * else), across BENCH_CALLS calls from 16 clients after a warm-up. CPU time is less disturbed than
 * latency by other processes on a shared machine, so these are the figures to A/B two builds with.
 *
 *   BENCH_CLIENT   lean (default) or sdk: the lean node:http client or the MCP SDK client
 *   BENCH_AB       another dist/cli.js: both builds run BENCH_ROUNDS (default 5) times, in
 *                  alternating order, and the medians and the median of the paired ratios print
 *   BENCH_GATEHOUSE_CLI  the build measured (default dist/cli.js), as for every bench script
 */
import * as fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { leanSession } from './leanClient';
import { GATEHOUSE_CLI, UPSTREAM, gatehouseHome, startGatehouse } from './systems';

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CLIENTS = 16;
const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux
const SDK = process.env.BENCH_CLIENT === 'sdk';

function cpuUs(pid: number | undefined): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
}

function ownCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

type Call = (i: number) => Promise<void>;

async function clientsFor(url: string, headers: Record<string, string>): Promise<{ calls: Call[]; close(): Promise<void> }> {
  if (SDK) {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const client = new Client({ name: 'bench-cpu', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
        return client;
      }),
    );
    return {
      calls: clients.map((client) => async (i) => void (await client.request({ method: 'tools/call', params: { name: 'local__echo', arguments: { text: `call ${i}` } } }, CallToolResultSchema))),
      close: async () => void (await Promise.all(clients.map((c) => c.close()))),
    };
  }
  const sessions = await Promise.all(Array.from({ length: CLIENTS }, () => leanSession(url, headers)));
  return {
    calls: sessions.map((session) => async (i) => {
      const response = await session.request('tools/call', { name: 'local__echo', arguments: { text: `call ${i}` } });
      if (response.error) throw new Error(response.error.message);
    }),
    close: async () => void (await Promise.all(sessions.map((s) => s.close()))),
  };
}

/** Gateway and client CPU per call, and calls/s, for one build. */
async function measure(cli: string): Promise<{ gateway: number; client: number; rate: number }> {
  const home = gatehouseHome({ servers: { local: { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) } } }, [{ tool: 'local__echo', decision: 'allow' }]);
  const gh = await startGatehouse(home, { cli });
  const clients = await clientsFor(gh.url, gh.headers);
  const run = async (total: number): Promise<void> => {
    let next = 0;
    await Promise.all(clients.calls.map(async (call) => {
      while (next < total) await call(next++);
    }));
  };
  await run(500);
  const gateway0 = cpuUs(gh.child.pid);
  const client0 = ownCpuUs();
  const t0 = performance.now();
  await run(CALLS);
  const elapsed = performance.now() - t0;
  const result = { gateway: (cpuUs(gh.child.pid) - gateway0) / CALLS, client: (ownCpuUs() - client0) / CALLS, rate: (CALLS / elapsed) * 1000 };
  await clients.close();
  await gh.stop();
  fs.rmSync(home.home, { recursive: true, force: true });
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const who = `${CALLS} calls, ${CLIENTS} ${SDK ? 'MCP SDK' : 'lean'} clients`;
  const other = process.env.BENCH_AB;
  if (!other) {
    const m = await measure(GATEHOUSE_CLI);
    console.log(`gateway CPU per allowed call: ${m.gateway.toFixed(0)} µs; client CPU ${m.client.toFixed(0)} µs; ${m.rate.toFixed(0)} calls/s (${who})`);
    return;
  }
  const builds = [GATEHOUSE_CLI, other];
  const runs: Array<Array<{ gateway: number; client: number; rate: number }>> = [[], []];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  for (let round = 0; round < rounds; round++) {
    for (const b of round % 2 ? [1, 0] : [0, 1]) runs[b].push(await measure(builds[b]));
  }
  console.log(`A = ${builds[0]}\nB = ${builds[1]}\n${rounds} rounds in alternating order, ${who}; medians`);
  for (const [b, name] of ['A', 'B'].entries()) {
    const r = runs[b];
    console.log(`${name}: gateway ${median(r.map((x) => x.gateway)).toFixed(0)} µs/call [${r.map((x) => x.gateway.toFixed(0)).join(' ')}], client ${median(r.map((x) => x.client)).toFixed(0)} µs/call, ${median(r.map((x) => x.rate)).toFixed(0)} calls/s`);
  }
  const paired = (key: 'gateway' | 'client'): string => median(runs[0].map((x, i) => x[key] / runs[1][i][key])).toFixed(3);
  console.log(`A/B, median of paired ratios: gateway CPU ${paired('gateway')}, client CPU ${paired('client')}`);
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
