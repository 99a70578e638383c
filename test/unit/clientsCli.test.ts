import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { registerClientCommands } from '../../src/cli/clientCommands';
import { parseTomlValue } from '../../src/core/clients/codexToml';
import { listBackups } from '../../src/core/clients/plan';
import { loadServers } from '../../src/core/upstreams/serversConfig';

const CODEX_FIXTURES = path.join(__dirname, '..', 'fixtures', 'codex');

describe('gatehouse connect / disconnect / import / restore', () => {
  let home: string;
  let lines: string[];
  let codexFile: string;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-client-cli-'));
    codexFile = path.join(home, 'codex-home', 'config.toml');
    lines = [];
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<string> {
    const program = new Command('gatehouse').exitOverride();
    registerClientCommands(program, {
      home,
      env: { CODEX_HOME: path.join(home, 'codex-home'), GATEHOUSE_HOME: path.join(home, 'gh') },
      port: 7337,
      out: (line) => lines.push(line),
    });
    lines = [];
    await program.parseAsync(args, { from: 'user' });
    return lines.join('\n');
  }

  function codexServers(): Record<string, Record<string, unknown>> {
    return parseTomlValue(fs.readFileSync(codexFile, 'utf8')).mcp_servers as Record<string, Record<string, unknown>>;
  }

  it('shows a diff and writes nothing on --dry-run', async () => {
    const out = await run('connect', 'codex', '--dry-run');
    assert.match(out, /\+\[mcp_servers\.gatehouse\]/);
    assert.match(out, /Nothing was written/);
    assert.equal(fs.existsSync(codexFile), false);
  });

  it('connects Codex with --auth env, tells what to export, and does nothing the second time', async () => {
    const out = await run('connect', 'codex', '--auth', 'env', '--port', '7400');
    assert.match(out, /export GATEHOUSE_TOKEN=<key>/);
    assert.match(out, /gatehouse key create codex/);
    assert.equal(codexServers().gatehouse!.url, 'http://127.0.0.1:7400/mcp');
    assert.equal(codexServers().gatehouse!.bearer_token_env_var, 'GATEHOUSE_TOKEN');
    assert.match(await run('connect', 'codex', '--auth', 'env', '--port', '7400'), /nothing to do/);
    assert.deepEqual(listBackups(codexFile), []);
  });

  it('connects Codex to one server on its own endpoint in an entry named after it, beside the aggregate, and disconnects only that', async () => {
    await run('connect', 'codex', '--auth', 'env');
    await run('connect', 'codex', '--auth', 'env', '--server', 'github');
    await run('connect', 'codex', '--auth', 'env', '--server', 'team.alpha', '--entry', 'team_alpha');
    const servers = codexServers();
    assert.equal(servers.gatehouse!.url, 'http://127.0.0.1:7337/mcp');
    assert.equal(servers.github!.url, 'http://127.0.0.1:7337/mcp/github');
    assert.equal(servers.github!.default_tools_approval_mode, 'approve');
    assert.equal(servers.github!.bearer_token_env_var, 'GATEHOUSE_TOKEN');
    assert.equal(servers.team_alpha!.url, 'http://127.0.0.1:7337/mcp/team.alpha');
    assert.match(await run('connect', 'codex', '--auth', 'env', '--server', 'github'), /nothing to do/);
    await run('disconnect', 'codex', '--server', 'github');
    assert.deepEqual(Object.keys(codexServers()).sort(), ['gatehouse', 'team_alpha']);
  });

  it('refuses --server for clients whose writer cannot name its entry yet, an entry name Codex cannot take, and a foreign entry of that name', async () => {
    await assert.rejects(run('connect', 'claude', '--server', 'github'), /codex only so far/);
    await assert.rejects(run('connect', 'codex', '--server', 'team.alpha'), /--entry/);
    fs.mkdirSync(path.dirname(codexFile), { recursive: true });
    fs.writeFileSync(codexFile, '[mcp_servers.github]\ncommand = "npx"\nargs = ["github-mcp"]\n');
    await assert.rejects(run('connect', 'codex', '--server', 'github'), /already has an MCP server named "github" that runs a command/);
  });

  it('needs --api-key for --auth header, and --force for customised values', async () => {
    await assert.rejects(run('connect', 'codex', '--auth', 'header'), /--api-key/);
    fs.mkdirSync(path.dirname(codexFile), { recursive: true });
    fs.copyFileSync(path.join(CODEX_FIXTURES, 'custom-timeout.toml'), codexFile);
    await assert.rejects(run('connect', 'codex'), /--force/);
    assert.match(lines.join('\n'), /-tool_timeout_sec = 600/);
    await run('connect', 'codex', '--force');
    assert.equal(codexServers().gatehouse!.tool_timeout_sec, 120);
    assert.equal(listBackups(codexFile).length, 1);
  });

  it('refuses an invalid config.toml with its line and column', async () => {
    fs.mkdirSync(path.dirname(codexFile), { recursive: true });
    fs.copyFileSync(path.join(CODEX_FIXTURES, 'invalid-bad-header.toml'), codexFile);
    await assert.rejects(run('connect', 'codex'), /not valid TOML \(line \d+, column \d+\)/);
  });

  it('imports Codex servers with --move, refuses to overwrite a name, and restores everything', async () => {
    fs.mkdirSync(path.dirname(codexFile), { recursive: true });
    fs.copyFileSync(path.join(CODEX_FIXTURES, 'many-servers.toml'), codexFile);
    await run('connect', 'codex');
    const connected = fs.readFileSync(codexFile, 'utf8');

    await run('import', 'codex', '--move');
    const serversFile = path.join(home, 'gh', 'servers.json');
    const servers = JSON.parse(fs.readFileSync(serversFile, 'utf8')).servers as Record<string, { type: string }>;
    assert.deepEqual(Object.keys(servers).sort(), ['github', 'postgres', 'sentry']);
    assert.equal(codexServers().github!.enabled, false);
    assert.equal(codexServers().postgres!.enabled, false);
    assert.equal(codexServers().gatehouse!.enabled, undefined);

    fs.writeFileSync(codexFile, fs.readFileSync(codexFile, 'utf8').replace('[mcp_servers.sentry]\ncommand = "npx"\nargs = ["@sentry/mcp-server"]\nenabled = false', '[mcp_servers.sentry]\ncommand = "npx"\nargs = ["@sentry/mcp-server"]\nenabled = true'));
    await assert.rejects(run('import', 'codex', '--server', 'sentry'), /already has "sentry"/);

    await run('restore', 'codex');
    assert.equal(fs.readFileSync(codexFile, 'utf8'), connected.replace('args = ["@sentry/mcp-server"]\nenabled = true\n', 'args = ["@sentry/mcp-server"]\n'));
    assert.deepEqual(JSON.parse(fs.readFileSync(serversFile, 'utf8')).servers, {});
    assert.match(await run('restore', 'codex'), /nothing to restore/);
  });

  it('moves a Codex server that signs in with OAuth as an OAuth upstream: its scopes, no token, and how to sign in once', async () => {
    fs.mkdirSync(path.dirname(codexFile), { recursive: true });
    fs.writeFileSync(codexFile, '[mcp_servers.linear]\nurl = "https://mcp.linear.app/mcp"\nscopes = ["read", "write"]\n\n[mcp_servers.github]\nurl = "https://api.githubcopilot.com/mcp/"\nbearer_token_env_var = "GITHUB_PAT"\nscopes = ["repo"]\n');
    const output = await run('import', 'codex', '--move');
    assert.match(output, /^linear is a remote server without a static token: .* `gatehouse login linear` .* codex's own sign-in is not copied\.$/m);
    assert.doesNotMatch(output, /github is a remote server/);
    const gatehouseHome = path.join(home, 'gh');
    const servers = loadServers(gatehouseHome);
    assert.deepEqual(servers.get('linear'), { type: 'http', url: 'https://mcp.linear.app/mcp', headers: {}, oauth: { scopes: ['read', 'write'] } });
    assert.deepEqual(servers.get('github'), { type: 'http', url: 'https://api.githubcopilot.com/mcp/', headers: { Authorization: 'Bearer ${env:GITHUB_PAT}' } });
    assert.equal(codexServers().linear!.enabled, false);
  });

  it('connects Claude Code with the allow rule and disconnects both', async () => {
    await run('connect', 'claude', '--auth', 'oauth', '--allow-rule');
    const claude = JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8'));
    assert.deepEqual(claude.mcpServers.gatehouse, { type: 'http', url: 'http://127.0.0.1:7337/mcp' });
    const settingsFile = path.join(home, '.claude', 'settings.json');
    assert.deepEqual(JSON.parse(fs.readFileSync(settingsFile, 'utf8')).permissions.allow, ['mcp__gatehouse__*']);
    await run('disconnect', 'claude');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, '.claude.json'), 'utf8')).mcpServers, {});
    assert.deepEqual(JSON.parse(fs.readFileSync(settingsFile, 'utf8')).permissions.allow, []);
  });

  it('connects Cursor and Gemini CLI, and rejects unknown clients', async () => {
    await run('connect', 'cursor', '--auth', 'header', '--api-key', 'ghk_1');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, '.cursor', 'mcp.json'), 'utf8')).mcpServers.gatehouse, { url: 'http://127.0.0.1:7337/mcp', headers: { 'X-API-Key': 'ghk_1' } });
    await run('connect', 'gemini');
    assert.equal(JSON.parse(fs.readFileSync(path.join(home, '.gemini', 'settings.json'), 'utf8')).mcpServers.gatehouse.trust, true);
    await assert.rejects(run('connect', 'emacs'), /Unknown client "emacs"/);
  });
});
