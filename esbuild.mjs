// Bundles the extension and the headless CLI into CommonJS for Node, and the panel's webview for the browser.
// `vscode` stays external: the editor provides it at run time.
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
  legalComments: 'none',
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
  await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
}
