import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeJsonFile } from '../store/files';
import type { BundledSkill } from './bundle';

/** Agents whose skill folders Gatehouse knows. */
export const SKILL_AGENTS = ['codex', 'claude', 'cursor', 'copilot', 'gemini'] as const;
export type SkillAgent = (typeof SKILL_AGENTS)[number];

/** Marks a skill folder as installed by Gatehouse; without it, the folder belongs to someone else. */
export const SKILL_MARKER_FILE = '.gatehouse-skill.json';

/** A folder that holds one sub-folder per skill, read by some agents. */
export interface SkillTarget {
  readonly id: 'user-agents' | 'user-claude' | 'project-agents' | 'project-claude';
  /** Where the skill folders go, e.g. `~/.agents/skills`. */
  readonly skillsDir: string;
  /** The requested agents that read this folder. */
  readonly agents: readonly SkillAgent[];
}

export interface SkillTargetOptions {
  /** The user's home directory (a parameter so tests and the editor never guess it). */
  readonly home: string;
  /** Agents to install for; all of them when omitted or empty. */
  readonly agents?: readonly SkillAgent[];
  /** A workspace folder: install into `<project>/.agents/skills` (and `.claude/skills`) instead of the home. */
  readonly projectDir?: string;
}

/**
 * Maps agents to the folders they read. Codex reads `.agents/skills`, and Copilot, Cursor and
 * Gemini read the same shared location; Claude Code reads only `.claude/skills`.
 */
export function resolveSkillTargets(options: SkillTargetOptions): SkillTarget[] {
  const agents = options.agents && options.agents.length > 0 ? [...new Set(options.agents)] : [...SKILL_AGENTS];
  const base = options.projectDir ? path.resolve(options.projectDir) : options.home;
  const scope = options.projectDir ? 'project' : 'user';
  const targets: SkillTarget[] = [];
  const sharedAgents = agents.filter((agent) => agent !== 'claude');
  if (sharedAgents.length > 0) {
    targets.push({ id: `${scope}-agents`, skillsDir: path.join(base, '.agents', 'skills'), agents: sharedAgents });
  }
  if (agents.includes('claude')) {
    targets.push({ id: `${scope}-claude`, skillsDir: path.join(base, '.claude', 'skills'), agents: ['claude'] });
  }
  return targets;
}

const markerSchema = z.object({
  installedBy: z.literal('gatehouse'),
  skill: z.string(),
  version: z.string(),
  hash: z.string(),
  installedAt: z.string(),
});
export type SkillMarker = z.infer<typeof markerSchema>;

/**
 * - `installed`: our marker, same content hash as the bundled skill.
 * - `outdated`: our marker, another hash: an update is available.
 * - `missing`: no folder.
 * - `foreign`: a folder (or link) without a readable marker of ours: we never touch it without `force`.
 */
export type SkillInstallState = 'installed' | 'outdated' | 'missing' | 'foreign';

export interface SkillStatusEntry {
  readonly target: SkillTarget;
  readonly skill: string;
  /** The skill's folder in the target. */
  readonly dir: string;
  readonly state: SkillInstallState;
  /** Version recorded in our marker, when there is one. */
  readonly installedVersion?: string;
  readonly bundledVersion: string;
}

export type SkillInstallAction = 'installed' | 'updated' | 'unchanged' | 'replaced-foreign' | 'refused-foreign';
export type SkillUninstallAction = 'removed' | 'absent' | 'kept-foreign';

export interface SkillInstallEntry {
  readonly target: SkillTarget;
  readonly skill: string;
  readonly dir: string;
  readonly action: SkillInstallAction;
}

export interface SkillUninstallEntry {
  readonly target: SkillTarget;
  readonly skill: string;
  readonly dir: string;
  readonly action: SkillUninstallAction;
}

export interface SkillInstallOptions extends SkillTargetOptions {
  /** Replace skill folders that Gatehouse did not install. The editor asks the user first. */
  readonly force?: boolean;
}

/** Reports, per target and skill, whether the bundled skill is installed, outdated, missing or someone else's. */
export function skillStatus(skills: readonly BundledSkill[], options: SkillTargetOptions): SkillStatusEntry[] {
  const entries: SkillStatusEntry[] = [];
  for (const target of resolveSkillTargets(options)) {
    for (const skill of skills) {
      const dir = path.join(target.skillsDir, skill.name);
      const found = inspectSkillFolder(dir);
      const state: SkillInstallState =
        found.kind === 'ours' ? (found.marker.hash === skill.hash ? 'installed' : 'outdated') : found.kind;
      entries.push({
        target,
        skill: skill.name,
        dir,
        state,
        ...(found.kind === 'ours' ? { installedVersion: found.marker.version } : {}),
        bundledVersion: skill.version,
      });
    }
  }
  return entries;
}

