import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerSkillsCommands } from '../../src/cli/skillsCommands';
import { SKILL_MARKER_FILE } from '../../src/core/skills/installer';

interface CliRun {
  readonly out: string[];
  readonly err: string;
  readonly error?: CommanderError;
}

/** Runs `gatehouse <args>` in process, with commander's exits turned into errors. */
function runGatehouse(home: string, args: string[]): CliRun {
  const out: string[] = [];
  let err = '';
  const program = new Command('gatehouse').exitOverride();
  program.configureOutput({ writeOut: (text) => out.push(...text.trimEnd().split('\n')), writeErr: (text) => (err += text) });
  registerSkillsCommands(program, { home, out: (line) => out.push(line) });
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  try {
    program.parse(args, { from: 'user' });
    return { out, err };
  } catch (error) {
    if (error instanceof CommanderError) return { out, err, error };
    throw error;
  }
}

describe('gatehouse skills (CLI)', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-skills-cli-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('install puts both skills in ~/.agents/skills and ~/.claude/skills by default', () => {
    const run = runGatehouse(home, ['skills', 'install']);
    assert.equal(run.error, undefined);
    assert.equal(run.out.length, 4);
    assert.ok(run.out.every((line) => line.includes(': installed (')));
    for (const dir of ['.agents', '.claude']) {
      for (const skill of ['gatehouse-approvals', 'gatehouse-overview']) {
        assert.ok(fs.existsSync(path.join(home, dir, 'skills', skill, 'SKILL.md')), `${dir} ${skill}`);
      }
    }
  });

  it('install --agent codex touches only the shared ~/.agents/skills', () => {
    const run = runGatehouse(home, ['skills', 'install', '--agent', 'codex']);
    assert.deepEqual(
      run.out.map((line) => line.split(':')[0]),
      ['[codex] gatehouse-approvals', '[codex] gatehouse-overview'],
    );
    assert.equal(fs.existsSync(path.join(home, '.claude')), false);
  });

  it('install --project DIR writes into the project, not the home', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-skills-project-'));
    try {
      runGatehouse(home, ['skills', 'install', '--project', project, '--agent', 'claude', 'cursor']);
      assert.ok(fs.existsSync(path.join(project, '.agents', 'skills', 'gatehouse-overview', SKILL_MARKER_FILE)));
      assert.ok(fs.existsSync(path.join(project, '.claude', 'skills', 'gatehouse-overview', SKILL_MARKER_FILE)));
      assert.deepEqual(fs.readdirSync(home), []);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it('status says "update available" for an outdated copy, and install updates it', () => {
    runGatehouse(home, ['skills', 'install', '--agent', 'codex']);
    const markerFile = path.join(home, '.agents', 'skills', 'gatehouse-overview', SKILL_MARKER_FILE);
    const marker = JSON.parse(fs.readFileSync(markerFile, 'utf8'));
    fs.writeFileSync(markerFile, JSON.stringify({ ...marker, version: '0.0.1', hash: 'sha256:from-an-older-release' }));

    const status = runGatehouse(home, ['skills', 'status', '--agent', 'codex']);
    assert.match(status.out[1], /gatehouse-overview: update available \(installed 0\.0\.1, bundled /);
    assert.match(status.out.at(-1)!, /Run `gatehouse skills install` to update/);

    const install = runGatehouse(home, ['skills', 'install', '--agent', 'codex']);
    assert.match(install.out[0], /gatehouse-approvals: up to date/);
    assert.match(install.out[1], /gatehouse-overview: updated/);
    assert.equal(JSON.parse(fs.readFileSync(markerFile, 'utf8')).hash, marker.hash);
  });

  it('install refuses a skill folder it did not create, exits 1 and says how to proceed', () => {
    const foreign = path.join(home, '.claude', 'skills', 'gatehouse-approvals');
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'SKILL.md'), 'mine');

    const run = runGatehouse(home, ['skills', 'install', '--agent', 'claude']);
    assert.equal(run.error?.exitCode, 1);
    assert.match(run.err, new RegExp(`${foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already exists and Gatehouse did not install it.*--force`));
    assert.equal(fs.readFileSync(path.join(foreign, 'SKILL.md'), 'utf8'), 'mine');

    const forced = runGatehouse(home, ['skills', 'install', '--agent', 'claude', '--force']);
    assert.equal(forced.error, undefined);
    assert.match(forced.out[0], /replaced/);
  });

  it('uninstall removes what it installed and keeps the rest', () => {
    runGatehouse(home, ['skills', 'install']);
    fs.rmSync(path.join(home, '.claude', 'skills', 'gatehouse-overview', SKILL_MARKER_FILE));
    const run = runGatehouse(home, ['skills', 'uninstall']);
    assert.deepEqual(
      run.out.map((line) => line.replace(/ \(.*\)$/, '')),
      [
        '[codex, cursor, copilot, gemini] gatehouse-approvals: removed',
        '[codex, cursor, copilot, gemini] gatehouse-overview: removed',
        '[claude] gatehouse-approvals: removed',
        '[claude] gatehouse-overview: kept: not installed by Gatehouse',
      ],
    );
  });

  it('rejects an unknown agent', () => {
    const run = runGatehouse(home, ['skills', 'install', '--agent', 'vim']);
    assert.equal(run.error?.code, 'commander.invalidArgument');
    assert.match(run.err, /Allowed choices are codex, claude, cursor, copilot, gemini/);
  });

  it('describes every subcommand and option in --help', () => {
    const skillsHelp = runGatehouse(home, ['skills', '--help']).out.join('\n');
    for (const sub of ['install', 'uninstall', 'status']) assert.match(skillsHelp, new RegExp(`${sub} \\[options\\]\\s+\\S`));
    const installHelp = runGatehouse(home, ['skills', 'install', '--help']).out.join('\n');
    assert.match(installHelp, /--agent <agent\.\.\.>\s+agents to act for/);
    assert.match(installHelp, /--project <dir>\s+use <dir>\/\.agents\/skills/);
    assert.match(installHelp, /--force\s+also replace skill folders/);
  });
});
