import { codexConfigPath, planCodexConnect, planCodexDisconnect } from './codex';
import { JSON_CLIENTS, planJsonClientConnect, planJsonClientDisconnect } from './jsonClients';
import type { ClientAuthMode } from './jsonConfig';
import type { ConfigPlan } from './plan';

/** The client table the CLI and the editor share: each client's config file and its planners. */
export const CLIENTS = ['codex', 'claude', 'cursor', 'gemini', 'vscode'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface ClientWriter {
  readonly file: string;
  readonly connect: (text: string | undefined, options: { url: string; auth: ClientAuthMode; apiKey?: string; force?: boolean; label: string; entryName?: string }) => ConfigPlan;
  readonly disconnect: (text: string | undefined, options: { force?: boolean; label: string; entryName?: string }) => ConfigPlan;
}

/** The config file of `client` (CODEX_HOME is read from `env`) and its planners. */
export function clientWriter(client: ClientName, env: NodeJS.ProcessEnv, home: string): ClientWriter {
  if (client === 'codex') return { file: codexConfigPath(env, home), connect: planCodexConnect, disconnect: planCodexDisconnect };
  return {
    file: JSON_CLIENTS[client].file(home, env, process.platform),
    connect: (text, options) => planJsonClientConnect(client, text, options),
    disconnect: (text, options) => planJsonClientDisconnect(client, text, options),
  };
}
