import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { registerClientCommands } from '../../src/cli/clientCommands';
import type { CodexConnectOptions } from '../../src/core/clients/codex';
import { codexConfigPath, planCodexConnect, planCodexDisableServers, planCodexDisconnect } from '../../src/core/clients/codex';
import { applyPlan } from '../../src/core/clients/plan';

/** The real Codex CLI (from npm) reads what our writer wrote. */
const CODEX = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'codex');
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'codex');
const URL_7337 = 'http://127.0.0.1:7337/mcp';

interface CodexServer {
  name: string;
  enabled: boolean;
  transport: { type: string; url?: string; bearer_token_env_var?: string | null; http_headers?: Record<string, string> | null };
  tool_timeout_sec: number | null;
  startup_timeout_sec: number | null;
}

describe('Codex CLI reads the config Gatehouse writes', function () {
  this.timeout(60_000);
  let home: string;
  let codexHome: string;
  let file: string;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-codex-e2e-'));
    codexHome = path.join(home, '.codex');
    file = codexConfigPath({ CODEX_HOME: codexHome }, home);
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  function codex(...args: string[]): string {
    return execFileSync(CODEX, args, { env: { ...process.env, HOME: home, CODEX_HOME: codexHome }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  function connect(options: CodexConnectOptions, seed?: string): void {
    if (seed) {
      fs.mkdirSync(codexHome, { recursive: true });
      fs.copyFileSync(path.join(FIXTURES, seed), file);
    }
    const plan = planCodexConnect(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined, options);
    assert.ok(plan.status === 'create' || plan.status === 'update', plan.message);
    applyPlan(file, plan);
  }

  const cases: { options: CodexConnectOptions; seed?: string }[] = [
    { options: { url: URL_7337, auth: 'env' } },
    { options: { url: URL_7337, auth: 'oauth' }, seed: 'comments-everywhere.toml' },
    { options: { url: 'http://127.0.0.1:49152/mcp', auth: 'header', apiKey: 'ghk_e2e' }, seed: 'many-servers.toml' },
    { options: { url: URL_7337, auth: 'env' }, seed: 'crlf-windows.toml' },
    { options: { url: URL_7337, auth: 'env', force: true }, seed: 'ours-dotted.toml' },
    { options: { url: URL_7337, auth: 'env' }, seed: 'ours-root-inline.toml' },
    { options: { url: URL_7337, auth: 'oauth' }, seed: 'ours-split-subtables.toml' },
    { options: { url: URL_7337, auth: 'env' }, seed: 'ours-root-dotted.toml' },
    { options: { url: URL_7337, auth: 'header', apiKey: 'ghk_tricky' }, seed: 'tricky-keys.toml' },
    { options: { url: URL_7337, auth: 'env' }, seed: 'multiline-strings.toml' },
    { options: { url: URL_7337, auth: 'env' }, seed: 'bom-utf8.toml' },
  ];

  for (const { options, seed } of cases) {
    it(`shows our url, timeouts and approval mode (auth ${options.auth}, ${seed ?? 'no config yet'})`, () => {
      connect(options, seed);
      const entry = JSON.parse(codex('mcp', 'get', 'gatehouse', '--json')) as CodexServer;
      assert.equal(entry.enabled, true);
      assert.equal(entry.transport.type, 'streamable_http');
      assert.equal(entry.transport.url, options.url);
      assert.equal(entry.tool_timeout_sec, 120);
      assert.equal(entry.startup_timeout_sec, 20);
      assert.equal(entry.transport.bearer_token_env_var ?? undefined, options.auth === 'env' ? 'GATEHOUSE_TOKEN' : undefined);
      assert.deepEqual(entry.transport.http_headers ?? undefined, options.auth === 'header' ? { 'X-API-Key': options.apiKey } : undefined);
      // `--json` leaves the approval mode out; the text form prints it.
      assert.match(codex('mcp', 'get', 'gatehouse'), /default_tools_approval_mode: approve/);
      const listed = JSON.parse(codex('mcp', 'list', '--json')) as CodexServer[];
      assert.ok(listed.some((server) => server.name === 'gatehouse' && server.enabled));
    });
  }

  it('accepts what `gatehouse connect codex --auth env` writes', async () => {
    const lines: string[] = [];
    const program = new Command('gatehouse').exitOverride();
    registerClientCommands(program, { home, env: { CODEX_HOME: codexHome }, port: 7337, out: (line) => lines.push(line) });
    await program.parseAsync(['connect', 'codex', '--auth', 'env'], { from: 'user' });
    assert.ok(lines.includes('  export GATEHOUSE_TOKEN=<key>'));
    const entry = JSON.parse(codex('mcp', 'get', 'gatehouse', '--json')) as CodexServer;
    assert.equal(entry.transport.url, URL_7337);
    assert.equal(entry.transport.bearer_token_env_var, 'GATEHOUSE_TOKEN');
    assert.match(codex('mcp', 'get', 'gatehouse'), /default_tools_approval_mode: approve/);
  });

  it('shows the servers moved behind Gatehouse as disabled, and forgets Gatehouse on disconnect', () => {
    connect({ url: URL_7337, auth: 'env' }, 'many-servers.toml');
    applyPlan(file, planCodexDisableServers(fs.readFileSync(file, 'utf8'), ['github', 'postgres', 'sentry']));
    const listed = JSON.parse(codex('mcp', 'list', '--json')) as CodexServer[];
    assert.deepEqual(
      listed.map((server) => [server.name, server.enabled]).sort(),
      [
        ['gatehouse', true],
        ['github', false],
        ['postgres', false],
        ['sentry', false],
      ],
    );
    applyPlan(file, planCodexDisconnect(fs.readFileSync(file, 'utf8')));
    const after = JSON.parse(codex('mcp', 'list', '--json')) as CodexServer[];
    assert.ok(!after.some((server) => server.name === 'gatehouse'));
  });
});
