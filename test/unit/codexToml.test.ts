import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CodexConnectOptions } from '../../src/core/clients/codex';
import { codexConfigPath, planCodexConnect, planCodexDisableServers, planCodexDisconnect, planCodexEnableServers } from '../../src/core/clients/codex';
import { locateEntry } from '../../src/core/clients/tomlEdits';
import { inlineTableEntries, locateStatements, parseTomlDocument, parseTomlValue } from '../../src/core/clients/codexToml';
import { applyPlan, listBackups } from '../../src/core/clients/plan';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'codex');
const URL_7337 = 'http://127.0.0.1:7337/mcp';
const fixtureNames = fs.readdirSync(FIXTURES).filter((name) => name.endsWith('.toml')).sort();
const invalid = fixtureNames.filter((name) => name.startsWith('invalid-'));
const foreign = fixtureNames.filter((name) => name.startsWith('foreign-'));
const customised = fixtureNames.filter((name) => name.startsWith('custom-'));
const writable = fixtureNames.filter((name) => !invalid.includes(name) && !foreign.includes(name));

const modes: CodexConnectOptions[] = [
  { url: URL_7337, auth: 'oauth', force: true },
  { url: URL_7337, auth: 'env', force: true },
  { url: URL_7337, auth: 'header', apiKey: 'ghk_test_123', force: true },
];

