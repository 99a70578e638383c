import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import matter from 'gray-matter';
import { GATEHOUSE_VERSION } from '../version';

/** A skill shipped in the package's top-level `skills/` folder, validated against the Agent Skills spec. */
export interface BundledSkill {
  readonly name: string;
  readonly description: string;
  /** Absolute path of the skill's folder (the one holding SKILL.md). */
  readonly dir: string;
  /** Files of the skill, relative to `dir`, with `/` separators, sorted. */
  readonly files: readonly string[];
  /** The Gatehouse version that ships this skill. */
  readonly version: string;
  /** sha256 over the skill's file names and contents: what decides "update available". */
  readonly hash: string;
}

/** The bundled skills folder is broken; the message names the file and the rule it breaks. */
export class SkillBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SkillBundleError';
  }
}

// Agent Skills spec (agentskills.io/specification): name is 1-64 chars of a-z0-9 and single hyphens.
const SKILL_NAME_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_SKILL_NAME_LENGTH = 64;
export const MAX_SKILL_DESCRIPTION_LENGTH = 1024;
/** Our own limit: a SKILL.md is loaded whole into the model's context, so it stays short. */
export const MAX_SKILL_LINES = 150;

/**
 * Finds the package's `skills/` folder from the directory of the running code. The bundles run
 * from `dist/` (package root is one level up); under tsx this file runs from `src/core/skills/`
 * (three levels up). The package root is recognised by its package.json next to `skills/`.
 */
export function resolveBundledSkillsRoot(fromDir: string = __dirname): string {
  const packageRootCandidates = [path.join(fromDir, '..'), path.join(fromDir, '..', '..', '..')];
  for (const root of packageRootCandidates) {
    const skillsRoot = path.join(root, 'skills');
    if (fs.existsSync(path.join(root, 'package.json')) && isDirectory(skillsRoot)) return path.resolve(skillsRoot);
  }
  throw new SkillBundleError(
    `Gatehouse's bundled skills were not found next to ${fromDir} (looked in ${packageRootCandidates
      .map((root) => path.join(root, 'skills'))
      .join(' and ')}). Reinstall Gatehouse; the package is incomplete.`,
  );
}

/** Problems with one SKILL.md against the Agent Skills spec; empty when it is valid. */
export function skillSpecProblems(folderName: string, skillMarkdown: string): string[] {
  const problems: string[] = [];
  let data: Record<string, unknown>;
  try {
    data = matter(skillMarkdown).data;
  } catch (error) {
    return [`front matter is not valid YAML (${(error as Error).message})`];
  }
  const { name, description } = data;
  if (typeof name !== 'string' || name.length === 0) {
    problems.push('front matter needs a `name`');
  } else {
    if (name !== folderName) problems.push(`name "${name}" must equal the folder name "${folderName}"`);
    if (name.length > MAX_SKILL_NAME_LENGTH) problems.push(`name is ${name.length} characters; the limit is ${MAX_SKILL_NAME_LENGTH}`);
    if (!SKILL_NAME_PATTERN.test(name)) {
      problems.push(`name "${name}" may only use a-z, 0-9 and single hyphens, not at the start or end`);
    }
  }
  if (typeof description !== 'string' || description.trim().length === 0) {
    problems.push('front matter needs a `description`');
  } else if (description.length > MAX_SKILL_DESCRIPTION_LENGTH) {
    problems.push(`description is ${description.length} characters; the limit is ${MAX_SKILL_DESCRIPTION_LENGTH}`);
  }
  const lines = skillMarkdown.split('\n').length;
  if (lines >= MAX_SKILL_LINES) problems.push(`SKILL.md has ${lines} lines; keep it under ${MAX_SKILL_LINES}`);
  return problems;
}

/** Reads and validates every `<skillsRoot>/<name>/SKILL.md`. Throws SkillBundleError on any invalid skill. */
export function loadBundledSkills(skillsRoot: string = resolveBundledSkillsRoot(), version: string = GATEHOUSE_VERSION): BundledSkill[] {
  // The skills CLI treats a SKILL.md at the repository root as the only skill, hiding the rest.
  const shadowing = [path.join(skillsRoot, 'SKILL.md'), path.join(skillsRoot, '..', 'SKILL.md')].find((file) => fs.existsSync(file));
  if (shadowing) throw new SkillBundleError(`${shadowing} must not exist: a root SKILL.md hides the bundled skills from the skills CLI.`);

  const skills: BundledSkill[] = [];
  const folders = fs
    .readdirSync(skillsRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  for (const folderName of folders) {
    const dir = path.join(skillsRoot, folderName);
    const skillFile = path.join(dir, 'SKILL.md');
    if (!fs.existsSync(skillFile)) continue;
    const text = fs.readFileSync(skillFile, 'utf8');
    const problems = skillSpecProblems(folderName, text);
    if (problems.length > 0) throw new SkillBundleError(`${skillFile} is not a valid skill: ${problems.join('; ')}.`);
    const { name, description } = matter(text).data as { name: string; description: string };
    const files = listFiles(dir);
    skills.push({ name, description, dir, files, version, hash: hashSkillFolder(dir, files) });
  }
  if (skills.length === 0) throw new SkillBundleError(`${skillsRoot} holds no skills (no <name>/SKILL.md). Reinstall Gatehouse.`);
  return skills;
}

/** Lists the files under `dir` (relative, `/`-separated, sorted), skipping names in `ignore`. */
export function listFiles(dir: string, ignore: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      if (ignore.has(entry.name)) continue;
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) found.push(child);
    }
  };
  walk('');
  return found.sort();
}

/** sha256 over each file's relative path and bytes, so a rename or an edit both change it. */
export function hashSkillFolder(dir: string, files: readonly string[] = listFiles(dir)): string {
  const hash = crypto.createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(dir, ...file.split('/'))));
    hash.update('\0');
  }
  return `sha256:${hash.digest('hex')}`;
}

function isDirectory(candidate: string): boolean {
  try {
    return fs.statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}
