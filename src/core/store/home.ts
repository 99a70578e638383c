import * as os from 'node:os';
import * as path from 'node:path';

/** The Gatehouse home: `GATEHOUSE_HOME`, or `~/.gatehouse`. The extension and the CLI share it. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.GATEHOUSE_HOME?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(os.homedir(), '.gatehouse');
}
