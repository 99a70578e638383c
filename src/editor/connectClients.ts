import * as os from 'node:os';
import * as vscode from 'vscode';
import { setWalkthroughContext, WalkthroughContext } from './walkthroughContext';
import { ApiKeyStore } from '../core/auth/apiKeys';
import { clientWriter } from '../core/clients/clientWriters';
import { forgetImport, planCodexRestore, readImportRecords, recordImport, takenServerNames } from '../core/clients/importRecords';
import type { ClientName, ClientWriter } from '../core/clients/clientWriters';
import { GATEHOUSE_TOKEN_ENV, planCodexDisableServers } from '../core/clients/codex';
import type { ClientAuthMode } from '../core/clients/jsonConfig';
import type { ConfigPlan } from '../core/clients/plan';
import { applyPlan, displayPath, readTextIfExists } from '../core/clients/plan';
import { readCodexServers } from '../core/clients/readers';
import { resolveHome } from '../core/store/home';
import { loadServers, removeServer, saveServer } from '../core/upstreams/serversConfig';
import { askModal } from './diffPreview';
import type { DiffPreviewProvider } from './diffPreview';
import type { GatewayHost } from './gatewayHost';
import { readSettings } from './settings';
import { showSecretOnce } from './secretOnce';

export interface ConnectServices {
  readonly gateway: GatewayHost;
  readonly log: vscode.LogOutputChannel;
  readonly preview: DiffPreviewProvider;
}

export type ConnectableClient = Exclude<ClientName, 'vscode'>;

const CLIENT_NAMES: Record<ClientName, string> = {
  codex: 'Codex',
  claude: 'Claude Code',
  cursor: 'Cursor',
  gemini: 'Gemini CLI',
  vscode: 'VS Code (user mcp.json)',
};

/** How each client finishes an OAuth sign-in once its config points at the gateway. */
const OAUTH_NEXT_STEP: Record<ConnectableClient, string> = {
  codex: 'Then sign in once: codex mcp login gatehouse',
  claude: 'Then in Claude Code: /mcp, pick gatehouse',
  cursor: 'Then sign in from Cursor\'s MCP settings',
  gemini: 'Then in Gemini CLI: /mcp auth gatehouse',
};

interface FileContext {
  readonly home: string;
  readonly file: string;
  readonly label: string;
}

/** HOME and CODEX_HOME come from the extension host's environment, as for the CLI. */
function fileContext(client: ClientName): FileContext & ClientWriter {
  const home = os.homedir();
  const writer = clientWriter(client, process.env, home);
  return { ...writer, home, label: displayPath(writer.file, home) };
}

function gatewayUrl(gateway: GatewayHost): string {
  return gateway.state.kind === 'running' ? gateway.state.url : `http://127.0.0.1:${readSettings().port}/mcp`;
}

function apiKeys(gateway: GatewayHost): ApiKeyStore {
  return gateway.gatehouse?.gateway.apiKeys ?? new ApiKeyStore(resolveHome());
}

function freeKeyLabel(store: ApiKeyStore, client: ClientName): string {
  const taken = new Set(store.list().map((record) => record.label));
  let label: string = client;
  for (let n = 2; taken.has(label); n++) label = `${client}-${n}`;
  return label;
}

/** Refusals are errors the user reads; `unchanged` is news. Returns whether the plan can be written. */
function reportUnwritable(plan: ConfigPlan): boolean {
  if (plan.status === 'invalid' || plan.status === 'conflict') {
    void vscode.window.showErrorMessage(`Gatehouse: ${plan.message}`);
    return true;
  }
  if (plan.status === 'unchanged') {
    void vscode.window.showInformationMessage(plan.message);
    return true;
  }
  return false;
}

/** A `needs-force` plan: show what the user customised and replace it only if they say so. */
async function confirmReplacingCustomisations(plan: ConfigPlan, label: string, log: vscode.LogOutputChannel): Promise<boolean> {
  const detail = plan.customised.map((entry) => `${entry.key}: ${JSON.stringify(entry.current)} → ${JSON.stringify(entry.planned)}`).join('\n');
  const replace = 'Replace';
  const choice = await askModal(`You changed values in the gatehouse entry of ${label}. Replace them with Gatehouse's?`, `${plan.message}\n\n${detail}`, [replace], log);
  return choice === replace;
}

interface AuthChoice extends vscode.QuickPickItem {
  readonly mode: ClientAuthMode;
}

