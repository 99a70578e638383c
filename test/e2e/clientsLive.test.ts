import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentCliEnv, describeChild, runChild, runGatehouse, type ChildResult } from '../helpers/cliRun';
import { REPO_ROOT, startTestGatehouse, tempDir, type TestGatehouse } from '../helpers/gatewayHarness';

/**
 * After `gatehouse connect claude|gemini`, the real Claude Code and Gemini CLIs (from npm,
 * installed into .tools/ by scripts/install-tools.sh) reach the real running gateway. Both run
 * offline: `mcp list` only talks to the configured servers, here on loopback.
 */

const TOOLS = path.join(REPO_ROOT, '.tools');
const CLAUDE = path.join(TOOLS, 'claude-code', 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
const GEMINI = path.join(TOOLS, 'gemini-cli', 'node_modules', '@google', 'gemini-cli', 'bundle', 'gemini.js');

function requireTool(file: string, component: string): void {
  assert.ok(fs.existsSync(file), `${file} is missing: run \`bash scripts/install-tools.sh ${component}\``);
}

describe('the real Claude Code and Gemini CLIs reach the running gateway after `gatehouse connect`', function () {
  this.timeout(120_000);
  let th: TestGatehouse;
  let home: string;

  beforeEach(async function () {
    th = await startTestGatehouse();
    home = tempDir('gatehouse-clients-');
  });

  afterEach(async function () {
    await th?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** A user's environment: the temp HOME, no real credentials, nothing that phones home. */
  function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return agentCliEnv(home, th.home, extra);
  }

  async function connect(client: string, auth: 'env' | 'header' | 'oauth' = 'env'): Promise<ChildResult> {
    const keyArgs = auth === 'header' ? ['--api-key', th.key] : [];
    const result = await runGatehouse(['connect', client, '--auth', auth, '--port', String(th.gatehouse.gateway.port), ...keyArgs], userEnv());
    assert.equal(result.code, 0, describeChild(`gatehouse connect ${client}`, result));
    if (auth === 'env') assert.match(result.stdout, /export GATEHOUSE_TOKEN=<key>/);
    return result;
  }

  /** Gemini and Claude print their lists on different streams; the test reads both. */
  async function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = home): Promise<string> {
    const result = await runChild(command, args, { env, cwd, timeoutMs: 60_000 });
    assert.equal(result.code, 0, describeChild(`${path.basename(command)} ${args.join(' ')}`, result));
    return `${result.stdout}${result.stderr}`;
  }

  describe('Claude Code', function () {
    before(() => requireTool(CLAUDE, 'claude_code'));

    it('`claude mcp list` shows gatehouse Connected, authenticated with GATEHOUSE_TOKEN', async function () {
      await connect('claude');
      const listed = await run(CLAUDE, ['mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: th.key }));
      assert.match(listed, new RegExp(`^gatehouse: ${th.url.replace(/\./g, '\\.')} \\(HTTP\\) - ✔ Connected$`, 'm'), listed);
      const entry = await run(CLAUDE, ['mcp', 'get', 'gatehouse'], userEnv({ GATEHOUSE_TOKEN: th.key }));
      assert.match(entry, /Scope: User config/);
      assert.match(entry, /Authorization: Bearer \$\{GATEHOUSE_TOKEN\}/, 'the key stays out of ~/.claude.json');
    });

    it('`claude mcp list` does not show gatehouse Connected with a wrong key: the gateway checked it', async function () {
      await connect('claude');
      const listed = await run(CLAUDE, ['mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: 'gh_not_a_key' }));
      assert.match(listed, /^gatehouse: .* Failed to connect .*HTTP 401/m, listed);
      assert.doesNotMatch(listed, /✔ Connected/, listed);
    });

    it('`claude mcp list` shows gatehouse Connected with --auth header (the key in ~/.claude.json)', async function () {
      await connect('claude', 'header');
      const listed = await run(CLAUDE, ['mcp', 'list'], userEnv());
      assert.match(listed, /^gatehouse: .* - ✔ Connected$/m, listed);
    });

    it('`claude mcp list` finds the OAuth sign-in with --auth oauth ("Needs authentication" until the user signs in)', async function () {
      await connect('claude', 'oauth');
      const listed = await run(CLAUDE, ['mcp', 'list'], userEnv());
      assert.match(listed, /^gatehouse: .* - ! Needs authentication$/m, listed);
    });

    it('forgets gatehouse after `gatehouse disconnect claude`', async function () {
      await connect('claude');
      const result = await runGatehouse(['disconnect', 'claude'], userEnv());
      assert.equal(result.code, 0, describeChild('gatehouse disconnect claude', result));
      const listed = await run(CLAUDE, ['mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: th.key }));
      assert.doesNotMatch(listed, /gatehouse/, listed);
    });
  });

  describe('Gemini CLI', function () {
    let project: string;

    before(() => requireTool(GEMINI, 'gemini_cli'));
    beforeEach(() => {
      project = path.join(home, 'project');
      fs.mkdirSync(project);
    });

    /** Gemini CLI 0.61 turns every MCP server off in a folder the user has not trusted. */
    function trustFolder(folder: string): void {
      fs.writeFileSync(path.join(home, '.gemini', 'trustedFolders.json'), JSON.stringify({ [folder]: 'TRUST_FOLDER' }));
    }

    it('`gemini mcp list` shows gatehouse Connected in a trusted folder', async function () {
      await connect('gemini');
      trustFolder(project);
      const listed = await run(process.execPath, [GEMINI, 'mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: th.key }), project);
      assert.match(listed, new RegExp(`gatehouse: ${th.url.replace(/\./g, '\\.')} \\(http\\) - Connected$`, 'm'), listed);
    });

    it('`gemini mcp list` shows gatehouse Disabled in a folder the user has not trusted', async function () {
      await connect('gemini');
      const listed = await run(process.execPath, [GEMINI, 'mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: th.key }), project);
      assert.match(listed, /disabled because this folder is untrusted/, listed);
      assert.match(listed, /gatehouse: .* - Disabled$/m, listed);
    });

    it('`gemini mcp list` shows gatehouse Disconnected with a wrong key: the gateway checked it', async function () {
      await connect('gemini');
      trustFolder(project);
      const listed = await run(process.execPath, [GEMINI, 'mcp', 'list'], userEnv({ GATEHOUSE_TOKEN: 'gh_not_a_key' }), project);
      assert.match(listed, /gatehouse: .* - Disconnected$/m, listed);
    });

    it('`gemini mcp list` shows gatehouse Connected with --auth header (the key in settings.json)', async function () {
      await connect('gemini', 'header');
      trustFolder(project);
      const listed = await run(process.execPath, [GEMINI, 'mcp', 'list'], userEnv(), project);
      assert.match(listed, /gatehouse: .* - Connected$/m, listed);
    });
  });
});
