import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pickQuickPickItem } from './harness';

describe('installing the agent skills from the editor', () => {
  let bundled: string[];

  before(() => {
    const extension = vscode.extensions.getExtension('gatehouse.gatehouse')!;
    const skillsRoot = path.join(extension.extensionPath, 'skills');
    bundled = fs.readdirSync(skillsRoot).filter((name) => fs.existsSync(path.join(skillsRoot, name, 'SKILL.md')));
    assert.ok(bundled.length >= 2, 'the package ships the skills');
    // Agents found in HOME are ticked in the multi-select; make Codex and Claude Code look installed.
    fs.mkdirSync(path.join(os.homedir(), '.codex'), { recursive: true });
    fs.mkdirSync(path.join(os.homedir(), '.claude'), { recursive: true });
  });

  it('installs the skills for Codex and Claude Code at user level, each folder with the Gatehouse marker', async () => {
    const running = vscode.commands.executeCommand('gatehouse.installSkills');
    await pickQuickPickItem('Codex');
    await pickQuickPickItem('user level');
    await running;
    for (const dir of [path.join(os.homedir(), '.agents', 'skills'), path.join(os.homedir(), '.claude', 'skills')]) {
      for (const skill of bundled) {
        assert.ok(fs.existsSync(path.join(dir, skill, 'SKILL.md')), `${dir}/${skill}/SKILL.md`);
        const marker = JSON.parse(fs.readFileSync(path.join(dir, skill, '.gatehouse-skill.json'), 'utf8')) as { installedBy: string; skill: string };
        assert.equal(marker.installedBy, 'gatehouse');
        assert.equal(marker.skill, skill);
      }
    }
  });
});
