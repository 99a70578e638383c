import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, REPO_ROOT, tempDir } from '../helpers/gatewayHarness';

const CLI = path.join(REPO_ROOT, 'dist/cli.js');
const CODEX = path.join(REPO_ROOT, 'node_modules/.bin/codex');

/** Runs `gatehouse serve` as a person would and collects what it prints. */
function startServe(home: string): { child: ChildProcess; output: () => string; url: Promise<string> } {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd: REPO_ROOT, env: { ...process.env, GATEHOUSE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /^Gatehouse (http:\/\/127\.0\.0\.1:\d+\/mcp)/m.exec(output);
      // The last line serve prints without a TTY: the whole start-up text has arrived.
      if (match && /upstream demo: ready/.test(output) && /^No terminal attached/m.test(output)) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gatehouse serve exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, url };
}

describe('quick start: `gatehouse serve` as a child process', function () {
  this.timeout(120_000);
  let serve: ReturnType<typeof startServe>;
  let home: string;
  let url: string;

  before(async function () {
    // The README's commands run the bundle, so the test does too.
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'esbuild.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
    home = tempDir();
    serve = startServe(home);
    url = await serve.url;
  });

  after(function () {
    serve?.child.kill('SIGTERM');
  });

  it('prints the MCP URL, how to get a key and a Codex snippet', function () {
    const output = serve.output();
    // Run from the checkout as the README says, so the command it prints is the checkout's.
    assert.match(output, /^ {2}node dist\/cli\.js key create codex$/m);
    assert.match(output, /\[mcp_servers\.gatehouse\]/);
    assert.match(output, new RegExp(`url = "${url.replace(/[.]/g, '\\.')}"`));
    assert.match(output, /default_tools_approval_mode = "approve"/);
  });

  it('serves the demo to an SDK client with a key made by the `key create` command it printed', async function () {
    const printed = /^ {2}(.+ key create codex)$/m.exec(serve.output())![1]!;
    const key = execFileSync('sh', ['-c', printed], { cwd: REPO_ROOT, env: { ...process.env, GATEHOUSE_HOME: home }, encoding: 'utf8' }).trim();
    assert.match(key, /^gh_[A-Za-z0-9_-]{40,}$/, 'the key is printed alone on stdout');
    const client = await connectClient(url, key);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes('demo__echo') && tools.includes('demo__write_note') && tools.includes('await_approval'));
    const result = await client.callTool({ name: 'demo__echo', arguments: { text: 'quick start' } }, CallToolResultSchema);
    assert.deepEqual(result.structuredContent, { text: 'quick start' });
    await client.close();
    const listed = execFileSync(process.execPath, [CLI, 'key', 'list'], { env: { ...process.env, GATEHOUSE_HOME: home }, encoding: 'utf8' });
    assert.match(listed, /^codex\tcreated /m);
    assert.doesNotMatch(listed, /gh_/, 'keys are never shown again');
  });

  it('prints a snippet that the real Codex CLI accepts', function () {
    const snippet = serve.output().slice(serve.output().indexOf('[mcp_servers.gatehouse]')).split(/\n\n/)[0];
    const codexHome = tempDir('codex-home-');
    fs.writeFileSync(path.join(codexHome, 'config.toml'), `${snippet}\n`);
    const env = { ...process.env, CODEX_HOME: codexHome, HOME: codexHome, GATEHOUSE_TOKEN: 'gh_placeholder' };
    const list = execFileSync(CODEX, ['mcp', 'list'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.match(list, /gatehouse/);
    const entry = JSON.parse(execFileSync(CODEX, ['mcp', 'get', 'gatehouse', '--json'], { env, encoding: 'utf8', timeout: 60_000 }));
    assert.equal(JSON.stringify(entry).includes(url), true, JSON.stringify(entry));
    assert.equal(JSON.stringify(entry).includes('GATEHOUSE_TOKEN'), true);
  });

  it('refuses a second `gatehouse serve` on the same port and says another Gatehouse holds it', function () {
    const port = new URL(url).port;
    assert.throws(
      () => execFileSync(process.execPath, [CLI, 'serve', '--port', port], { env: { ...process.env, GATEHOUSE_HOME: tempDir() }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }),
      (error: { stderr?: string }) => {
        assert.match(String(error.stderr), new RegExp(`Another Gatehouse \\(pid \\d+.*port ${port}`));
        return true;
      },
      'a second serve on the same port must fail',
    );
  });
});
