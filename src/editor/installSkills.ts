import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { codexConfigPath } from '../core/clients/codex';
import { loadBundledSkills } from '../core/skills/bundle';
import type { BundledSkill } from '../core/skills/bundle';
import { SKILL_AGENTS, installSkills, isUpdateAvailable, skillStatus, uninstallSkills } from '../core/skills/installer';
import type { SkillAgent, SkillTargetOptions } from '../core/skills/installer';
import { CommandId } from './commandIds';
import { askModal } from './diffPreview';

/** The skills shipped in the installed extension, found from its own folder rather than the code's. */
function bundledSkills(): BundledSkill[] {
  const extension = vscode.extensions.getExtension('gatehouse.gatehouse');
  return extension ? loadBundledSkills(path.join(extension.extensionPath, 'skills')) : loadBundledSkills();
}

const AGENT_NAMES: Record<SkillAgent, string> = {
  codex: 'Codex',
  claude: 'Claude Code',
  cursor: 'Cursor',
  copilot: 'GitHub Copilot',
  gemini: 'Gemini CLI',
};

/** The agents that look installed here, ticked in advance so Enter does the usual thing. */
function detectedAgents(home: string): Set<SkillAgent> {
  const exists = (file: string): boolean => fs.existsSync(file);
  const found = new Set<SkillAgent>();
  if (exists(path.dirname(codexConfigPath(process.env, home)))) found.add('codex');
  if (exists(path.join(home, '.claude')) || exists(path.join(home, '.claude.json'))) found.add('claude');
  if (exists(path.join(home, '.cursor'))) found.add('cursor');
  if (exists(path.join(home, '.gemini'))) found.add('gemini');
  if (vscode.extensions.getExtension('github.copilot-chat') || vscode.extensions.getExtension('github.copilot')) found.add('copilot');
  if (!found.size) found.add('codex');
  return found;
}

function userFolder(agent: SkillAgent): string {
  return agent === 'claude' ? '~/.claude/skills' : '~/.agents/skills';
}

async function pickAgents(title: string, home: string): Promise<SkillAgent[] | undefined> {
  const ticked = detectedAgents(home);
  const items = SKILL_AGENTS.map((agent) => ({ agent, label: AGENT_NAMES[agent], description: userFolder(agent), picked: ticked.has(agent) }));
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Which agents should learn the Gatehouse approval protocol?', canPickMany: true });
  return picked?.length ? picked.map((item) => item.agent) : undefined;
}

