/**
 * `npx tsx bench/profile.ts`: CPU profile of `gatehouse serve` on the allowed-call path. Starts
 * the gateway under `--cpu-prof`, drives BENCH_CALLS (default 3000) allowed calls from 16 lean
 * clients, stops it (the profile is written on exit) and prints self time by function and by
 * module, then by layer. Keep the .cpuprofile (printed path) to open it in a flame graph viewer.
 * BENCH_PROFILE=catalog profiles `tools/list` over 20 upstreams × 250 tools instead
 * (BENCH_CALLS whole lists through every page, default 30).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leanSession } from './leanClient';
import { NODE, ROOT, UPSTREAM, gatehouseHome, startGatehouse } from './systems';
import type { ServersFile } from './systems';
import { printLayers, summarise, type SampleWindow } from './profileSummary';

const CATALOG = process.env.BENCH_PROFILE === 'catalog';
const CALLS = Number(process.env.BENCH_CALLS ?? (CATALOG ? 30 : 3000));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);

export interface GatewayProfile {
  /** The .cpuprofile written by the gateway. */
  readonly file: string;
  readonly calls: number;
  readonly elapsedMs: number;
  /** When the calls ran, to leave start-up and shutdown out of the figures. */
  readonly window: SampleWindow;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * Runs `gatehouse serve` under --cpu-prof and drives it: `calls` allowed calls from `clients`
 * lean clients, or with `catalog`, `calls` whole `tools/list` reads over 20 upstreams × 250 tools.
 */
export async function profileGateway(options: { catalog: boolean; calls: number; clients: number }): Promise<GatewayProfile> {
  const { catalog, calls } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-prof-'));
  const servers: ServersFile = { servers: {} };
  if (catalog) {
    for (let i = 0; i < 20; i++) servers.servers[`s${i}`] = { type: 'stdio', command: NODE, args: [path.join(ROOT, 'bench/upstreamManyTools.mjs'), '250'] };
  } else {
    servers.servers.local = { type: 'stdio', command: UPSTREAM[0], args: UPSTREAM.slice(1) };
  }
  const home = gatehouseHome(servers, [{ tool: 'local__echo', decision: 'allow' }]);
  const gh = await startGatehouse(home, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], upstreams: Object.keys(servers.servers).length });
  const sessions = await Promise.all(Array.from({ length: catalog ? 1 : options.clients }, () => leanSession(gh.url, gh.headers)));
  const drive = async (total: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      sessions.map(async (session) => {
        while (next < total) {
          const i = next++;
          if (catalog) {
            // The whole list, page by page, as a client that wants every tool reads it.
            let cursor: string | undefined;
            do {
              const response = await session.request('tools/list', cursor ? { cursor } : {});
              if (response.error) throw new Error(response.error.message);
              cursor = (response.result as { nextCursor?: string }).nextCursor;
            } while (cursor);
            continue;
          }
          const response = await session.request('tools/call', { name: 'local__echo', arguments: { text: `call ${i}` } });
          if (response.error) throw new Error(response.error.message);
        }
      }),
    );
  };
  // Warmed up first, as a gateway that has run for a while is; the window starts after.
  await drive(catalog ? 2 : 500);
  const fromUs = monotonicUs();
  const t0 = performance.now();
  await drive(calls);
  const elapsedMs = performance.now() - t0;
  const toUs = monotonicUs();
  await Promise.all(sessions.map((s) => s.close()));
  await gh.stop();
  fs.rmSync(home.home, { recursive: true, force: true });
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return { file: path.join(dir, file), calls, elapsedMs, window: { fromUs, toUs } };
}

async function main(): Promise<void> {
  const profile = await profileGateway({ catalog: CATALOG, calls: CALLS, clients: CLIENTS });
  console.log(`${CALLS} ${CATALOG ? 'tools/list over 5,000 tools from 1' : `allowed calls from ${CLIENTS}`} lean clients in ${profile.elapsedMs.toFixed(0)} ms (${((CALLS / profile.elapsedMs) * 1000).toFixed(0)} calls/s); profile ${profile.file}\n`);
  summarise(profile.file, CALLS);
  printLayers(profile.file, CALLS, CATALOG ? 'whole list' : 'call', profile.window);
}

if (require.main === module) main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
