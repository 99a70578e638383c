import { leanSession } from "./leanClient"; import { NODE, ROOT, gatehouseHome, startGatehouse } from "./systems"; import * as path from "node:path";
(async () => {
const home = gatehouseHome({ servers: { s00: { type: 'stdio', command: NODE, args: [path.join(ROOT, 'bench/upstreamManyTools.mjs'), '3'] } } }, []);
const gh = await startGatehouse(home, { upstreams: 1 });
const s = await leanSession(gh.url, gh.headers);
const r = await s.request('tools/list', {});
console.log(JSON.stringify((r.result as any).tools.at(-1)));
})();
