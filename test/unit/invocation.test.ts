import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliInvocation } from '../../src/cli/invocation';
import { tempDir } from '../helpers/gatewayHarness';

/** A folder laid out like an npm install: node_modules/gatehouse/dist/cli.js and its .bin link. */
function installedProject(): { root: string; cli: string; bin: string } {
  const root = tempDir('gatehouse-invocation-');
  const cli = path.join(root, 'node_modules', 'gatehouse', 'dist', 'cli.js');
  fs.mkdirSync(path.dirname(cli), { recursive: true });
  fs.writeFileSync(cli, '#!/usr/bin/env node\n', { mode: 0o755 });
  const bin = path.join(root, 'node_modules', '.bin', 'gatehouse');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.symlinkSync(path.relative(path.dirname(bin), cli), bin);
  return { root, cli, bin };
}

describe('cliInvocation: the command Gatehouse prints for running itself again', function () {
  it('says `node <relative path>` for a script under the working folder (npm start, node dist/cli.js)', function () {
    const project = tempDir('gatehouse-checkout-');
    fs.mkdirSync(path.join(project, 'dist'));
    fs.writeFileSync(path.join(project, 'dist', 'cli.js'), '');
    assert.equal(cliInvocation({ script: path.join(project, 'dist', 'cli.js'), env: { PATH: '' }, cwd: project }), 'node dist/cli.js');
    assert.equal(cliInvocation({ script: path.join(project, 'dist', 'cli.js'), env: { PATH: '', npm_lifecycle_event: 'start' }, cwd: project }), 'node dist/cli.js');
  });

  it('says `node <absolute path>` for a script elsewhere, quoted when the path needs it', function () {
    const elsewhere = tempDir('gatehouse elsewhere ');
    const script = path.join(elsewhere, 'cli.js');
    fs.writeFileSync(script, '');
    assert.equal(cliInvocation({ script, env: { PATH: '' }, cwd: tempDir() }), `node '${script}'`);
  });

  it('says `gatehouse` when that name on PATH is this very script (npm i -g)', function () {
    const { cli, bin } = installedProject();
    assert.equal(cliInvocation({ script: bin, env: { PATH: path.dirname(bin) }, cwd: tempDir() }), 'gatehouse');
    assert.equal(cliInvocation({ script: cli, env: { PATH: `/nonexistent${path.delimiter}${path.dirname(bin)}` }, cwd: tempDir() }), 'gatehouse');
  });

  it('does not say `gatehouse` when PATH has another gatehouse, or when npm put node_modules/.bin on PATH', function () {
    const mine = installedProject();
    const other = installedProject();
    assert.equal(cliInvocation({ script: mine.bin, env: { PATH: path.dirname(other.bin) }, cwd: mine.root }), 'node node_modules/.bin/gatehouse');
    assert.equal(cliInvocation({ script: mine.bin, env: { PATH: path.dirname(mine.bin), npm_lifecycle_event: 'start' }, cwd: mine.root }), 'node node_modules/.bin/gatehouse');
  });

  it('says `npx gatehouse` under npx when npx found this script in the project, also from a subfolder', function () {
    const { root, bin } = installedProject();
    const env = { PATH: path.dirname(bin), npm_command: 'exec', npm_lifecycle_event: 'npx' };
    assert.equal(cliInvocation({ script: bin, env, cwd: root }), 'npx gatehouse');
    const sub = path.join(root, 'src', 'deep');
    fs.mkdirSync(sub, { recursive: true });
    assert.equal(cliInvocation({ script: bin, env, cwd: sub }), 'npx gatehouse');
  });

  it('does not say `npx gatehouse` when npx ran a copy from its cache: outside the project that name is another package', function () {
    const cache = installedProject();
    const cwd = tempDir();
    assert.equal(cliInvocation({ script: cache.bin, env: { PATH: path.dirname(cache.bin), npm_command: 'exec' }, cwd }), `node ${cache.bin}`);
  });
});
