/**
 * Summarises a V8 .cpuprofile: self time by function and by module (package, or file for the
 * bundle), as a share of the profile and in µs per call.   npx tsx bench/profileSummary.ts <file> [calls]
 */
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The source file of a bundle frame. An unminified bundle (`node esbuild.mjs` without
 * --production) marks each source file with a `// path` comment; a minified one is mapped back
 * through its source map (`dist/cli.js.map`), with Node's own `SourceMap`.
 */
const bundleFiles = new Map<string, { markers: Array<{ line: number; file: string }>; map?: SourceMap }>();
function sourceOf(frame: CallFrame): string | undefined {
  const { url, lineNumber: line, columnNumber: column } = frame;
  if (!url.endsWith('dist/cli.js')) return undefined;
  let bundle = bundleFiles.get(url);
  if (!bundle) {
    const file = url.replace(/^file:\/\//, '');
    const markers: Array<{ line: number; file: string }> = [];
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const [index, text] of lines.entries()) {
      const match = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
      if (match) markers.push({ line: index, file: match[1] });
    }
    const map = markers.length === 0 && fs.existsSync(`${file}.map`) ? new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined;
    bundle = { markers, map };
    bundleFiles.set(url, bundle);
  }
  if (bundle.map) {
    const entry = bundle.map.findEntry(line, column) as { originalSource?: string };
    const source = entry.originalSource?.replace(/^.*?\b((?:src|node_modules)\/)/, '$1');
    return source && /^(src|node_modules)\//.test(source) ? source : undefined;
  }
  let found: string | undefined;
  for (const marker of bundle.markers) {
    if (marker.line > line) break;
    found = marker.file;
  }
  return found;
}

function moduleOf(frame: CallFrame): string {
  const { url } = frame;
  if (!url) return '(native / V8)';
  const source = sourceOf(frame);
  if (source) return source.startsWith('node_modules/') ? `bundle:${source.split('/').slice(1, source.split('/')[1].startsWith('@') ? 3 : 2).join('/')}` : source;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  // Sources run as they are (tsx, in-process benchmarks): the path from src/ on.
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
}

export function summarise(file: string, calls?: number, top = 30): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nativeByCaller = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)!.callFrame;
    const { functionName, url, lineNumber } = frame;
    if (functionName === '(idle)') continue;
    const module = moduleOf(frame);
    const name = `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
    byModule.set(module, (byModule.get(module) ?? 0) + time);
    // Native time (writes, hashing, parsing) belongs to whoever called it: the nearest JS frame.
    if (!url) {
      let parent = parentOf.get(id);
      while (parent !== undefined && !byId.get(parent)!.callFrame.url) parent = parentOf.get(parent);
      const callerFrame = parent === undefined ? undefined : byId.get(parent)!.callFrame;
      const caller = callerFrame ? `${callerFrame.functionName || '(anonymous)'} ${moduleOf(callerFrame)}:${callerFrame.lineNumber + 1}` : '(root)';
      const key = `${functionName} ← ${caller}`;
      nativeByCaller.set(key, (nativeByCaller.get(key) ?? 0) + time);
    }
  }
  // Inclusive time: each sample counts once for every module on its stack (what a module and
  // everything it calls costs), walking up from the sampled frame.
  const inclusive = new Map<string, number>();
  const inclusiveFunctions = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, time] of self) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const frame = byId.get(node)!.callFrame;
      if (frame.url) seen.add(moduleOf(frame));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + time);
    const seenFunctions = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const frame = byId.get(node)!.callFrame;
      const { url, lineNumber, functionName } = frame;
      const module = url ? moduleOf(frame) : '';
      if (!module.startsWith('src/') && !module.startsWith('bundle:')) continue;
      seenFunctions.add(`${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`);
    }
    for (const name of seenFunctions) inclusiveFunctions.set(name, (inclusiveFunctions.get(name) ?? 0) + time);
    // Node's and V8's own work (streams, web Request/Response, writes) charged to the nearest
    // Gatehouse or package frame that asked for it.
    let owner = '(event loop)';
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const frame = byId.get(node)!.callFrame;
      const { url, lineNumber, functionName } = frame;
      const module = url ? moduleOf(frame) : '';
      if (module.startsWith('src/') || module.startsWith('bundle:')) { owner = `${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`; break; }
    }
    const sampled = byId.get(id)!.callFrame;
    const sampledModule = sampled.url ? moduleOf(sampled) : '(native / V8)';
    if (!sampledModule.startsWith('src/') && !sampledModule.startsWith('bundle:')) byOwner.set(owner, (byOwner.get(owner) ?? 0) + time);
  }
  const perCall = (us: number): string => (calls ? `${(us / calls).toFixed(1)}` : '');
  console.log(`busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms profiled${calls ? `; ${(busy / calls).toFixed(0)} µs CPU per call` : ''}\n`);
  const print = (title: string, entries: Map<string, number>): void => {
    console.log(`| ${title} | share of busy | µs/call |\n|---|---|---|`);
    for (const [name, time] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${name} | ${((time / busy) * 100).toFixed(1)} % | ${perCall(time)} |`);
    console.log('');
  };
  print('self time by module', byModule);
  print('inclusive time by module (module and its callees)', inclusive);
  print('inclusive time by function, Gatehouse and bundled packages', inclusiveFunctions);
  print('self time by function', byFunction);
  print('native self time by nearest JS caller', nativeByCaller);
  print('Node and V8 time by the nearest Gatehouse or package frame that caused it', byOwner);
}

