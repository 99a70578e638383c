import { Option } from 'commander';
import type { Command } from 'commander';
import { loadBundledSkills } from '../core/skills/bundle';
import { SKILL_AGENTS, installSkills, isUpdateAvailable, skillStatus, uninstallSkills } from '../core/skills/installer';
import type { SkillAgent, SkillInstallAction, SkillInstallState, SkillTarget, SkillUninstallAction } from '../core/skills/installer';

export interface SkillsCommandContext {
  /** The user's HOME directory. */
  readonly home: string;
  readonly out: (line: string) => void;
}

interface SkillsOptions {
  agent?: SkillAgent[];
  project?: string;
  force?: boolean;
}

const INSTALL_WORDS: Record<SkillInstallAction, string> = {
  installed: 'installed',
  updated: 'updated',
  unchanged: 'up to date',
  'replaced-foreign': 'replaced (was not installed by Gatehouse; --force)',
  'refused-foreign': 'skipped: a folder not installed by Gatehouse is in the way',
};

const UNINSTALL_WORDS: Record<SkillUninstallAction, string> = {
  removed: 'removed',
  absent: 'not installed',
  'kept-foreign': 'kept: not installed by Gatehouse',
};

const STATE_WORDS: Record<SkillInstallState, string> = {
  installed: 'installed, up to date',
  outdated: 'update available',
  missing: 'not installed',
  foreign: 'a folder not installed by Gatehouse',
};

/** Registers `gatehouse skills install|uninstall|status`. */
export function registerSkillsCommands(program: Command, ctx: SkillsCommandContext): void {
  const skills = program
    .command('skills')
    .description('Install the Gatehouse agent skills, which teach coding agents the approval protocol');

  const withCommonOptions = (command: Command): Command =>
    command
      .addOption(
        new Option('--agent <agent...>', 'agents to act for (default: all); codex, cursor, copilot and gemini share ~/.agents/skills, claude uses ~/.claude/skills').choices(
          SKILL_AGENTS,
        ),
      )
      .option('--project <dir>', 'use <dir>/.agents/skills (and <dir>/.claude/skills) instead of your home directory');

  withCommonOptions(skills.command('install').description('Install the skills, or update the copies Gatehouse installed earlier'))
    .option('--force', 'also replace skill folders of the same name that Gatehouse did not install')
    .action((options: SkillsOptions, command: Command) => {
      const entries = installSkills(loadBundledSkills(), targetOptions(ctx, options));
      for (const entry of entries) ctx.out(`${describeTarget(entry.target)} ${entry.skill}: ${INSTALL_WORDS[entry.action]} (${entry.dir})`);
      const refused = entries.filter((entry) => entry.action === 'refused-foreign');
      if (refused.length > 0) {
        command.error(
          `${refused.map((entry) => entry.dir).join(', ')} already exist${refused.length === 1 ? 's' : ''} and Gatehouse did not install ${
            refused.length === 1 ? 'it' : 'them'
          }. Move ${refused.length === 1 ? 'it' : 'them'} away, or run again with --force to replace ${refused.length === 1 ? 'it' : 'them'}.`,
          { exitCode: 1, code: 'gatehouse.skills.foreign' },
        );
      }
    });

  withCommonOptions(skills.command('uninstall').description('Remove the skills that Gatehouse installed (other folders are kept)')).action(
    (options: SkillsOptions) => {
      const entries = uninstallSkills(loadBundledSkills(), targetOptions(ctx, options));
      for (const entry of entries) ctx.out(`${describeTarget(entry.target)} ${entry.skill}: ${UNINSTALL_WORDS[entry.action]} (${entry.dir})`);
    },
  );

  withCommonOptions(skills.command('status').description('Show, per agent folder, whether each skill is installed, outdated or missing')).action(
    (options: SkillsOptions) => {
      const entries = skillStatus(loadBundledSkills(), targetOptions(ctx, options));
      for (const entry of entries) {
        const installed = entry.installedVersion ? ` (installed ${entry.installedVersion}, bundled ${entry.bundledVersion})` : '';
        ctx.out(`${describeTarget(entry.target)} ${entry.skill}: ${STATE_WORDS[entry.state]}${entry.state === 'outdated' ? installed : ''} (${entry.dir})`);
      }
      if (isUpdateAvailable(entries)) ctx.out('Run `gatehouse skills install` to update.');
    },
  );
}

function targetOptions(ctx: SkillsCommandContext, options: SkillsOptions): { home: string; agents?: SkillAgent[]; projectDir?: string; force?: boolean } {
  return { home: ctx.home, agents: options.agent, projectDir: options.project, force: options.force === true };
}

function describeTarget(target: SkillTarget): string {
  return `[${target.agents.join(', ')}]`;
}