function read(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

function gatehouseOf(text: string): Record<string, unknown> | undefined {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const servers = parseTomlValue(body).mcp_servers as Record<string, Record<string, unknown>> | undefined;
  return servers?.gatehouse;
}

function withoutGatehouse(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const value = structuredClone(parseTomlValue(body)) as Record<string, Record<string, unknown>>;
  if (value.mcp_servers) {
    delete value.mcp_servers.gatehouse;
    if (!Object.keys(value.mcp_servers).length) delete value.mcp_servers;
  }
  return value;
}

/**
 * The text with our entry's lines cut out (a root `mcp_servers = {...}` line, which holds other
 * servers too, is replaced by a marker). What remains must be byte-identical before and after.
 */
function outsideOurEntry(text: string): string {
  const doc = parseTomlDocument(text);
  const location = locateEntry(doc, ['mcp_servers', 'gatehouse']);
  const spans = [
    ...location.regions.map((region) => ({ start: region.start, end: region.end, text: '' })),
    ...location.inline.map((item) => ({ start: item.container.start, end: item.container.end, text: '<root inline mcp_servers>\n' })),
  ].sort((a, b) => b.start - a.start);
  let body = doc.body;
  for (const span of spans) body = body.slice(0, span.start) + span.text + body.slice(span.end);
  return doc.bom + body;
}

describe('Codex config writer: the corpus', () => {
  it('has at least 25 realistic config.toml files, including invalid and foreign ones', () => {
    assert.ok(fixtureNames.length >= 25, `${fixtureNames.length} fixtures`);
    assert.ok(invalid.length >= 3 && foreign.length >= 2 && customised.length >= 2);
  });

  for (const name of writable) {
    describe(name, () => {
      for (const mode of modes) {
        describe(`auth ${mode.auth}`, () => {
          const before = read(name);
          const plan = planCodexConnect(before, mode);

          it('plans a write, or nothing when the entry is already right', () => {
            assert.ok(['create', 'update', 'unchanged'].includes(plan.status), `${plan.status}: ${plan.message}`);
            if (plan.status !== 'unchanged') assert.ok(plan.diff.includes('+'), 'a diff to show');
          });

          it('keeps every byte outside our entry', () => {
            const after = plan.after!;
            const outsideBefore = outsideOurEntry(before);
            const outsideAfter = outsideOurEntry(after);
            assert.ok(outsideAfter.startsWith(outsideBefore), `outside bytes changed:\n${JSON.stringify(outsideBefore)}\n${JSON.stringify(outsideAfter)}`);
            assert.match(outsideAfter.slice(outsideBefore.length), /^(\r?\n)*$/);
            assert.equal(after.charCodeAt(0) === 0xfeff, before.charCodeAt(0) === 0xfeff, 'BOM kept');
            if (before.includes('\r\n') && !/[^\r]\n/.test(before)) assert.ok(!/[^\r]\n/.test(after), 'CRLF file stays CRLF');
          });

          it('re-parses to our entry, with the rest of the configuration unchanged', () => {
            const entry = gatehouseOf(plan.after!)!;
            assert.equal(entry.url, URL_7337);
            assert.equal(entry.default_tools_approval_mode, 'approve');
            assert.equal(entry.tool_timeout_sec, 120);
            assert.equal(entry.startup_timeout_sec, 20);
            assert.equal(entry.bearer_token_env_var, mode.auth === 'env' ? 'GATEHOUSE_TOKEN' : undefined);
            assert.deepEqual(entry.http_headers, mode.auth === 'header' ? { 'X-API-Key': 'ghk_test_123' } : undefined);
            assert.deepEqual(withoutGatehouse(plan.after!), withoutGatehouse(before));
          });

          it('is a no-op the second time', () => {
            const again = planCodexConnect(plan.after, mode);
            assert.equal(again.status, 'unchanged');
            assert.equal(again.after, plan.after);
            assert.equal(again.diff, '');
          });

          it('disconnects back to the rest of the configuration', () => {
            const removed = planCodexDisconnect(plan.after);
            assert.equal(removed.status, 'update');
            assert.equal(gatehouseOf(removed.after!), undefined);
            assert.deepEqual(withoutGatehouse(removed.after!), withoutGatehouse(before));
            if (gatehouseOf(before) === undefined && (before.endsWith('\n') || before === '')) assert.equal(removed.after, before, 'connect then disconnect restores the file');
          });
        });
      }
    });
  }

  for (const name of customised) {
    it(`asks for --force before replacing customised values (${name})`, () => {
      const before = read(name);
      const plan = planCodexConnect(before, { url: URL_7337, auth: 'oauth' });
      assert.equal(plan.status, 'needs-force');
      assert.ok(plan.customised.length > 0);
      assert.ok(plan.diff.includes('-'), 'the diff shows what would be replaced');
      assert.match(plan.message, /--force/);
      assert.throws(() => applyPlan('/nonexistent/config.toml', plan), /--force/);
    });
  }

  for (const name of foreign) {
    it(`reports, and does not clobber, a foreign "gatehouse" server (${name})`, () => {
      const before = read(name);
      for (const force of [false, true]) {
        const plan = planCodexConnect(before, { url: URL_7337, auth: 'env', force });
        assert.equal(plan.status, 'conflict');
        assert.equal(plan.after, before);
        assert.match(plan.message, /already has an MCP server named "gatehouse"/);
      }
      assert.equal(planCodexDisconnect(before).status, 'conflict');
    });
  }

  for (const name of invalid) {
    it(`refuses an invalid file with its line and column and never writes it (${name})`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-codex-invalid-'));
      const file = path.join(dir, 'config.toml');
      fs.copyFileSync(path.join(FIXTURES, name), file);
      const past = new Date('2020-01-01T00:00:00Z');
      fs.utimesSync(file, past, past);
      const before = fs.readFileSync(file);
      const plan = planCodexConnect(before.toString('utf8'), { url: URL_7337, auth: 'env' });
      assert.equal(plan.status, 'invalid');
      assert.match(plan.message, /^~\/\.codex\/config\.toml is not valid TOML \(line \d+, column \d+\): .+ Gatehouse did not change it/);
      assert.throws(() => applyPlan(file, plan), /not valid TOML/);
      assert.equal(planCodexDisconnect(before.toString('utf8')).status, 'invalid');
      assert.deepEqual(fs.readFileSync(file), before);
      assert.equal(fs.statSync(file).mtimeMs, past.getTime());
      assert.deepEqual(fs.readdirSync(dir), ['config.toml']);
    });
  }
});