/** The layers a gateway's CPU is charged to, each sample to the first that its stack shows. */
const LAYERS: Array<{ name: string; matches(modules: string[], leaf: CallFrame): boolean }> = [
  { name: 'garbage collection', matches: (_m, leaf) => leaf.functionName === '(garbage collector)' },
  { name: 'socket, pipe and file writes (the system calls)', matches: (_m, leaf) => ['writeUtf8String', 'writev', 'writeBuffer', 'writeLatin1String', 'writeBuffers'].includes(leaf.functionName) },
  { name: 'zod validation inside the SDK', matches: (m) => m.includes('bundle:zod') },
  { name: 'audit log line and the arguments\' hash', matches: (m) => m.some((x) => x.startsWith('src/core/approvals/auditLog') || x.startsWith('src/core/approvals/canonical')) },
  { name: 'API key or token check', matches: (m) => m.some((x) => x.startsWith('src/core/auth/')) },
  { name: 'policy evaluation', matches: (m) => m.some((x) => x.startsWith('src/core/approvals/policy')) },
  // Nearest to the leaf only: WholeAnswers wraps the SDK transport's send and runs its handleRequest, whose own work is the SDK's.
  { name: 'JSON answers (wholeAnswers)', matches: (m) => m.find((x) => x.startsWith('src/') || x.startsWith('bundle:'))?.startsWith('src/core/gateway/wholeAnswers') === true },
  { name: 'SDK transports and protocol, both sides (web streams, abort signals, dispatch)', matches: (m) => m.some((x) => x.startsWith('bundle:@modelcontextprotocol/')) },
  { name: 'hono and @hono/node-server (routing, web Request/Response)', matches: (m) => m.some((x) => x === 'bundle:hono' || x === 'bundle:@hono/node-server') },
  { name: 'Gatehouse\'s own call path (gate, sessions, catalog, results)', matches: (m) => m.some((x) => x.startsWith('src/')) },
  { name: 'Node\'s HTTP server (parser, headers)', matches: (m) => m.some((x) => x.startsWith('node:_http') || x.startsWith('node:internal/http')) },
  { name: 'start-up (module loading)', matches: (m) => m.includes('node:internal/modules/cjs/loader') },
];

/**
 * When the measured calls ran, in the profiled process's monotonic clock (µs), which is the clock
 * of `process.hrtime` in any process on the machine: samples outside it (start-up, the upstreams'
 * first listing, shutdown) are left out.
 */
export interface SampleWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Busy time by layer, µs per call: where a target that is missed spends its time. */
export function layers(file: string, calls: number, window?: SampleWindow): Array<{ layer: string; share: number; perCall: number }> {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const totals = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const leaf = byId.get(profile.samples[i])!.callFrame;
    if (leaf.functionName === '(idle)') continue;
    const modules: string[] = [];
    for (let node: number | undefined = profile.samples[i]; node !== undefined; node = parentOf.get(node)) {
      const frame = byId.get(node)!.callFrame;
      // A package is the same layer bundled (bundle:zod) or loaded from node_modules (zod).
      if (frame.url) modules.push(moduleOf(frame).replace(/^(?!bundle:|src\/|node:)/, 'bundle:'));
    }
    const layer = LAYERS.find((l) => l.matches(modules, leaf))?.name ?? 'event loop, socket reads, timers, microtasks (no frame above)';
    const time = profile.timeDeltas[i] ?? 0;
    totals.set(layer, (totals.get(layer) ?? 0) + time);
    busy += time;
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([layer, time]) => ({ layer, share: time / busy, perCall: time / calls }));
}

export function printLayers(file: string, calls: number, unit = 'call', window?: SampleWindow): void {
  const rows = layers(file, calls, window);
  console.log(`| where | share of the gateway's CPU | µs per ${unit} |\n|---|---|---|`);
  for (const row of rows) console.log(`| ${row.layer} | ${(row.share * 100).toFixed(1)} % | ${row.perCall.toFixed(0)} |`);
  console.log(`| all | 100 % | ${rows.reduce((sum, row) => sum + row.perCall, 0).toFixed(0)} |`);
}

if (require.main === module) {
  summarise(process.argv[2], process.argv[3] ? Number(process.argv[3]) : undefined);
  if (process.argv[3]) printLayers(process.argv[2], Number(process.argv[3]));
}
