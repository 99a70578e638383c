/**
 * `npx tsx bench/cpuPerCall.ts`: the gateway's own CPU time per allowed call (user + system of the
 * `gatehouse serve` process, from /proc, across BENCH_CALLS calls from 16 lean clients after a
 * warm-up). CPU time is less sensitive than latency to other processes on a shared machine, so
 * this is the figure to A/B two builds with: BENCH_GATEHOUSE_CLI=<other dist/cli.js>.
 */
import * as fs from 'node:fs';
import { leanSession } from './leanClient';
import { UPSTREAM, gatehouseHome, startGatehouse } from './systems';

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CLIENTS = 16;
const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

function cpuUs(pid: number | undefined): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
}

async function main(): Promise<void> {
  const home = gatehouseHome({ servers: { local: { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) } } }, [{ tool: 'local__echo', decision: 'allow' }]);
  const gh = await startGatehouse(home);
  const sessions = await Promise.all(Array.from({ length: CLIENTS }, () => leanSession(gh.url, gh.headers)));
  const run = async (total: number): Promise<void> => {
    let next = 0;
    await Promise.all(sessions.map(async (session) => {
      while (next < total) {
        const i = next++;
        const response = await session.request('tools/call', { name: 'local__echo', arguments: { text: `call ${i}` } });
        if (response.error) throw new Error(response.error.message);
      }
    }));
  };
  await run(500);
  const cpu0 = cpuUs(gh.child.pid);
  const t0 = performance.now();
  await run(CALLS);
  const elapsed = performance.now() - t0;
  const cpu = cpuUs(gh.child.pid) - cpu0;
  await Promise.all(sessions.map((s) => s.close()));
  await gh.stop();
  fs.rmSync(home.home, { recursive: true, force: true });
  console.log(`gateway CPU per allowed call: ${(cpu / CALLS).toFixed(0)} µs; ${((CALLS / elapsed) * 1000).toFixed(0)} calls/s (${CALLS} calls, ${CLIENTS} lean clients)`);
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