async function pickAuthMode(client: ConnectableClient, label: string): Promise<ClientAuthMode | undefined> {
  const items: AuthChoice[] = [
    {
      mode: 'oauth',
      label: 'OAuth sign-in',
      description: 'no secret in the file',
      // A quick pick shows one line of detail and cuts the rest: the step to take comes first and short.
      detail: OAUTH_NEXT_STEP[client],
    },
    {
      mode: 'env',
      label: 'Environment variable',
      description: GATEHOUSE_TOKEN_ENV,
      detail: `Creates a key; export it where ${CLIENT_NAMES[client]} starts`,
    },
    {
      mode: 'header',
      label: 'Header with an API key',
      description: '$(warning) puts a secret in the file',
      detail: `Creates a key, in plain text in ${label}`,
    },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Gatehouse: Connect ${CLIENT_NAMES[client]}`, placeHolder: `How should ${CLIENT_NAMES[client]} authenticate to Gatehouse?` });
  return picked?.mode;
}

/**
 * "Gatehouse: Connect <client>": pick the auth mode, preview the edit as a diff, write it with a
 * backup (the same planners and `applyPlan` as `gatehouse connect`), then say what is left to do.
 */
export async function connectClient(client: ConnectableClient, { gateway, log, preview }: ConnectServices): Promise<void> {
  const target = fileContext(client);
  const auth = await pickAuthMode(client, target.label);
  if (!auth) return;
  const store = apiKeys(gateway);
  // A header-mode diff must show the real key; env mode creates its key only once written.
  const keyLabel = freeKeyLabel(store, client);
  const headerKey = auth === 'header' ? store.create(keyLabel) : undefined;
  let written = false;
  try {
    const text = readTextIfExists(target.file);
    const options = { url: gatewayUrl(gateway), auth, apiKey: headerKey, label: target.label };
    let plan = target.connect(text, options);
    if (plan.status === 'needs-force') {
      if (!(await confirmReplacingCustomisations(plan, target.label, log))) return;
      plan = target.connect(text, { ...options, force: true });
    }
    if (plan.status === 'unchanged' && client === 'codex') setWalkthroughContext(WalkthroughContext.codexConnected, true);
    if (reportUnwritable(plan)) {
      if (plan.status === 'unchanged' && auth === 'env') log.info(`${target.label} already reads ${GATEHOUSE_TOKEN_ENV}; no key was created (Gatehouse: Create API Key makes one)`);
      return;
    }
    if (!(await preview.confirm(target.file, target.label, plan, `Connect ${CLIENT_NAMES[client]} to Gatehouse by writing ${target.label}?`))) return;
    const result = applyPlan(target.file, plan);
    written = true;
    if (client === 'codex') setWalkthroughContext(WalkthroughContext.codexConnected, true);
    log.info(`Connected ${client} (${auth}) in ${target.file}${result.backup ? `; backup ${result.backup}` : ''}`);
  } finally {
    if (headerKey && !written) store.revoke(keyLabel);
  }
  if (auth === 'env') {
    const key = store.create(keyLabel);
    log.info(`Created the API key "${keyLabel}" for ${client}`);
    await offerExportLine(client, keyLabel, `export ${GATEHOUSE_TOKEN_ENV}=${key}`);
  } else if (auth === 'oauth' && client === 'codex') {
    void offerCodexLogin();
  } else if (auth === 'oauth') {
    void vscode.window.showInformationMessage(`${CLIENT_NAMES[client]} now points at Gatehouse. ${OAUTH_NEXT_STEP[client]}`);
  } else {
    void vscode.window.showInformationMessage(`${CLIENT_NAMES[client]} now points at Gatehouse with the key "${keyLabel}", stored in ${target.label}. If that file leaks, revoke the key: gatehouse key revoke ${keyLabel}`);
  }
}

/** The one-time export line, with Copy; see showSecretOnce for why never in a toast. */
async function offerExportLine(client: ConnectableClient, keyLabel: string, exportLine: string): Promise<void> {
  await showSecretOnce({
    title: `${CLIENT_NAMES[client]} reads its key from ${GATEHOUSE_TOKEN_ENV}`,
    detail: `In the shell that starts ${CLIENT_NAMES[client]}, run the line below. Key "${keyLabel}" is shown only this once.`,
    secret: exportLine,
    copyLabel: 'Copy Export Line',
  });
}

async function offerCodexLogin(): Promise<void> {
  const run = 'Run in Terminal';
  const choice = await vscode.window.showInformationMessage('Codex now points at Gatehouse. Sign in once with: codex mcp login gatehouse', run);
  if (choice !== run) return;
  const terminal = vscode.window.createTerminal({ name: 'Codex sign-in' });
  terminal.show();
  terminal.sendText('codex mcp login gatehouse');
}

/** "Gatehouse: Disconnect…": remove only our entry from the chosen client's config. */
export async function disconnectClient({ preview, log }: ConnectServices): Promise<void> {
  const clients = (Object.keys(CLIENT_NAMES) as ClientName[]).map((client) => ({ client, label: CLIENT_NAMES[client], description: fileContext(client).label }));
  const picked = await vscode.window.showQuickPick(clients, { title: 'Gatehouse: Disconnect…', placeHolder: 'Remove the gatehouse entry from which client?' });
  if (!picked) return;
  const target = fileContext(picked.client);
  const text = readTextIfExists(target.file);
  let plan = target.disconnect(text, { label: target.label });
  if (plan.status === 'needs-force') {
    const remove = 'Remove Anyway';
    if ((await askModal(`Remove the gatehouse entry of ${target.label}?`, plan.message, [remove], log)) !== remove) return;
    plan = target.disconnect(text, { label: target.label, force: true });
  }
  if (reportUnwritable(plan)) return;
  if (!(await preview.confirm(target.file, target.label, plan, `Disconnect ${picked.label} from Gatehouse?`))) return;
  const result = applyPlan(target.file, plan);
  log.info(`Disconnected ${picked.client} in ${target.file}${result.backup ? `; backup ${result.backup}` : ''}`);
  void vscode.window.showInformationMessage(`${plan.message}${result.backup ? ` Backup: ${result.backup}` : ''}`);
}

/**
 * "Gatehouse: Move Codex Servers Behind Gatehouse": copy the chosen servers into servers.json
 * and disable them in config.toml, so Codex cannot reach them except through the gateway.
 */
export async function moveCodexServers({ gateway, preview, log }: ConnectServices): Promise<void> {
  const target = fileContext('codex');
  const text = readTextIfExists(target.file);
  const read = readCodexServers(text, target.label);
  const names = Object.keys(read.servers);
  if (!names.length) {
    const skipped = read.skipped.map((entry) => `${entry.name} (${entry.reason})`).join(', ');
    void vscode.window.showInformationMessage(`${target.label} has no server to move${skipped ? `; skipped: ${skipped}` : ''}.`);
    return;
  }
  const items = names.map((name) => {
    const server = read.servers[name]!;
    return { label: name, description: server.type === 'stdio' ? [server.command, ...(server.args ?? [])].join(' ') : server.url, picked: true };
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Gatehouse: Move Codex Servers Behind Gatehouse',
    placeHolder: 'These servers move into Gatehouse and are disabled in Codex',
    canPickMany: true,
  });
  if (!picked?.length) return;
  const wanted = picked.map((item) => item.label);
  const gatehouseHome = resolveHome();
  const taken = takenServerNames(gatehouseHome, wanted);
  if (taken.length) {
    void vscode.window.showErrorMessage(`Gatehouse: servers.json already has ${taken.map((name) => `"${name}"`).join(', ')}; nothing was moved. Rename or remove it there first, or pick other servers.`);
    return;
  }
  const plan = planCodexDisableServers(text, wanted, target.label);
  if (plan.status === 'invalid' || plan.status === 'conflict') {
    void vscode.window.showErrorMessage(`Gatehouse: ${plan.message}`);
    return;
  }
  if (plan.status !== 'unchanged' && !(await preview.confirm(target.file, target.label, plan, `Move ${wanted.join(', ')} into Gatehouse and disable ${wanted.length > 1 ? 'them' : 'it'} in Codex?`))) return;
  for (const name of wanted) saveServer(gatehouseHome, name, read.servers[name]);
  // The human picked these servers (command and arguments shown) in the editor: they run without a second confirmation.
  gateway.gatehouse?.servers.trust(wanted, loadServers(gatehouseHome));
  applyPlan(target.file, plan);
  recordImport(gatehouseHome, 'codex', wanted, wanted);
  log.info(`Moved ${wanted.join(', ')} from ${target.file} into servers.json`);
  void vscode.window.showInformationMessage(`Moved ${wanted.join(', ')} behind Gatehouse. "Gatehouse: Restore Codex Servers" undoes it.`);
}

/** "Gatehouse: Restore Codex Servers": the undo of the move (and of `gatehouse import codex --move`). */
export async function restoreCodexServers({ preview, log }: ConnectServices): Promise<void> {
  const gatehouseHome = resolveHome();
  const entry = readImportRecords(gatehouseHome).codex;
  if (!entry) {
    void vscode.window.showInformationMessage('Nothing was moved from Codex; nothing to restore.');
    return;
  }
  const target = fileContext('codex');
  const plan = planCodexRestore(readTextIfExists(target.file), entry.moved, target.label);
  if (plan.status === 'invalid' || plan.status === 'conflict') {
    void vscode.window.showErrorMessage(`Gatehouse: ${plan.message}`);
    return;
  }
  const removal = `remove ${entry.servers.join(', ')} from Gatehouse's servers.json`;
  const question = entry.moved.length ? `Re-enable ${entry.moved.join(', ')} in Codex and ${removal}?` : `${removal.charAt(0).toUpperCase()}${removal.slice(1)}?`;
  if (plan.status === 'unchanged') {
    const restore = 'Restore';
    if ((await vscode.window.showInformationMessage(question, restore, 'Cancel')) !== restore) return;
  } else if (!(await preview.confirm(target.file, target.label, plan, question))) return;
  applyPlan(target.file, plan);
  const removed = entry.servers.filter((name) => removeServer(gatehouseHome, name));
  forgetImport(gatehouseHome, 'codex');
  log.info(`Restored Codex servers; removed ${removed.join(', ') || 'nothing'} from servers.json`);
  void vscode.window.showInformationMessage(`Codex uses its own servers again${removed.length ? `; removed ${removed.join(', ')} from servers.json` : ''}.`);
}