/** User level, or one workspace folder (`<folder>/.agents/skills`, which the repo can commit). */
async function pickScope(title: string): Promise<{ projectDir?: string } | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length) return {};
  const items = [
    { label: 'For you (user level)', description: '~/.agents/skills, ~/.claude/skills', projectDir: undefined as string | undefined },
    ...folders.map((folder) => ({ label: `For this workspace: ${folder.name}`, description: `${folder.name}/.agents/skills, .claude/skills`, projectDir: folder.uri.fsPath })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Install where?' });
  return picked && { projectDir: picked.projectDir };
}

/**
 * "Gatehouse: Install Agent Skills". Folders Gatehouse installed are updated in place; a folder
 * of the same name that someone else put there is replaced only after a modal question.
 */
export async function installAgentSkills(log: vscode.LogOutputChannel): Promise<void> {
  const title = 'Gatehouse: Install Agent Skills';
  const home = os.homedir();
  const agents = await pickAgents(title, home);
  if (!agents) return;
  const scope = await pickScope(title);
  if (!scope) return;
  const skills = bundledSkills();
  const options: SkillTargetOptions = { home, agents, ...scope };
  const foreign = skillStatus(skills, options).filter((entry) => entry.state === 'foreign');
  let force = false;
  if (foreign.length) {
    const replace = 'Replace';
    const choice = await askModal(
      'Replace the folder Gatehouse did not install?',
      `${foreign.map((entry) => entry.dir).join('\n')}\n\nThese folders have a Gatehouse skill's name but no Gatehouse marker. Without "Replace", Gatehouse leaves them as they are and installs the rest.`,
      [replace],
      log,
    );
    force = choice === replace;
  }
  const entries = installSkills(skills, { ...options, force });
  for (const entry of entries) log.info(`Skill ${entry.skill} in ${entry.dir}: ${entry.action}`);
  const kept = entries.filter((entry) => entry.action === 'refused-foreign');
  const folders = [...new Set(entries.map((entry) => entry.target.skillsDir))].join(', ');
  const summary = `Gatehouse skills (${skills.map((skill) => skill.name).join(', ')}) are in ${folders} for ${agents.map((agent) => AGENT_NAMES[agent]).join(', ')}. Start a new agent session to load them.`;
  if (kept.length) void vscode.window.showWarningMessage(`${summary} Left alone: ${kept.map((entry) => entry.dir).join(', ')} (not installed by Gatehouse).`);
  else void vscode.window.showInformationMessage(summary);
}

/** "Gatehouse: Uninstall Agent Skills": removes only folders carrying Gatehouse's marker. */
export async function uninstallAgentSkills(log: vscode.LogOutputChannel): Promise<void> {
  const title = 'Gatehouse: Uninstall Agent Skills';
  const home = os.homedir();
  const agents = await pickAgents(title, home);
  if (!agents) return;
  const scope = await pickScope(title);
  if (!scope) return;
  const entries = uninstallSkills(bundledSkills(), { home, agents, ...scope });
  for (const entry of entries) log.info(`Skill ${entry.skill} in ${entry.dir}: ${entry.action}`);
  const removed = entries.filter((entry) => entry.action === 'removed').map((entry) => entry.dir);
  const kept = entries.filter((entry) => entry.action === 'kept-foreign').map((entry) => entry.dir);
  void vscode.window.showInformationMessage(
    `${removed.length ? `Removed ${removed.join(', ')}.` : 'No Gatehouse skill was installed there.'}${kept.length ? ` Kept ${kept.join(', ')} (not installed by Gatehouse).` : ''}`,
  );
}

/**
 * Runs after the gateway starts. When an extension upgrade brought changed skills and the user
 * has older copies that Gatehouse installed, offer the update; only those targets are touched.
 */
export async function offerSkillUpdate(log: vscode.LogOutputChannel): Promise<void> {
  const home = os.homedir();
  const skills = bundledSkills();
  const scopes: SkillTargetOptions[] = [{ home }, ...(vscode.workspace.workspaceFolders ?? []).map((folder) => ({ home, projectDir: folder.uri.fsPath }))];
  const outdated = scopes.flatMap((scope) => skillStatus(skills, scope).filter((entry) => entry.state === 'outdated').map((entry) => ({ scope, entry })));
  if (!isUpdateAvailable(outdated.map(({ entry }) => entry))) return;
  const update = 'Update';
  const choice = await vscode.window.showInformationMessage(
    `Gatehouse skills have an update (${[...new Set(outdated.map(({ entry }) => entry.skill))].join(', ')} in ${[...new Set(outdated.map(({ entry }) => entry.target.skillsDir))].join(', ')}).`,
    update,
    'Not now',
  );
  if (choice !== update) return;
  const done = new Set<string>();
  for (const { scope, entry } of outdated) {
    if (done.has(entry.target.skillsDir)) continue;
    done.add(entry.target.skillsDir);
    // Only this target's agents: an update never installs into folders the user did not choose.
    for (const installed of installSkills(skills, { ...scope, agents: entry.target.agents })) log.info(`Skill ${installed.skill} in ${installed.dir}: ${installed.action}`);
  }
  void vscode.window.showInformationMessage(`Updated the Gatehouse skills in ${[...done].join(', ')}.`, 'Install for More Agents').then((more) => {
    if (more) void vscode.commands.executeCommand(CommandId.installSkills);
  });
}
