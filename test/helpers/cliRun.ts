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
