import * as TOML from '@iarna/toml';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CODEX_SERVER_NAME, desiredCodexEntry, GATEHOUSE_TOKEN_ENV } from '../../src/core/clients/codex';
import { REPO_ROOT, tempDir } from './gatewayHarness';
import type { MockModel } from './mockModel';

/** The real Codex CLI from npm (@openai/codex 0.171), with its native binary inside the package. */
export const CODEX_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'codex');

/** A throwaway user for one Codex run: its own HOME, CODEX_HOME and working directory. */
export interface CodexSandbox {
  readonly root: string;
  readonly home: string;
  readonly codexHome: string;
  readonly workdir: string;
  /** The environment for Codex: the sandbox's homes, no real credentials, plus `extra`. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  remove(): void;
}

export function createCodexSandbox(prefix = 'gatehouse-codex-'): CodexSandbox {
  const root = tempDir(prefix);
  const home = path.join(root, 'home');
  const codexHome = path.join(root, 'codex-home');
  const workdir = path.join(root, 'work');
  for (const dir of [home, codexHome, workdir]) fs.mkdirSync(dir, { recursive: true });
  return {
    root,
    home,
    codexHome,
    workdir,
    env(extra = {}) {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, CODEX_HOME: codexHome, RUST_LOG: 'error', NO_COLOR: '1', ...extra };
      // Never let a developer's real key or token reach a test run.
      delete env.OPENAI_API_KEY;
      delete env.CODEX_API_KEY;
      if (!(GATEHOUSE_TOKEN_ENV in extra)) delete env[GATEHOUSE_TOKEN_ENV];
      return env;
    },
    remove() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface CodexConfigOptions {
  /** The scripted model Codex talks to instead of OpenAI. */
  readonly model: MockModel;
  /** The gateway's MCP URL; the `[mcp_servers.gatehouse]` entry is the one our Codex writer produces. */
  readonly gatehouseUrl?: string;
  /** `env`: bearer token from $GATEHOUSE_TOKEN (the default); `oauth`: Codex signs in itself. */
  readonly auth?: 'env' | 'oauth';
  readonly toolTimeoutSec?: number;
}

/**
 * Writes `$CODEX_HOME/config.toml`: the mock model provider (TESTING.md), and the Gatehouse entry
 * exactly as `desiredCodexEntry` makes it (url, `default_tools_approval_mode = "approve"`, timeouts,
 * `bearer_token_env_var`), so the test runs what users get.
 */
export function writeCodexConfig(codexHome: string, options: CodexConfigOptions): string {
  let text = options.model.codexConfig();
  if (options.gatehouseUrl) {
    const entry = desiredCodexEntry({ url: options.gatehouseUrl, auth: options.auth ?? 'env', toolTimeoutSec: options.toolTimeoutSec });
    text += `\n${TOML.stringify({ mcp_servers: { [CODEX_SERVER_NAME]: entry } } as TOML.JsonMap)}`;
  }
  const file = path.join(codexHome, 'config.toml');
  fs.writeFileSync(file, text);
  return file;
}

/** One line of `codex exec --json`. */
export interface CodexEvent {
  readonly type: string;
  readonly item?: Record<string, unknown> & { type?: string };
  readonly [key: string]: unknown;
}

export interface CodexExecResult {
  /** The exit code, or null when the run was killed (timeout or abort). */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: CodexEvent[];
}

export interface CodexRun {
  readonly child: ChildProcessWithoutNullStreams;
  readonly result: Promise<CodexExecResult>;
  /** Ends the run (and its MCP connections) now; safe to call more than once. */
  kill(): void;
}

export interface CodexExecOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The run is killed after this long; the result then says `timedOut`. */
  readonly timeoutMs?: number;
  /** More arguments before the prompt, e.g. `['-c', 'key=value']`. */
  readonly args?: readonly string[];
}

/** Parses the JSON lines of `codex exec --json`, skipping anything else Codex printed. */
export function parseCodexEvents(stdout: string): CodexEvent[] {
  const events: CodexEvent[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as CodexEvent);
    } catch {
      // A partial line from a killed run.
    }
  }
  return events;
}

/** The completed items of one kind, e.g. `mcp_tool_call` or `agent_message`. */
export function completedItems(events: readonly CodexEvent[], itemType: string): Array<Record<string, unknown>> {
  return events.filter((event) => event.type === 'item.completed' && event.item?.type === itemType).map((event) => event.item!);
}

/** Runs `codex exec --json --skip-git-repo-check <prompt>`, bounded by a timeout. */
export function runCodexExec(prompt: string, options: CodexExecOptions): CodexRun {
  const child = spawn(CODEX_BIN, ['exec', '--json', '--skip-git-repo-check', ...(options.args ?? []), prompt], { env: options.env, cwd: options.cwd, stdio: 'pipe' });
  // `codex exec` would otherwise wait for more prompt on an open stdin.
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let timedOut = false;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? 120_000);
  const result = new Promise<CodexExecResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr, events: parseCodexEvents(stdout) });
    });
  });
  return { child, result, kill };
}

/** Everything a failing assertion should show about a run. */
export function describeRun(run: CodexExecResult): string {
  return `codex exited ${run.code}${run.timedOut ? ' (timed out)' : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr.slice(-4000)}`;
}

/**
 * The skills Codex told the model about, by name, from the `<skills_instructions>` block. Codex
 * 0.171 sends it as a developer message in `input`, not in `instructions`, one line per skill:
 * `- <name>: <description> (file: <path>)`.
 */
export function skillsShownToModel(request: { readonly [key: string]: unknown }): Map<string, string> {
  const block = /<skills_instructions>([\s\S]*?)<\/skills_instructions>/.exec(textOf(request))?.[1] ?? '';
  const skills = new Map<string, string>();
  for (const [, name, description] of block.matchAll(/^- ([a-z0-9-]+): (.*?)(?: \(file: [^)]*\))?$/gm)) skills.set(name!, description!);
  return skills;
}

/** All text of a Responses API request: instructions and every input message. */
function textOf(request: { readonly [key: string]: unknown }): string {
  const parts: string[] = [];
  if (typeof request.instructions === 'string') parts.push(request.instructions);
  for (const item of (request.input as Array<{ content?: unknown }> | undefined) ?? []) {
    if (Array.isArray(item.content)) for (const part of item.content as Array<{ text?: unknown }>) if (typeof part.text === 'string') parts.push(part.text);
  }
  return parts.join('\n');
}

/** The MCP tools Codex offered the model, as `namespace` → tool names (Codex 0.171 groups them per server). */
export function mcpToolsShownToModel(request: { readonly tools?: ReadonlyArray<Record<string, unknown>> }): Map<string, string[]> {
  const namespaces = new Map<string, string[]>();
  for (const tool of request.tools ?? []) {
    if (tool.type !== 'namespace' || typeof tool.name !== 'string' || !tool.name.startsWith('mcp__')) continue;
    namespaces.set(tool.name, ((tool.tools as Array<{ name: string }> | undefined) ?? []).map((inner) => inner.name));
  }
  return namespaces;
}