/** True when a folder we installed holds an older copy of a bundled skill: the editor offers the update. */
export function isUpdateAvailable(status: readonly SkillStatusEntry[]): boolean {
  return status.some((entry) => entry.state === 'outdated');
}

/**
 * Installs or updates the bundled skills. Folders carrying our marker are updated; a folder
 * without it is left alone (`refused-foreign`) unless `force` is set.
 */
export function installSkills(skills: readonly BundledSkill[], options: SkillInstallOptions): SkillInstallEntry[] {
  const entries: SkillInstallEntry[] = [];
  for (const status of skillStatus(skills, options)) {
    const skill = skills.find((candidate) => candidate.name === status.skill)!;
    let action: SkillInstallAction;
    switch (status.state) {
      case 'installed':
        action = 'unchanged';
        break;
      case 'missing':
        action = 'installed';
        break;
      case 'outdated':
        action = 'updated';
        break;
      case 'foreign':
        action = options.force ? 'replaced-foreign' : 'refused-foreign';
        break;
    }
    if (action !== 'unchanged' && action !== 'refused-foreign') copySkillAtomically(skill, status.dir);
    entries.push({ target: status.target, skill: status.skill, dir: status.dir, action });
  }
  return entries;
}

/** Removes the skill folders that carry our marker; anything else stays. */
export function uninstallSkills(skills: readonly BundledSkill[], options: SkillTargetOptions): SkillUninstallEntry[] {
  return skillStatus(skills, options).map((status) => {
    let action: SkillUninstallAction;
    if (status.state === 'missing') action = 'absent';
    else if (status.state === 'foreign') action = 'kept-foreign';
    else {
      removeFolder(status.dir);
      action = 'removed';
    }
    return { target: status.target, skill: status.skill, dir: status.dir, action };
  });
}

type FolderInspection = { kind: 'missing' } | { kind: 'foreign' } | { kind: 'ours'; marker: SkillMarker };

function inspectSkillFolder(dir: string): FolderInspection {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return { kind: 'missing' };
  }
  // A symlink (the skills CLI links `.claude/skills/<name>` into `.agents/skills`) is never ours.
  if (!stat.isDirectory()) return { kind: 'foreign' };
  try {
    const parsed = markerSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, SKILL_MARKER_FILE), 'utf8')));
    return parsed.success ? { kind: 'ours', marker: parsed.data } : { kind: 'foreign' };
  } catch {
    // No marker, or an unreadable one: we cannot prove the folder is ours, so it is not.
    return { kind: 'foreign' };
  }
}

/**
 * Copies the skill into a temporary sibling folder with our marker, then swaps it in with
 * renames, so an agent never reads a half-written skill and a failure leaves the old one.
 */
function copySkillAtomically(skill: BundledSkill, destination: string): void {
  const parent = path.dirname(destination);
  fs.mkdirSync(parent, { recursive: true });
  const suffix = crypto.randomBytes(6).toString('hex');
  const staging = path.join(parent, `.${skill.name}.gatehouse-new-${suffix}`);
  const previous = path.join(parent, `.${skill.name}.gatehouse-old-${suffix}`);
  try {
    for (const file of skill.files) {
      const target = path.join(staging, ...file.split('/'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(skill.dir, ...file.split('/')), target);
    }
    const marker: SkillMarker = {
      installedBy: 'gatehouse',
      skill: skill.name,
      version: skill.version,
      hash: skill.hash,
      installedAt: new Date().toISOString(),
    };
    writeJsonFile(path.join(staging, SKILL_MARKER_FILE), marker, 0o644);
    let movedAside = false;
    if (pathExists(destination)) {
      fs.renameSync(destination, previous);
      movedAside = true;
    }
    try {
      fs.renameSync(staging, destination);
    } catch (error) {
      if (movedAside) fs.renameSync(previous, destination);
      throw error;
    }
    if (movedAside) fs.rmSync(previous, { recursive: true, force: true });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function removeFolder(dir: string): void {
  // Rename first so an agent never sees a half-deleted skill.
  const doomed = path.join(path.dirname(dir), `.${path.basename(dir)}.gatehouse-old-${crypto.randomBytes(6).toString('hex')}`);
  fs.renameSync(dir, doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
}

function pathExists(candidate: string): boolean {
  try {
    fs.lstatSync(candidate);
    return true;
  } catch {
    return false;
  }
}
