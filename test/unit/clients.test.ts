import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import { CLAUDE_ALLOW_RULE, planClaudePermissions } from '../../src/core/clients/claude';
import type { JsonClientName } from '../../src/core/clients/jsonClients';
import { planJsonClientConnect, planJsonClientDisconnect, vscodeUserMcpPath } from '../../src/core/clients/jsonClients';
import type { ClientConnectOptions } from '../../src/core/clients/jsonConfig';
import { applyPlan, listBackups } from '../../src/core/clients/plan';
import { readClaudeServers, readCodexServers, readCursorServers, readVsCodeServers } from '../../src/core/clients/readers';
import type { ConfigPlan } from '../../src/core/clients/plan';

const CLIENT_FIXTURES = path.join(__dirname, '..', 'fixtures', 'clients');
const CODEX_FIXTURES = path.join(__dirname, '..', 'fixtures', 'codex');
const URL_7337 = 'http://127.0.0.1:7337/mcp';

function fixture(name: string): string {
  return fs.readFileSync(path.join(CLIENT_FIXTURES, name), 'utf8');
}

const connect = (name: JsonClientName) => (text: string | undefined, options: ClientConnectOptions) => planJsonClientConnect(name, text, options);
const disconnect = (name: JsonClientName) => (text: string | undefined) => planJsonClientDisconnect(name, text);
const planGeminiConnect = connect('gemini');

function parsed(text: string): Record<string, Record<string, Record<string, unknown>>> {
  return parse(text, [], { allowTrailingComma: true }) as Record<string, Record<string, Record<string, unknown>>>;
}

interface WriterCase {
  readonly client: string;
  readonly fixture: string;
  readonly container: string;
  readonly connect: (text: string | undefined, options: ClientConnectOptions) => ConfigPlan;
  readonly disconnect: (text: string | undefined) => ConfigPlan;
  readonly expected: Record<ClientConnectOptions['auth'], Record<string, unknown>>;
  /** Text that must survive the edit byte for byte (comments, indentation). */
  readonly survivors: readonly string[];
}

