import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { offerSkillUpdate } from '../../../src/editor/installSkills';
import { clickNotificationButton, pickQuickPickItem } from './harness';

/**
 * Opens the notification centre from here before the runner clicks: when the runner opens it by
 * clicking the bell, the bell's "Hide Notifications" hover can cover the buttons of the bottom row.
 */
async function answer(message: string, button: string): Promise<void> {
  await vscode.commands.executeCommand('notifications.showList');
  await clickNotificationButton(message, button);
}

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

  // Earlier suites leave notifications behind; the notification centre only renders the rows in
  // view, so a question that lands above the scrolled list would never be found.
  beforeEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
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

  it('asks before replacing a workspace folder Gatehouse did not install, and keeps it on Cancel', async () => {
    const workspace = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const foreign = path.join(workspace, '.agents', 'skills', bundled[0]!);
    fs.mkdirSync(foreign, { recursive: true });
    fs.writeFileSync(path.join(foreign, 'SKILL.md'), '---\nname: mine\ndescription: my own\n---\nMine.\n');

    const kept = vscode.commands.executeCommand('gatehouse.installSkills');
    await pickQuickPickItem('Codex');
    await pickQuickPickItem('this workspace');
    await answer('Replace the folder Gatehouse did not install?', 'Cancel');
    await kept;
    assert.equal(fs.readFileSync(path.join(foreign, 'SKILL.md'), 'utf8'), '---\nname: mine\ndescription: my own\n---\nMine.\n');
    assert.ok(!fs.existsSync(path.join(foreign, '.gatehouse-skill.json')));
    for (const skill of bundled.slice(1)) assert.ok(fs.existsSync(path.join(workspace, '.agents', 'skills', skill, '.gatehouse-skill.json')), skill);

    const replaced = vscode.commands.executeCommand('gatehouse.installSkills');
    await pickQuickPickItem('Codex');
    await pickQuickPickItem('this workspace');
    await answer('Replace the folder Gatehouse did not install?', 'Replace');
    await replaced;
    assert.ok(fs.existsSync(path.join(foreign, '.gatehouse-skill.json')));
  });

  it('offers the update when a copy it installed is outdated, and updates only that folder', async () => {
    const shared = path.join(os.homedir(), '.agents', 'skills', bundled[0]!, '.gatehouse-skill.json');
    const claude = path.join(os.homedir(), '.claude', 'skills', bundled[0]!, '.gatehouse-skill.json');
    // What an older extension left behind: our marker with another content hash.
    const current = JSON.parse(fs.readFileSync(shared, 'utf8')) as { hash: string; version: string };
    fs.writeFileSync(shared, JSON.stringify({ ...current, hash: 'from-an-older-release', version: '0.0.1' }));
    const claudeBefore = fs.readFileSync(claude, 'utf8');
    const log = vscode.window.createOutputChannel('Gatehouse skills test', { log: true });
    try {
      // The same function activation runs once the gateway has started.
      const declined = offerSkillUpdate(log);
      await answer('Gatehouse skills have an update', 'Not now');
      await declined;
      assert.equal((JSON.parse(fs.readFileSync(shared, 'utf8')) as { hash: string }).hash, 'from-an-older-release');

      const accepted = offerSkillUpdate(log);
      await answer('Gatehouse skills have an update', 'Update');
      await accepted;
      assert.equal((JSON.parse(fs.readFileSync(shared, 'utf8')) as { hash: string }).hash, current.hash);
      assert.equal(fs.readFileSync(claude, 'utf8'), claudeBefore, 'an up-to-date folder is left alone');
    } finally {
      log.dispose();
    }
  });

  it('uninstalls only the folders it installed', async () => {
    const mine = path.join(os.homedir(), '.agents', 'skills', 'my-own-skill');
    fs.mkdirSync(mine, { recursive: true });
    const running = vscode.commands.executeCommand('gatehouse.uninstallSkills');
    await pickQuickPickItem('Codex');
    await pickQuickPickItem('user level');
    await running;
    for (const dir of [path.join(os.homedir(), '.agents', 'skills'), path.join(os.homedir(), '.claude', 'skills')]) {
      for (const skill of bundled) assert.ok(!fs.existsSync(path.join(dir, skill)), `${dir}/${skill} is gone`);
    }
    assert.ok(fs.existsSync(mine));
  });
});
