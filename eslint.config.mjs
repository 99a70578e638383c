// The boundaries the code relies on, checked by a machine (GitLens and PR-GitHub do the same):
// the core and the webview never import `vscode`, the webview never imports Node, the core never reaches
// into a front end, no import cycles, no default exports.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The webview bundle also compiles these editor files, so they obey the webview's rules.
const sharedWithWebview = ['src/editor/panel/protocol.ts', 'src/editor/panel/format.ts'];

const noVscode = {
  name: 'vscode',
  message: 'src/core and src/webview never import vscode: put editor code in src/editor.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'test/fixtures/**', 'test-artifacts/**', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json', '.node'] })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-default-export': 'error',
      'import-x/no-self-import': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noVscode] }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/core', from: './src/editor', message: 'The core never depends on a front end.' },
            { target: './src/core', from: './src/cli', message: 'The core never depends on a front end.' },
            { target: './src/core', from: './src/webview', message: 'The core never depends on a front end.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/webview/**/*.ts', ...sharedWithWebview],
    rules: {
      'no-restricted-imports': ['error', { paths: [noVscode] }],
      // The webview is a browser page: no `fs`, `path`, `node:*` (they would not bundle, or would bundle a shim).
      'import-x/no-nodejs-modules': 'error',
    },
  },
  {
    files: ['src/webview/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/webview', from: './src/core', message: 'The webview talks to the core only through the panel protocol.' },
            { target: './src/webview', from: './src/cli', message: 'The webview talks to the core only through the panel protocol.' },
          ],
        },
      ],
    },
  },
  {
    // Build and config scripts run on Node.
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // Config files whose tools require a default export.
    files: ['eslint.config.mjs'],
    rules: { 'import-x/no-default-export': 'off' },
  },
);
