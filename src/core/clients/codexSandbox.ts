import * as path from 'node:path';
import * as TOML from '@iarna/toml';

/**
 * Whether Codex's sandbox, as `config.toml` sets it, lets the agent write the Gatehouse home.
 * Gatehouse never lets anything on disk approve a call, but an agent that can write the home can
 * still rewrite baselines between runs and read keys (docs/architecture.md, "The boundary"), so
 * `gatehouse connect codex` says so when it can tell. Returns the warning, or undefined.
 */
export function codexSandboxWarning(configText: string | undefined, gatehouseHome: string, tmpDirEnv?: string): string | undefined {
  let config: Record<string, unknown>;
  try {
    config = configText ? (TOML.parse(configText.replace(/\r\n/g, '\n')) as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
  const home = path.resolve(gatehouseHome);
  const mode = config.sandbox_mode;
  const consequence = `so an agent can write ${home} (the Gatehouse home). Gatehouse still never runs a held call without you, but to keep the agent away from its keys and baselines, use sandbox_mode = "workspace-write" (or "read-only") with the home outside the writable roots.`;
  if (mode === 'danger-full-access') return `Codex runs commands without a sandbox (sandbox_mode = "danger-full-access"), ${consequence}`;
  if (mode !== 'workspace-write') return undefined;
  const settings = (config.sandbox_workspace_write ?? {}) as { writable_roots?: unknown; exclude_slash_tmp?: unknown; exclude_tmpdir_env_var?: unknown };
  const roots = Array.isArray(settings.writable_roots) ? settings.writable_roots.filter((root): root is string => typeof root === 'string') : [];
  // Codex's workspace-write also opens /tmp and $TMPDIR unless told not to.
  if (settings.exclude_slash_tmp !== true) roots.push('/tmp');
  if (tmpDirEnv && settings.exclude_tmpdir_env_var !== true) roots.push(tmpDirEnv);
  const inside = roots.map((root) => path.resolve(root)).find((root) => home === root || home.startsWith(`${root}${path.sep}`));
  return inside ? `Codex's workspace-write sandbox lets commands write ${inside}, ${consequence}` : undefined;
}
