/**
 * Summarises a V8 .cpuprofile: self time by function and by module (package, or file for the
 * bundle), as a share of the profile and in µs per call.   npx tsx bench/profileSummary.ts <file> [calls]
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * An unminified bundle (`node esbuild.mjs` without --production) marks each source file with a
 * `// path` comment; this maps a bundle line back to that file.
 */
const bundleFiles = new Map<string, Array<{ line: number; file: string }>>();
function sourceOf(url: string, line: number): string | undefined {
  if (!url.endsWith('dist/cli.js')) return undefined;
  let markers = bundleFiles.get(url);
  if (!markers) {
    markers = [];
    const lines = fs.readFileSync(url.replace(/^file:\/\//, ''), 'utf8').split('\n');
    for (const [index, text] of lines.entries()) {
      const match = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
      if (match) markers.push({ line: index, file: match[1] });
    }
    bundleFiles.set(url, markers);
  }
  let found: string | undefined;
  for (const marker of markers) {
    if (marker.line > line) break;
    found = marker.file;
  }
  return found;
}

function moduleOf(url: string, line = 0): string {
  if (!url) return '(native / V8)';
  const source = sourceOf(url, line);
  if (source) return source.startsWith('node_modules/') ? `bundle:${source.split('/').slice(1, source.split('/')[1].startsWith('@') ? 3 : 2).join('/')}` : source;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
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
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const name = `${functionName || '(anonymous)'} ${moduleOf(url, lineNumber)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
    byModule.set(moduleOf(url, lineNumber), (byModule.get(moduleOf(url, lineNumber)) ?? 0) + time);
    // Native time (writes, hashing, parsing) belongs to whoever called it: the nearest JS frame.
    if (!url) {
      let parent = parentOf.get(id);
      while (parent !== undefined && !byId.get(parent)!.callFrame.url) parent = parentOf.get(parent);
      const caller = parent === undefined ? '(root)' : `${byId.get(parent)!.callFrame.functionName || '(anonymous)'} ${moduleOf(byId.get(parent)!.callFrame.url, byId.get(parent)!.callFrame.lineNumber)}:${byId.get(parent)!.callFrame.lineNumber + 1}`;
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
      const { url, lineNumber } = byId.get(node)!.callFrame;
      if (url) seen.add(moduleOf(url, lineNumber));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + time);
    const seenFunctions = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const { url, lineNumber, functionName } = byId.get(node)!.callFrame;
      const module = url ? moduleOf(url, lineNumber) : '';
      if (!module.startsWith('src/') && !module.startsWith('bundle:')) continue;
      seenFunctions.add(`${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`);
    }
    for (const name of seenFunctions) inclusiveFunctions.set(name, (inclusiveFunctions.get(name) ?? 0) + time);
    // Node's and V8's own work (streams, web Request/Response, writes) charged to the nearest
    // Gatehouse or package frame that asked for it.
    let owner = '(event loop)';
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const { url, lineNumber, functionName } = byId.get(node)!.callFrame;
      const module = url ? moduleOf(url, lineNumber) : '';
      if (module.startsWith('src/') || module.startsWith('bundle:')) { owner = `${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`; break; }
    }
    const { url: sampledUrl } = byId.get(id)!.callFrame;
    const sampledModule = sampledUrl ? moduleOf(sampledUrl, byId.get(id)!.callFrame.lineNumber) : '(native / V8)';
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

if (require.main === module) summarise(process.argv[2], process.argv[3] ? Number(process.argv[3]) : undefined);
