import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from './gatewayHarness';

export interface ChildResult {
  /** The exit code, or null when the child was killed. */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunChildOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** The child (and its process group) is killed after this long. */
  readonly timeoutMs?: number;
}

/**
 * Runs a command to completion without blocking the event loop, which matters when the child talks
 * to a gateway running inside the test process (spawnSync would deadlock it). The child gets its
 * own process group so a timeout also ends whatever it started.
 */
export function runChild(command: string, args: readonly string[], options: RunChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}

/** Everything a failing assertion should show about a child run. */
export function describeChild(name: string, result: ChildResult): string {
  return `${name} exited ${result.code}${result.timedOut ? ' (timed out)' : ''}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr.slice(-4000)}`;
}

/** The gatehouse CLI from source (`node --import tsx src/cli/main.ts`), as a user would run it. */
export function runGatehouse(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ChildResult> {
  return runChild(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], { env, timeoutMs });
}

/**
 * A user's environment for the agent CLIs (Claude Code, Gemini CLI) in a test: its own HOME and
 * Gatehouse home, no real credentials, nothing that phones home. `GATEHOUSE_TOKEN` only if given.
 */
export function agentCliEnv(home: string, gatehouseHome: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    GATEHOUSE_HOME: gatehouseHome,
    NO_COLOR: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    GEMINI_CLI_NO_RELAUNCH: 'true',
    ...extra,
  };
  for (const secret of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'OPENAI_API_KEY', 'XDG_CONFIG_HOME']) {
    if (!(secret in extra)) delete env[secret];
  }
  if (!('GATEHOUSE_TOKEN' in extra)) delete env.GATEHOUSE_TOKEN;
  return env;
}
