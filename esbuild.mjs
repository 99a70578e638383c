// Bundles the extension and the headless CLI into CommonJS for Node, and the panel's webview for the browser.
// `vscode` stays external: the editor provides it at run time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: production,
  sourcemap: true,
  sourcesContent: false,
  external: ['vscode'],
  logLevel: 'warning',
  // The bundles carry other people's code: their licences go into dist/THIRD-PARTY-NOTICES.txt instead.
  legalComments: 'none',
  metafile: true,
  // jsonc-parser's UMD build requires its modules dynamically, which a bundle cannot follow.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
};

const entries = [
  { entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // The policy panel's front end runs in a webview (a browser), and its CSS pulls in the codicon font.
  {
    entryPoints: { webview: 'src/webview/main.ts', panel: 'src/webview/panel.css' },
    outdir: 'dist',
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    minify: true,
    external: [],
    loader: { '.ttf': 'file' },
    assetNames: '[name]',
  },
];

const contexts = await Promise.all(entries.map((entry) => esbuild.context({ ...common, ...entry })));
if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
} else {
  const results = await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
  writeThirdPartyNotices(results.map((result) => result.metafile));
}

/**
 * Lists every npm package whose code ended up in a bundle, with its licence text, so that the
 * MIT/ISC/BSD/Apache notices travel with the code (in the .vsix and the npm tarball).
 */
function writeThirdPartyNotices(metafiles) {
  const packages = new Map();
  for (const metafile of metafiles) {
    for (const [input, info] of Object.entries(metafile.inputs)) {
      const at = input.lastIndexOf('node_modules/');
      if (at < 0 || info.bytes === 0) continue;
      const rest = input.slice(at + 'node_modules/'.length).split('/');
      const dir = input.slice(0, at) + 'node_modules/' + rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/');
      packages.set(dir, true);
    }
  }
  const entries = [...packages.keys()]
    .map((dir) => ({ dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) }))
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  const sections = entries.map(({ dir, manifest }) => {
    const licenceFile = fs.readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = licenceFile ? fs.readFileSync(path.join(dir, licenceFile), 'utf8').trim() : `No licence file is shipped with this package; its package.json says: ${manifest.license ?? 'nothing'}.`;
    return `${manifest.name} ${manifest.version} (${manifest.license ?? 'unknown licence'})\n${manifest.homepage ?? ''}\n\n${text}\n`;
  });
  const header = 'Gatehouse bundles the following third-party packages into dist/extension.js, dist/cli.js, dist/webview.js and dist/panel.css.\n';
  fs.writeFileSync('dist/THIRD-PARTY-NOTICES.txt', [header, ...sections].join(`\n${'-'.repeat(78)}\n\n`));
}
