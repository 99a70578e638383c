import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, REPO_ROOT, tempDir } from '../helpers/gatewayHarness';

/** npm as a user runs it; the local cache first, so the install is quick and works without a registry for cached packages. */
function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

/** Starts `npx gatehouse serve` in `cwd` and resolves with its URL once the demo upstream is ready. */
function startServe(cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; url: Promise<string> } {
  const child = spawn('npx', ['--offline', 'gatehouse', 'serve', '--port', '0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /^Gatehouse (http:\/\/127\.0\.0\.1:\d+\/mcp)/m.exec(output);
      if (match && /upstream demo: ready/.test(output)) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npx gatehouse serve exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, url };
}

describe('the npm package: packed, installed into an empty folder, and run from there', function () {
  this.timeout(600_000);
  let installDir: string;
  let env: NodeJS.ProcessEnv;
  let serve: ReturnType<typeof startServe> | undefined;

  before(function () {
    const packDir = tempDir('gatehouse-pack-');
    // `npm pack` runs the prepack script (the production build), as publishing would.
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', packDir], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(packDir, packed[0]!.filename);
    installDir = tempDir('gatehouse-install-');
    fs.writeFileSync(path.join(installDir, 'package.json'), JSON.stringify({ name: 'uses-gatehouse', version: '1.0.0', private: true }));
    npm(['install', tarball], installDir);
    // A user's shell: no npm lifecycle variables from the test runner, and a fresh Gatehouse home.
    env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
    env.GATEHOUSE_HOME = tempDir('gatehouse-home-');
  });

  after(function () {
    if (serve?.child.pid) process.kill(-serve.child.pid, 'SIGTERM');
  });

  it('ships the bundles, the skills and the third-party notices, and not the sources or tests', function () {
    const installed = path.join(installDir, 'node_modules', 'gatehouse');
    for (const file of ['dist/cli.js', 'dist/THIRD-PARTY-NOTICES.txt', 'skills/gatehouse-approvals/SKILL.md', 'LICENSE', 'README.md']) {
      assert.ok(fs.existsSync(path.join(installed, file)), `${file} is in the package`);
    }
    for (const folder of ['src', 'test', 'bench', 'scripts']) assert.ok(!fs.existsSync(path.join(installed, folder)), `${folder}/ is not in the package`);
    const notices = fs.readFileSync(path.join(installed, 'dist/THIRD-PARTY-NOTICES.txt'), 'utf8');
    for (const bundled of ['@modelcontextprotocol/sdk', 'hono', 'jose', 'zod', 'commander']) assert.match(notices, new RegExp(`^${bundled.replace('/', '\\/')} \\d`, 'm'));
    assert.match(notices, /Permission is hereby granted/, 'the MIT licence text itself is there');
  });

  it('serves /mcp from `npx gatehouse serve`, and the key command it prints works as printed', async function () {
    serve = startServe(installDir, env);
    const url = await serve.url;
    const output = serve.output();
    const keyCommand = /^ {2}(.+ key create codex)$/m.exec(output)?.[1];
    assert.equal(keyCommand, 'npx gatehouse key create codex', output);
    const key = execFileSync('sh', ['-c', keyCommand], { cwd: installDir, env, encoding: 'utf8', timeout: 120_000 }).trim();
    assert.match(key, /^gh_[A-Za-z0-9_-]{40,}$/);
    assert.match(output, /^\[mcp_servers\.gatehouse\]$/m);
    assert.ok(output.includes(`url = "${url}"`), output);

    const client = await connectClient(url, key);
    try {
      const result = await client.callTool({ name: 'demo__echo', arguments: { text: 'from the tarball' } }, CallToolResultSchema);
      assert.deepEqual(result.structuredContent, { text: 'from the tarball' });
    } finally {
      await client.close();
    }
  });
});
