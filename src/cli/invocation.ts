import * as fs from 'node:fs';
import * as path from 'node:path';

export interface InvocationContext {
  /** The script node runs: `process.argv[1]`. */
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * How to run this same CLI again from the user's shell, for the commands Gatehouse prints:
 * `npx gatehouse` when npx found it in a project's node_modules, `gatehouse` when that name on
 * PATH is this very script, otherwise `node <path to the script>` (which is what `npm start` runs).
 * A printed command must work as printed: `gatehouse` is not on PATH after a local install, and
 * `npx gatehouse` outside the project would fetch an unrelated package of that name from npm.
 */
export function cliInvocation(context: InvocationContext = { script: process.argv[1] ?? '', env: process.env, cwd: process.cwd() }): string {
  const script = realpathOrSelf(path.resolve(context.cwd, context.script));
  // npm puts node_modules/.bin on PATH for npx and for scripts, so PATH proves nothing there.
  const underNpm = context.env.npm_command !== undefined || context.env.npm_lifecycle_event !== undefined;
  if (context.env.npm_command === 'exec' && projectBinFor(context.cwd) === script) return 'npx gatehouse';
  if (!underNpm && pathBinFor(context.env.PATH) === script) return 'gatehouse';
  const relative = path.relative(context.cwd, context.script);
  const shown = relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(context.cwd, context.script);
  return `node ${quoteForShell(shown)}`;
}

/** The `gatehouse` bin that `npx gatehouse` would run from `cwd`: the nearest node_modules/.bin up the tree. */
function projectBinFor(cwd: string): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'node_modules', '.bin', 'gatehouse');
    if (fs.existsSync(bin)) return realpathOrSelf(bin);
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The first executable `gatehouse` on PATH, resolved, as a shell would find it. */
function pathBinFor(searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const bin = path.join(dir, 'gatehouse');
    try {
      fs.accessSync(bin, fs.constants.X_OK);
      return realpathOrSelf(bin);
    } catch {
      // Not here: keep looking, as the shell does.
    }
  }
  return undefined;
}

function realpathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function quoteForShell(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