describe('Codex config writer: specific forms', () => {
  const env: CodexConnectOptions = { url: URL_7337, auth: 'env' };

  it('writes the table Codex expects to a missing file', () => {
    const plan = planCodexConnect(undefined, env);
    assert.equal(plan.status, 'create');
    assert.equal(
      plan.after,
      '[mcp_servers.gatehouse]\nurl = "http://127.0.0.1:7337/mcp"\ndefault_tools_approval_mode = "approve"\ntool_timeout_sec = 120\nstartup_timeout_sec = 20\nbearer_token_env_var = "GATEHOUSE_TOKEN"\n',
    );
  });

  it('replaces our table in place, keeping the comment before the next table', () => {
    const after = planCodexConnect(read('ours-table-middle.toml'), env).after!;
    assert.match(after, /\[mcp_servers\.before\]\ncommand = "before"\n\n\[mcp_servers\.gatehouse\]\nurl = /);
    assert.match(after, /bearer_token_env_var = "GATEHOUSE_TOKEN"\n\n# comment for the next server\n\[mcp_servers\.after\]/);
  });

  it('keeps keys it does not manage, such as enabled_tools and per-tool approval modes', () => {
    const extra = gatehouseOf(planCodexConnect(read('ours-extra-keys.toml'), env).after!)!;
    assert.deepEqual(extra.enabled_tools, ['github__search', 'await_approval']);
    assert.equal(extra.required, true);
    const split = gatehouseOf(planCodexConnect(read('ours-split-subtables.toml'), env).after!)!;
    assert.deepEqual(split.tools, { github__create_issue: { approval_mode: 'prompt' } });
  });

  it('edits an entry inside a root inline mcp_servers table without touching its neighbours', () => {
    const after = planCodexConnect(read('ours-root-inline.toml'), env).after!;
    assert.ok(after.includes('mcp_servers = { fs = { command = "npx", args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] }, gatehouse = { url = '));
    const added = planCodexConnect(read('root-inline-without-ours.toml'), env).after!;
    assert.ok(added.startsWith('model = "o3"\nmcp_servers = { fs = { command = "npx" }, gatehouse = { url = "http://127.0.0.1:7337/mcp"'));
  });

  it('does not mistake TOML-looking text inside strings for our table', () => {
    const before = read('multiline-strings.toml');
    const plan = planCodexConnect(before, env);
    assert.equal(plan.status, 'update');
    assert.ok(plan.after!.startsWith(before), 'only appended');
  });

  it('moves the url to a new port without asking for --force', () => {
    const plan = planCodexConnect(read('ours-old-port.toml'), env);
    assert.equal(plan.status, 'update');
    assert.deepEqual(plan.customised, []);
  });

  it('switches between its own auth modes without asking for --force', () => {
    const plan = planCodexConnect(read('ours-header-auth.toml'), env);
    assert.equal(plan.status, 'update');
    assert.equal(gatehouseOf(plan.after!)!.http_headers, undefined);
  });

  it('needs an API key for the header mode', () => {
    assert.throws(() => planCodexConnect(undefined, { url: URL_7337, auth: 'header' }), /gatehouse key create codex/);
  });

  it('does not add a final newline the file did not have when replacing a table at its end', () => {
    const after = planCodexConnect(read('ours-at-eof-no-newline.toml'), env).after!;
    assert.ok(after.endsWith('bearer_token_env_var = "GATEHOUSE_TOKEN"'));
  });

  it('finds the config under CODEX_HOME, or under the home folder', () => {
    assert.equal(codexConfigPath({ CODEX_HOME: '/tmp/ch' }, '/home/u'), '/tmp/ch/config.toml');
    assert.equal(codexConfigPath({}, '/home/u'), '/home/u/.codex/config.toml');
  });

  it('locates headers and statements but not text inside strings', () => {
    const statements = locateStatements(read('multiline-arrays.toml'));
    assert.deepEqual(
      statements.map((s) => s.path.join('.')),
      ['mcp_servers.browser', 'mcp_servers.browser.command', 'mcp_servers.browser.args', 'mcp_servers.browser.env', 'mcp_servers.py', 'mcp_servers.py.command', 'mcp_servers.py.args'],
    );
  });
});

describe('TOML statement locator', () => {
  function lines(text: string): string[] {
    return locateStatements(text).map((s) => {
      const first = text.slice(0, s.start).split('\n').length;
      const last = text.slice(0, s.end).replace(/\n$/, '').split('\n').length;
      return `${s.kind} ${s.path.join('.')} ${first}-${last}`;
    });
  }

  it('spans multi-line strings, including escaped and extra closing quotes', () => {
    const text = ['a = """', '[x]', '\\""" still', '"""', "b = '''", '[y]', "'''", 'c = """x"""""', '[t]', ''].join('\n');
    assert.deepEqual(lines(text), ['keyValue a 1-4', 'keyValue b 5-7', 'keyValue c 8-8', 'table t 9-9']);
  });

  it('spans arrays over lines, with comments and brackets inside strings and comments', () => {
    const text = ['a = [', '  "]", # ] comment', '  [1, 2],', '  { k = "}" },', ']', '[[arr.t]] # [x]', 'b = 1', ''].join('\n');
    assert.deepEqual(lines(text), ['keyValue a 1-5', 'arrayTable arr.t 6-6', 'keyValue arr.t.b 7-7']);
  });

  it('reads quoted and spaced keys and headers, and date-times with a space', () => {
    const text = ['[ a . "b.c" . \'d\' ]', '"k=#" . x = 1979-05-27 07:32:00Z # c', '"e\\u00e9" = 2\r', ''].join('\n');
    assert.deepEqual(lines(text), ['table a.b.c.d 1-1', 'keyValue a.b.c.d.k=#.x 2-2', 'keyValue a.b.c.d.eé 3-3']);
    const statement = locateStatements(text)[1]!;
    assert.equal(text.slice(statement.valueStart, statement.valueEnd), '1979-05-27 07:32:00Z');
  });

  it('finds the entries of an inline table', () => {
    const text = 'm = { a = { b = "}" }, "c.d".e = [1, { f = 2 }], g = 3 }\n';
    const statement = locateStatements(text)[0]!;
    const entries = inlineTableEntries(text, statement.valueStart!);
    assert.deepEqual(
      entries.map((e) => [e.keyPath.join('|'), text.slice(e.valueStart, e.valueEnd)]),
      [
        ['a', '{ b = "}" }'],
        ['c.d|e', '[1, { f = 2 }]'],
        ['g', '3'],
      ],
    );
  });

  it('agrees with @iarna/toml on every valid corpus file: each key/value statement names a key that exists', () => {
    for (const name of writable.concat(foreign)) {
      const doc = parseTomlDocument(read(name));
      for (const statement of doc.statements.filter((s) => s.kind === 'keyValue')) {
        let value: unknown = doc.value;
        for (const part of statement.path) {
          if (Array.isArray(value)) value = value[value.length - 1];
          value = (value as Record<string, unknown>)[part];
        }
        assert.notEqual(value, undefined, `${name}: ${statement.path.join('.')}`);
      }
    }
  });
});

describe('Codex config writer: disabling and re-enabling servers', () => {
  for (const name of ['many-servers.toml', 'inline-tables.toml', 'dotted-keys.toml', 'crlf-windows.toml', 'root-inline-without-ours.toml']) {
    it(`disables every server surgically and restores the exact bytes (${name})`, () => {
      const before = read(name);
      const body = before.charCodeAt(0) === 0xfeff ? before.slice(1) : before;
      const names = Object.keys(parseTomlValue(body).mcp_servers as object);
      const disabled = planCodexDisableServers(before, names);
      assert.equal(disabled.status, 'update', disabled.message);
      const servers = parseTomlValue(disabled.after!).mcp_servers as Record<string, { enabled?: boolean }>;
      for (const server of names) assert.equal(servers[server]!.enabled, false, server);
      assert.equal(planCodexDisableServers(disabled.after, names).status, 'unchanged');
      const enabled = planCodexEnableServers(disabled.after, names);
      const serversAgain = parseTomlValue(enabled.after!).mcp_servers as Record<string, { enabled?: boolean }>;
      for (const server of names) assert.equal(serversAgain[server]!.enabled, undefined, server);
      if (!before.includes('enabled = true')) assert.equal(enabled.after, before);
    });
  }

  it('reports servers it cannot find', () => {
    assert.equal(planCodexDisableServers(read('many-servers.toml'), ['nope']).status, 'conflict');
  });
});

describe('Codex config writer: applying plans', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-codex-apply-'));
    file = path.join(dir, 'config.toml');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the file and its folder when missing, without a backup', () => {
    const nested = path.join(dir, 'codex-home', 'config.toml');
    const result = applyPlan(nested, planCodexConnect(undefined, { url: URL_7337, auth: 'oauth' }));
    assert.deepEqual(result, { written: true, backup: undefined });
    assert.equal(gatehouseOf(fs.readFileSync(nested, 'utf8'))!.url, URL_7337);
  });

  it('keeps the file mode, backs up the previous file and keeps the last five backups', () => {
    fs.writeFileSync(file, read('many-servers.toml'));
    fs.chmodSync(file, 0o600);
    const original = fs.readFileSync(file, 'utf8');
    for (let i = 0; i < 7; i++) {
      const plan = planCodexConnect(fs.readFileSync(file, 'utf8'), { url: `http://127.0.0.1:${7000 + i}/mcp`, auth: 'env' });
      const result = applyPlan(file, plan, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
      assert.equal(result.written, true);
      assert.ok(result.backup && fs.existsSync(result.backup));
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const backups = listBackups(file);
    assert.equal(backups.length, 5);
    assert.ok(backups.every((backup) => path.basename(backup).startsWith('config.toml.gatehouse-backup-2026')));
    assert.ok(backups.every((backup) => (fs.statSync(backup).mode & 0o777) === 0o600));
    assert.match(fs.readFileSync(backups[0]!, 'utf8'), /127\.0\.0\.1:7001/);
    assert.ok(!backups.some((backup) => fs.readFileSync(backup, 'utf8') === original), 'the two oldest were pruned');
  });

  it('writes nothing and makes no backup when the plan is unchanged', () => {
    fs.writeFileSync(file, read('ours-table.toml'));
    const past = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(file, past, past);
    const plan = planCodexConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' });
    assert.equal(plan.status, 'unchanged');
    assert.deepEqual(applyPlan(file, plan), { written: false });
    assert.equal(fs.statSync(file).mtimeMs, past.getTime());
    assert.deepEqual(listBackups(file), []);
  });

  it('writes through a symlinked config instead of replacing the link', () => {
    const real = path.join(dir, 'dotfiles-codex.toml');
    fs.writeFileSync(real, 'model = "o3"\n');
    fs.symlinkSync(real, file);
    const result = applyPlan(file, planCodexConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' }));
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    assert.equal(gatehouseOf(fs.readFileSync(real, 'utf8'))!.url, URL_7337);
    assert.equal(fs.readFileSync(result.backup!, 'utf8'), 'model = "o3"\n');
  });

  it('refuses to rewrite a file that is not UTF-8', () => {
    fs.writeFileSync(file, Buffer.from([0x23, 0x20, 0xe9, 0x0a, 0x61, 0x3d, 0x31, 0x0a])); // "# \xe9" in Latin-1
    const plan = planCodexConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' });
    assert.throws(() => applyPlan(file, plan), /not UTF-8/);
  });

  it('refuses to write when the file changed after it was planned', () => {
    fs.writeFileSync(file, 'model = "o3"\n');
    const plan = planCodexConnect(fs.readFileSync(file, 'utf8'), { url: URL_7337, auth: 'env' });
    fs.writeFileSync(file, 'model = "o4"\n');
    assert.throws(() => applyPlan(file, plan), /changed after Gatehouse read it/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'model = "o4"\n');
  });
});
