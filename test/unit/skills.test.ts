import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import matter from 'gray-matter';
import {
  MAX_SKILL_DESCRIPTION_LENGTH,
  SkillBundleError,
  loadBundledSkills,
  resolveBundledSkillsRoot,
  skillSpecProblems,
} from '../../src/core/skills/bundle';
import type { BundledSkill } from '../../src/core/skills/bundle';
import {
  SKILL_MARKER_FILE,
  installSkills,
  isUpdateAvailable,
  resolveSkillTargets,
  skillStatus,
  uninstallSkills,
} from '../../src/core/skills/installer';
import { mentionedProtocolTerms } from '../helpers/skillTerms';

const repoRoot = path.resolve(__dirname, '..', '..');
const skillsRoot = path.join(repoRoot, 'skills');
const expectedSkills = ['gatehouse-approvals', 'gatehouse-overview'];

function readSkill(name: string, file = 'SKILL.md'): string {
  return fs.readFileSync(path.join(skillsRoot, name, file), 'utf8');
}

const createdTempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-${prefix}-`));
  createdTempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of createdTempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A writable copy of the bundled skills, so a test can play "the next release changed a skill". */
function copyOfSkillsRoot(): string {
  const root = tempDir('bundle');
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"gatehouse-copy"}\n');
  fs.cpSync(skillsRoot, path.join(root, 'skills'), { recursive: true });
  return path.join(root, 'skills');
}

function leftovers(skillsDir: string): string[] {
  return fs.existsSync(skillsDir) ? fs.readdirSync(skillsDir).filter((entry) => entry.startsWith('.')) : [];
}

describe('bundled skills', () => {
  describe('follow the Agent Skills spec', () => {
    it('ships exactly gatehouse-overview and gatehouse-approvals under skills/', () => {
      const folders = fs.readdirSync(skillsRoot).filter((entry) => fs.statSync(path.join(skillsRoot, entry)).isDirectory());
      assert.deepEqual(folders.sort(), expectedSkills);
    });

    it('has no root SKILL.md that would hide the bundle from the skills CLI', () => {
      assert.equal(fs.existsSync(path.join(repoRoot, 'SKILL.md')), false);
      assert.equal(fs.existsSync(path.join(skillsRoot, 'SKILL.md')), false);
    });

    for (const folder of expectedSkills) {
      describe(folder, () => {
        const text = readSkill(folder);
        const { data, content } = matter(text);

        it('names itself after its folder, in 1-64 characters of a-z0-9 and single inner hyphens', () => {
          assert.equal(data.name, folder);
          assert.match(data.name, /^[a-z0-9-]{1,64}$/);
          assert.doesNotMatch(data.name, /^-|-$|--/);
        });

        it('has a description of at most 1024 characters that says when to load the skill', () => {
          assert.equal(typeof data.description, 'string');
          assert.ok(data.description.length > 0 && data.description.length <= MAX_SKILL_DESCRIPTION_LENGTH);
          assert.match(data.description, /\bUse when\b/);
        });

        it('stays well under 150 lines', () => {
          assert.ok(text.split('\n').length < 150, `${text.split('\n').length} lines`);
        });

        it('has a body after the front matter and passes skillSpecProblems', () => {
          assert.ok(content.trim().length > 200);
          assert.deepEqual(skillSpecProblems(folder, text), []);
        });
      });
    }
  });

  describe('cover what the overview and approvals skills must teach', () => {
    it('overview: what Gatehouse is, tool naming, list_integrations, the three outcomes, when to prefer it', () => {
      const text = readSkill('gatehouse-overview');
      for (const needle of [
        'MCP gateway',
        '`<server>__<tool>`',
        '`gatehouse`',
        '`mcp__gatehouse__<server>__<tool>`',
        '`list_integrations`',
        '`additional_info`',
        '**It runs.**',
        '**It is held for approval.**',
        '**It is blocked.**',
        '## When to prefer a Gatehouse tool',
      ]) {
        assert.ok(text.includes(needle), `overview lacks ${needle}`);
      }
    });

    it('approvals: the seven steps in order', () => {
      const text = readSkill('gatehouse-approvals');
      const steps = [
        /1\. \*\*Say what you want to do and why\*\*/,
        /2\. \*\*Share the approval URL\*\*/,
        /3\. \*\*Call `await_approval` with the `request_id` in the same turn\.\*\*/,
        /4\. \*\*While it returns `status: "pending"`\*\*/,
        /5\. \*\*On `approved`\*\*[\s\S]*already executed[\s\S]*Never\s+re-issue/,
        /6\. \*\*On `denied`\*\*, do not retry the same call/,
        /7\. \*\*On `expired`\*\*[\s\S]*not a denial[\s\S]*only if it is still needed/,
      ];
      let from = 0;
      for (const step of steps) {
        const found = step.exec(text.slice(from));
        assert.ok(found, `missing or out of order: ${step}`);
        from += found.index;
      }
    });

    it('approvals: additional_info, grouping, blocked calls, and never approving by itself', () => {
      const text = readSkill('gatehouse-approvals');
      for (const needle of ['## Write a specific `additional_info`', '## Group related risky calls', '## Blocked calls', '## Never approve by yourself', '`curl`', 'POST', '`~/.gatehouse`']) {
        assert.ok(text.includes(needle), `approvals lacks ${needle}`);
      }
    });

    it('approvals: links a reference with an example of every response', () => {
      assert.ok(readSkill('gatehouse-approvals').includes('(references/responses.md)'));
      const terms = mentionedProtocolTerms(readSkill('gatehouse-approvals', 'references/responses.md'));
      for (const status of ['approval_required', 'pending', 'approved', 'denied', 'expired', 'blocked', 'needs_sign_in']) {
        assert.ok(terms.statuses.includes(status), `no example with status ${status}`);
      }
      for (const key of ['request_id', 'approval_url', 'expires_at', 'reason', 'isError', 'structuredContent', 'integrations', 'toolCount']) {
        assert.ok(terms.keys.includes(key), `no example shows ${key}`);
      }
    });

    it('gives only valid JSON in its examples', () => {
      const text = readSkill('gatehouse-approvals', 'references/responses.md');
      const blocks = [...text.matchAll(/^```json\n([\s\S]*?)^```/gm)].map((match) => match[1]);
      assert.equal(blocks.length, 11);
      for (const block of blocks) assert.doesNotThrow(() => JSON.parse(block), block);
    });
  });
});

describe('mentionedProtocolTerms', () => {
  it('takes backticked identifiers, splitting dotted paths, and ignores prose', () => {
    const terms = mentionedProtocolTerms('Call `await_approval` with `request_id`; read `structuredContent.status`. await_prose is not code. Run `gatehouse serve`.');
    assert.deepEqual(terms.identifiers, ['await_approval', 'request_id', 'status', 'structuredContent']);
  });

  it('takes keys and status values from inline object snippets', () => {
    const terms = mentionedProtocolTerms('It returns `{ status: "blocked", reason }` and `status: "pending"`.');
    assert.deepEqual(terms.keys, ['reason', 'status']);
    assert.deepEqual(terms.statuses, ['blocked', 'pending']);
  });

  it('takes every key and status value of fenced JSON examples, not their identifiers', () => {
    const text = 'Intro\n```json\n{ "structuredContent": { "status": "approval_required", "request_id": "r1" }, "content": [{ "type": "text", "text": "`not_this`" }] }\n```\n';
    const terms = mentionedProtocolTerms(text);
    assert.deepEqual(terms.identifiers, []);
    assert.deepEqual(terms.keys, ['content', 'request_id', 'status', 'structuredContent', 'text', 'type']);
    assert.deepEqual(terms.statuses, ['approval_required']);
  });

  it('finds the whole protocol vocabulary in the shipped skills', () => {
    const all = expectedSkills.map((name) => readSkill(name)).join('\n') + readSkill('gatehouse-approvals', 'references/responses.md');
    const terms = mentionedProtocolTerms(all);
    for (const identifier of ['await_approval', 'list_integrations', 'request_id', 'approval_url', 'expires_at', 'additional_info', 'approval_required']) {
      assert.ok(terms.identifiers.includes(identifier), identifier);
    }
  });
});

describe('bundle', () => {
  describe('resolveBundledSkillsRoot', () => {
    function fakePackage(): string {
      const root = tempDir('pkg');
      fs.writeFileSync(path.join(root, 'package.json'), '{}');
      for (const dir of ['skills/x', 'dist', 'src/core/skills']) fs.mkdirSync(path.join(root, dir), { recursive: true });
      return root;
    }

    it('finds skills/ from the bundled dist/ folder', () => {
      const root = fakePackage();
      assert.equal(resolveBundledSkillsRoot(path.join(root, 'dist')), path.join(root, 'skills'));
    });

    it('finds skills/ from src/core/skills when running under tsx', () => {
      const root = fakePackage();
      assert.equal(resolveBundledSkillsRoot(path.join(root, 'src', 'core', 'skills')), path.join(root, 'skills'));
    });

    it('finds the repository skills/ by default, and from the repository dist/', () => {
      assert.equal(resolveBundledSkillsRoot(), skillsRoot);
      assert.equal(resolveBundledSkillsRoot(path.join(repoRoot, 'dist')), skillsRoot);
    });

    it('refuses a package without skills/, naming where it looked', () => {
      const root = tempDir('empty');
      fs.writeFileSync(path.join(root, 'package.json'), '{}');
      assert.throws(() => resolveBundledSkillsRoot(path.join(root, 'dist')), (error: Error) => {
        assert.ok(error instanceof SkillBundleError);
        assert.ok(error.message.includes(path.join(root, 'dist', '..', 'skills')));
        return true;
      });
    });
  });

  describe('skillSpecProblems', () => {
    const skill = (front: string, body = 'Body\n'): string => `---\n${front}\n---\n${body}`;

    it('accepts a minimal valid skill', () => {
      assert.deepEqual(skillSpecProblems('my-skill', skill('name: my-skill\ndescription: Use when testing.')), []);
    });

    it('refuses a name that differs from the folder', () => {
      assert.match(skillSpecProblems('other', skill('name: my-skill\ndescription: d')).join(), /must equal the folder name/);
    });

    for (const bad of ['My-skill', 'my--skill', '-my-skill', 'my-skill-', 'my_skill']) {
      it(`refuses the name ${bad}`, () => {
        assert.match(skillSpecProblems(bad, skill(`name: "${bad}"\ndescription: d`)).join(), /may only use a-z, 0-9 and single hyphens/);
      });
    }

    it('refuses a name over 64 characters', () => {
      const long = 'a'.repeat(65);
      assert.match(skillSpecProblems(long, skill(`name: ${long}\ndescription: d`)).join(), /65 characters; the limit is 64/);
    });

    it('refuses a missing or over-long description', () => {
      assert.match(skillSpecProblems('s', skill('name: s')).join(), /needs a `description`/);
      assert.match(skillSpecProblems('s', skill(`name: s\ndescription: ${'x'.repeat(1025)}`)).join(), /1025 characters; the limit is 1024/);
    });

    it('refuses a SKILL.md of 150 lines or more', () => {
      assert.match(skillSpecProblems('s', skill('name: s\ndescription: d', 'line\n'.repeat(150))).join(), /keep it under 150/);
    });
  });

  describe('loadBundledSkills', () => {
    it('returns name, description, folder, files, version and hash of each skill', () => {
      const skills = loadBundledSkills();
      assert.deepEqual(
        skills.map((skill) => skill.name),
        expectedSkills,
      );
      const approvals = skills[0];
      assert.equal(approvals.dir, path.join(skillsRoot, 'gatehouse-approvals'));
      assert.deepEqual(approvals.files, ['SKILL.md', 'references/responses.md']);
      assert.equal(approvals.description, matter(readSkill('gatehouse-approvals')).data.description);
      assert.match(approvals.version, /^\d+\.\d+\.\d+/);
      assert.match(approvals.hash, /^sha256:[0-9a-f]{64}$/);
    });

    it('changes the hash when any file of the skill changes', () => {
      const copy = copyOfSkillsRoot();
      const before = loadBundledSkills(copy)[0].hash;
      fs.appendFileSync(path.join(copy, 'gatehouse-approvals', 'references', 'responses.md'), '\nOne more example.\n');
      assert.notEqual(loadBundledSkills(copy)[0].hash, before);
      assert.equal(loadBundledSkills(copy)[1].hash, loadBundledSkills()[1].hash);
    });

    it('refuses an invalid skill, naming the file and the rule', () => {
      const copy = copyOfSkillsRoot();
      const file = path.join(copy, 'gatehouse-overview', 'SKILL.md');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('name: gatehouse-overview', 'name: Gatehouse'));
      assert.throws(() => loadBundledSkills(copy), (error: Error) => error instanceof SkillBundleError && error.message.includes(file) && /must equal the folder name/.test(error.message));
    });

    it('refuses a root SKILL.md', () => {
      const copy = copyOfSkillsRoot();
      fs.writeFileSync(path.join(copy, '..', 'SKILL.md'), '---\nname: x\ndescription: y\n---\n');
      assert.throws(() => loadBundledSkills(copy), /root SKILL.md hides the bundled skills/);
    });
  });
});

describe('skills installer', () => {
  let home: string;
  let skills: BundledSkill[];
  const agentsDir = (): string => path.join(home, '.agents', 'skills');
  const claudeDir = (): string => path.join(home, '.claude', 'skills');

  beforeEach(() => {
    home = tempDir('home');
    skills = loadBundledSkills();
  });

  describe('resolveSkillTargets', () => {
    it('maps every agent by default to ~/.agents/skills and ~/.claude/skills', () => {
      const targets = resolveSkillTargets({ home });
      assert.deepEqual(
        targets.map((target) => [target.id, target.skillsDir, target.agents]),
        [
          ['user-agents', agentsDir(), ['codex', 'cursor', 'copilot', 'gemini']],
          ['user-claude', claudeDir(), ['claude']],
        ],
      );
    });

    it('sends codex, cursor, copilot and gemini to one shared folder, once', () => {
      const targets = resolveSkillTargets({ home, agents: ['gemini', 'codex', 'cursor', 'copilot', 'codex'] });
      assert.deepEqual(
        targets.map((target) => target.skillsDir),
        [agentsDir()],
      );
    });

    it('sends claude to ~/.claude/skills only', () => {
      assert.deepEqual(
        resolveSkillTargets({ home, agents: ['claude'] }).map((target) => target.skillsDir),
        [claudeDir()],
      );
    });

    it('uses <project>/.agents/skills and <project>/.claude/skills for a project', () => {
      const project = tempDir('project');
      assert.deepEqual(
        resolveSkillTargets({ home, projectDir: project, agents: ['codex', 'claude'] }).map((target) => [target.id, target.skillsDir]),
        [
          ['project-agents', path.join(project, '.agents', 'skills')],
          ['project-claude', path.join(project, '.claude', 'skills')],
        ],
      );
    });
  });

  it('installs every skill with a version marker into each target, and reports them installed', () => {
    const report = installSkills(skills, { home });
    assert.deepEqual(
      report.map((entry) => [entry.dir, entry.action]),
      [
        [path.join(agentsDir(), 'gatehouse-approvals'), 'installed'],
        [path.join(agentsDir(), 'gatehouse-overview'), 'installed'],
        [path.join(claudeDir(), 'gatehouse-approvals'), 'installed'],
        [path.join(claudeDir(), 'gatehouse-overview'), 'installed'],
      ],
    );
    for (const dir of [agentsDir(), claudeDir()]) {
      assert.equal(fs.readFileSync(path.join(dir, 'gatehouse-approvals', 'SKILL.md'), 'utf8'), readSkill('gatehouse-approvals'));
      assert.equal(
        fs.readFileSync(path.join(dir, 'gatehouse-approvals', 'references', 'responses.md'), 'utf8'),
        readSkill('gatehouse-approvals', 'references/responses.md'),
      );
      const marker = JSON.parse(fs.readFileSync(path.join(dir, 'gatehouse-overview', SKILL_MARKER_FILE), 'utf8'));
      assert.equal(marker.installedBy, 'gatehouse');
      assert.equal(marker.version, skills[1].version);
      assert.equal(marker.hash, skills[1].hash);
      assert.deepEqual(leftovers(dir), []);
    }
    assert.deepEqual(
      skillStatus(skills, { home }).map((entry) => entry.state),
      ['installed', 'installed', 'installed', 'installed'],
    );
  });

  it('reports missing skills before anything is installed, and leaves other agents alone', () => {
    installSkills(skills, { home, agents: ['claude'] });
    assert.deepEqual(
      skillStatus(skills, { home }).map((entry) => [entry.target.id, entry.state]),
      [
        ['user-agents', 'missing'],
        ['user-agents', 'missing'],
        ['user-claude', 'installed'],
        ['user-claude', 'installed'],
      ],
    );
    assert.equal(fs.existsSync(agentsDir()), false);
  });

  it('leaves an up-to-date install unchanged', () => {
    installSkills(skills, { home });
    const markerFile = path.join(agentsDir(), 'gatehouse-overview', SKILL_MARKER_FILE);
    const before = fs.readFileSync(markerFile, 'utf8');
    assert.deepEqual(
      installSkills(skills, { home }).map((entry) => entry.action),
      ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
    );
    assert.equal(fs.readFileSync(markerFile, 'utf8'), before);
  });

  it('reports an update when a newer release changes a skill, and install applies it', () => {
    installSkills(skills, { home, agents: ['codex'] });
    const copy = copyOfSkillsRoot();
    fs.appendFileSync(path.join(copy, 'gatehouse-approvals', 'SKILL.md'), '\nA new paragraph in the next release.\n');
    const next = loadBundledSkills(copy, '9.9.9');

    const status = skillStatus(next, { home, agents: ['codex'] });
    assert.deepEqual(
      status.map((entry) => [entry.skill, entry.state]),
      [
        ['gatehouse-approvals', 'outdated'],
        ['gatehouse-overview', 'installed'],
      ],
    );
    assert.equal(status[0].installedVersion, skills[0].version);
    assert.equal(status[0].bundledVersion, '9.9.9');
    assert.equal(isUpdateAvailable(status), true);

    assert.deepEqual(
      installSkills(next, { home, agents: ['codex'] }).map((entry) => entry.action),
      ['updated', 'unchanged'],
    );
    assert.match(fs.readFileSync(path.join(agentsDir(), 'gatehouse-approvals', 'SKILL.md'), 'utf8'), /A new paragraph in the next release/);
    assert.equal(isUpdateAvailable(skillStatus(next, { home, agents: ['codex'] })), false);
    assert.deepEqual(leftovers(agentsDir()), []);
  });

  it('never overwrites a folder it did not install, unless forced', () => {
    const foreign = path.join(agentsDir(), 'gatehouse-overview');
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'SKILL.md'), 'the user wrote this');

    assert.equal(skillStatus(skills, { home, agents: ['codex'] })[1].state, 'foreign');
    assert.deepEqual(
      installSkills(skills, { home, agents: ['codex'] }).map((entry) => entry.action),
      ['installed', 'refused-foreign'],
    );
    assert.equal(fs.readFileSync(path.join(foreign, 'SKILL.md'), 'utf8'), 'the user wrote this');
    assert.equal(fs.existsSync(path.join(foreign, SKILL_MARKER_FILE)), false);

    assert.deepEqual(
      installSkills(skills, { home, agents: ['codex'], force: true }).map((entry) => entry.action),
      ['unchanged', 'replaced-foreign'],
    );
    assert.equal(fs.readFileSync(path.join(foreign, 'SKILL.md'), 'utf8'), readSkill('gatehouse-overview'));
    assert.equal(skillStatus(skills, { home, agents: ['codex'] })[1].state, 'installed');
  });

  it('treats a folder with an unreadable marker as foreign', () => {
    installSkills(skills, { home, agents: ['codex'] });
    fs.writeFileSync(path.join(agentsDir(), 'gatehouse-overview', SKILL_MARKER_FILE), '{ not json');
    assert.equal(skillStatus(skills, { home, agents: ['codex'] })[1].state, 'foreign');
    assert.equal(installSkills(skills, { home, agents: ['codex'] })[1].action, 'refused-foreign');
  });

  it('treats a symlink (as the skills CLI makes for Claude Code) as foreign, and a forced install replaces only the link', () => {
    const linkedTo = tempDir('linked');
    fs.writeFileSync(path.join(linkedTo, 'SKILL.md'), 'installed by npx skills');
    fs.mkdirSync(claudeDir(), { recursive: true });
    fs.symlinkSync(linkedTo, path.join(claudeDir(), 'gatehouse-approvals'));

    assert.equal(skillStatus(skills, { home, agents: ['claude'] })[0].state, 'foreign');
    installSkills(skills, { home, agents: ['claude'], force: true });
    assert.equal(fs.lstatSync(path.join(claudeDir(), 'gatehouse-approvals')).isDirectory(), true);
    assert.equal(fs.readFileSync(path.join(linkedTo, 'SKILL.md'), 'utf8'), 'installed by npx skills');
  });

  it('keeps the previous copy and leaves no temporary folder when a copy fails', () => {
    installSkills(skills, { home, agents: ['codex'] });
    const broken: BundledSkill = { ...skills[0], files: [...skills[0].files, 'vanished.md'], hash: 'sha256:changed' };
    assert.throws(() => installSkills([broken], { home, agents: ['codex'] }), /ENOENT/);
    assert.equal(fs.readFileSync(path.join(agentsDir(), 'gatehouse-approvals', 'SKILL.md'), 'utf8'), readSkill('gatehouse-approvals'));
    assert.deepEqual(leftovers(agentsDir()), []);
  });

  it('uninstalls only the folders that carry its marker', () => {
    installSkills(skills, { home });
    const foreign = path.join(claudeDir(), 'gatehouse-overview');
    fs.rmSync(path.join(foreign, SKILL_MARKER_FILE));

    assert.deepEqual(
      uninstallSkills(skills, { home }).map((entry) => [entry.target.id, entry.skill, entry.action]),
      [
        ['user-agents', 'gatehouse-approvals', 'removed'],
        ['user-agents', 'gatehouse-overview', 'removed'],
        ['user-claude', 'gatehouse-approvals', 'removed'],
        ['user-claude', 'gatehouse-overview', 'kept-foreign'],
      ],
    );
    assert.deepEqual(fs.readdirSync(agentsDir()), []);
    assert.deepEqual(fs.readdirSync(claudeDir()), ['gatehouse-overview']);
    assert.deepEqual(
      uninstallSkills(skills, { home, agents: ['codex'] }).map((entry) => entry.action),
      ['absent', 'absent'],
    );
  });

  it('installs into a project and uninstalls from it without touching the home', () => {
    const project = tempDir('project');
    installSkills(skills, { home, projectDir: project, agents: ['codex', 'claude'] });
    assert.ok(fs.existsSync(path.join(project, '.agents', 'skills', 'gatehouse-overview', 'SKILL.md')));
    assert.ok(fs.existsSync(path.join(project, '.claude', 'skills', 'gatehouse-overview', 'SKILL.md')));
    assert.deepEqual(fs.readdirSync(home), []);
    uninstallSkills(skills, { home, projectDir: project });
    assert.deepEqual(fs.readdirSync(path.join(project, '.agents', 'skills')), []);
  });
});