const KEY = 'ghk_unit';
const writers: WriterCase[] = [
  {
    client: 'Claude Code',
    fixture: 'claude.json',
    container: 'mcpServers',
    connect: connect('claude'),
    disconnect: disconnect('claude'),
    expected: {
      oauth: { type: 'http', url: URL_7337 },
      env: { type: 'http', url: URL_7337, headers: { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' } },
      header: { type: 'http', url: URL_7337, headers: { 'X-API-Key': KEY } },
    },
    survivors: ['"numStartups": 42,\n  "theme": "dark",\n', '"db": { "command": "uvx", "args": ["mcp-server-sqlite"], "env": { "DB": "/tmp/app.db" } }'],
  },
  {
    client: 'Cursor',
    fixture: 'cursor-mcp.json',
    container: 'mcpServers',
    connect: connect('cursor'),
    disconnect: disconnect('cursor'),
    expected: {
      oauth: { url: URL_7337 },
      env: { url: URL_7337, headers: { Authorization: 'Bearer ${env:GATEHOUSE_TOKEN}' } },
      header: { url: URL_7337, headers: { 'X-API-Key': KEY } },
    },
    survivors: ['\t\t"browser": {\r\n\t\t\t"command": "npx",\r\n', '\t\t"remote": { "url": "https://remote.example.com/mcp", "headers": { "X-Key": "${env:REMOTE_KEY}" } }'],
  },
  {
    client: 'Gemini CLI',
    fixture: 'gemini-settings.json',
    container: 'mcpServers',
    connect: connect('gemini'),
    disconnect: disconnect('gemini'),
    expected: {
      oauth: { httpUrl: URL_7337, trust: true, timeout: 120000 },
      env: { httpUrl: URL_7337, headers: { Authorization: 'Bearer ${GATEHOUSE_TOKEN}' }, trust: true, timeout: 120000 },
      header: { httpUrl: URL_7337, headers: { 'X-API-Key': KEY }, trust: true, timeout: 120000 },
    },
    survivors: ['// Gemini CLI settings\n', '"selectedAuthType": "oauth-personal",\n}'],
  },
  {
    client: 'VS Code',
    fixture: 'vscode-mcp.jsonc',
    container: 'servers',
    connect: connect('vscode'),
    disconnect: disconnect('vscode'),
    expected: {
      oauth: { type: 'http', url: URL_7337 },
      env: { type: 'http', url: URL_7337, headers: { Authorization: 'Bearer ${env:GATEHOUSE_TOKEN}' } },
      header: { type: 'http', url: URL_7337, headers: { 'X-API-Key': KEY } },
    },
    survivors: ['// My VS Code MCP servers\n', '\t\t/* the filesystem server */\n', '} // from the prompt'],
  },
];

describe('JSON client writers', () => {
  for (const writer of writers) {
    describe(writer.client, () => {
      for (const auth of ['oauth', 'env', 'header'] as const) {
        it(`writes the gatehouse entry (auth ${auth}) keeping comments, indentation and other servers`, () => {
          const before = fixture(writer.fixture);
          const plan = writer.connect(before, { url: URL_7337, auth, apiKey: KEY });
          assert.equal(plan.status, 'update', plan.message);
          const after = plan.after!;
          assert.deepEqual(parsed(after)[writer.container]!.gatehouse, writer.expected[auth]);
          for (const survivor of writer.survivors) assert.ok(after.includes(survivor), `kept ${JSON.stringify(survivor)}`);
          const others = { ...parsed(before) };
          const othersAfter = { ...parsed(after) };
          delete (othersAfter[writer.container] as Record<string, unknown>).gatehouse;
          assert.deepEqual(othersAfter, others);
          assert.ok(plan.diff.includes('+'));
          const removedLines = plan.diff.split('\n').filter((line) => line.startsWith('-') && !line.startsWith('---'));
          assert.ok(removedLines.length <= 1, `only the neighbour's line gains a comma:\n${plan.diff}`);
          for (const line of removedLines) assert.ok(plan.diff.includes(`+${line.slice(1)},`), plan.diff);
          assert.equal(writer.connect(after, { url: URL_7337, auth, apiKey: KEY }).status, 'unchanged', 'second run');
          const removed = writer.disconnect(after);
          assert.equal(removed.status, 'update');
          assert.deepEqual(parsed(removed.after!), parsed(before));
          for (const survivor of writer.survivors) assert.ok(removed.after!.includes(survivor));
        });
      }

      it('creates the file when it does not exist', () => {
        const plan = writer.connect(undefined, { url: URL_7337, auth: 'env' });
        assert.equal(plan.status, 'create');
        assert.deepEqual(parsed(plan.after!)[writer.container]!.gatehouse, writer.expected.env);
        assert.ok(plan.after!.endsWith('\n'));
      });

      it('refuses invalid JSON with its line and column, leaving the file untouched', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-json-invalid-'));
        const file = path.join(dir, 'config.json');
        fs.copyFileSync(path.join(CLIENT_FIXTURES, 'invalid.json'), file);
        const before = fs.readFileSync(file);
        const plan = writer.connect(before.toString('utf8'), { url: URL_7337, auth: 'env' });
        assert.equal(plan.status, 'invalid');
        assert.match(plan.message, /is not valid JSON \(line \d+, column \d+\): .*Gatehouse did not change it/);
        assert.throws(() => applyPlan(file, plan));
        assert.deepEqual(fs.readFileSync(file), before);
        assert.deepEqual(fs.readdirSync(dir), ['config.json']);
        fs.rmSync(dir, { recursive: true });
      });

      it('reports a foreign "gatehouse" server instead of replacing it', () => {
        const text = fixture('foreign-gatehouse.json').replace('mcpServers', writer.container);
        assert.equal(writer.connect(text, { url: URL_7337, auth: 'env' }).status, 'conflict');
        assert.equal(writer.disconnect(text).status, 'conflict');
      });

      it('asks for --force before replacing customised values', () => {
        const first = writer.connect(undefined, { url: URL_7337, auth: 'oauth' }).after!;
        const custom = first.replace('"http://127.0.0.1:7337/mcp"', '"http://127.0.0.1:7337/mcp", "extraSetting": 5');
        const plan = writer.connect(custom, { url: URL_7337, auth: 'oauth' });
        assert.equal(plan.status, 'needs-force');
        assert.deepEqual(plan.customised.map((c) => c.key), ['extraSetting']);
        assert.equal(writer.connect(custom, { url: URL_7337, auth: 'oauth', force: true }).status, 'update');
      });
    });
  }

  it('applies JSON plans atomically with a backup, and a second run writes nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-json-apply-'));
    const file = path.join(dir, 'settings.json');
    fs.writeFileSync(file, fixture('gemini-settings.json'), { mode: 0o640 });
    const first = applyPlan(file, planGeminiConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' }));
    assert.equal(first.written, true);
    assert.equal(fs.readFileSync(first.backup!, 'utf8'), fixture('gemini-settings.json'));
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    assert.deepEqual(applyPlan(file, planGeminiConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' })), { written: false });
    assert.equal(listBackups(file).length, 1);
    fs.rmSync(dir, { recursive: true });
  });

  it('adds and removes the Claude Code allow rule, keeping the other rules', () => {
    const before = fixture('claude-settings.json');
    const plan = planClaudePermissions(before, true);
    assert.equal(plan.status, 'update');
    assert.deepEqual((parsed(plan.after!).permissions as Record<string, unknown>).allow, ['Bash(npm run test:*)', CLAUDE_ALLOW_RULE]);
    assert.ok(plan.after!.includes('\n    "model": "opus"'), 'four-space indentation kept');
    assert.equal(planClaudePermissions(plan.after, true).status, 'unchanged');
    assert.deepEqual(parsed(planClaudePermissions(plan.after, false).after!), parsed(before));
    assert.deepEqual((parsed(planClaudePermissions(undefined, true).after!).permissions as Record<string, unknown>).allow, [CLAUDE_ALLOW_RULE]);
  });

  it('finds the VS Code user mcp.json on each platform', () => {
    assert.equal(vscodeUserMcpPath('/home/u', 'linux', {}), '/home/u/.config/Code/User/mcp.json');
    assert.equal(vscodeUserMcpPath('/Users/u', 'darwin', {}), '/Users/u/Library/Application Support/Code/User/mcp.json');
  });
});

describe('Readers for moving servers behind Gatehouse', () => {
  it('reads Codex stdio and http servers, keeping env, cwd, headers and env-var references', () => {
    const read = readCodexServers(fs.readFileSync(path.join(CODEX_FIXTURES, 'many-servers.toml'), 'utf8'));
    assert.deepEqual(read.servers, {
      github: {
        type: 'http',
        url: 'https://api.githubcopilot.com/mcp/',
        headers: { 'X-MCP-Toolsets': 'repos,issues', 'X-Org': '${env:ORG_ID}', Authorization: 'Bearer ${env:GITHUB_PAT}' },
      },
      postgres: {
        type: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-postgres', 'postgresql://localhost/mydb'],
        env: { PGPASSWORD: 'secret', PGUSER: 'me' },
        cwd: '/home/me/work',
      },
      sentry: { type: 'stdio', command: 'npx', args: ['@sentry/mcp-server'] },
    });
  });

  it("keeps Claude Code's pre-registered OAuth client id for a remote server, and nothing of a static-token one", () => {
    const read = readClaudeServers(
      JSON.stringify({
        mcpServers: {
          notion: { type: 'http', url: 'https://mcp.notion.com/mcp', oauth: { clientId: 'claude-app', callbackPort: 8080 } },
          sentry: { type: 'http', url: 'https://mcp.sentry.dev/mcp', headers: { Authorization: 'Bearer ${SENTRY_TOKEN}' }, oauth: { clientId: 'unused' } },
        },
      }),
    );
    assert.deepEqual(read.servers, {
      notion: { type: 'http', url: 'https://mcp.notion.com/mcp', oauth: { clientId: 'claude-app' } },
      sentry: { type: 'http', url: 'https://mcp.sentry.dev/mcp', headers: { Authorization: 'Bearer ${env:SENTRY_TOKEN}' } },
    });
  });

  it('skips Gatehouse itself and servers already disabled in Codex', () => {
    const read = readCodexServers('[mcp_servers.gatehouse]\nurl = "http://127.0.0.1:7337/mcp"\n[mcp_servers.old]\ncommand = "x"\nenabled = false\n[mcp_servers.pass]\ncommand = "y"\nenv_vars = ["HOME_TOKEN"]\n');
    assert.deepEqual(read.servers, { pass: { type: 'stdio', command: 'y', env: { HOME_TOKEN: '${env:HOME_TOKEN}' } } });
    assert.deepEqual(read.skipped.map((s) => s.name), ['gatehouse', 'old']);
  });

  it('refuses invalid Codex TOML with its line', () => {
    assert.throws(() => readCodexServers('[mcp_servers.x\n'), /not valid TOML \(line 1/);
  });

  it('reads Claude Code user and project servers, turning ${VAR} into ${env:VAR}', () => {
    const read = readClaudeServers(fixture('claude.json'), { projectPath: '/home/me/app' });
    assert.deepEqual(read.servers, {
      github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/', headers: { Authorization: 'Bearer ${env:GITHUB_PAT}' } },
      fs: { type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '${env:HOME}/work'] },
      db: { type: 'stdio', command: 'uvx', args: ['mcp-server-sqlite'], env: { DB: '/tmp/app.db' } },
    });
    assert.deepEqual(read.skipped.map((s) => s.name), ['legacy']);
  });

  it('reads Cursor and VS Code (JSONC with comments) servers', () => {
    assert.deepEqual(readCursorServers(fixture('cursor-mcp.json')).servers, {
      browser: { type: 'stdio', command: 'npx', args: ['@playwright/mcp'], env: { TOKEN: '${env:BROWSER_TOKEN}' } },
      remote: { type: 'http', url: 'https://remote.example.com/mcp', headers: { 'X-Key': '${env:REMOTE_KEY}' } },
    });
    assert.deepEqual(readVsCodeServers(fixture('vscode-mcp.jsonc')).servers, {
      files: { type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '${workspaceFolder}'], cwd: '${workspaceFolder}' },
      github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/', headers: { Authorization: 'Bearer ${input:pat}' } },
    });
  });

  it('reads nothing from missing files and refuses invalid JSON', () => {
    assert.deepEqual(readCursorServers(undefined), { servers: {}, skipped: [] });
    assert.throws(() => readCursorServers(fixture('invalid.json')), /not valid JSON \(line 4, column 5\)/);
  });
});
