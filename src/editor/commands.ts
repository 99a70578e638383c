import * as vscode from 'vscode';
import { CommandId } from './commandIds';
import type { CommandIdValue } from './commandIds';
import { ApiKeyStore } from '../core/auth/apiKeys';
import { resolveHome } from '../core/store/home';
import type { GatewayHost } from './gatewayHost';
import { showGatewayFailure } from './gatewayNotices';
import { showPendingApprovals } from './pendingApprovals';
import { showSecretOnce } from './secretOnce';
import { PolicyPanel, registerPolicyPanelSerializer } from './panel/policyPanel';
import { isPanelTab } from './panel/protocol';
import { connectClient, disconnectClient, moveCodexServers, restoreCodexServers } from './connectClients';
import type { DiffPreviewProvider } from './diffPreview';
import { installAgentSkills, uninstallAgentSkills } from './installSkills';
import { signInServer } from './upstreamSignIn';

/** What the commands act on; `extension.ts` builds it once. */
export interface CommandServices {
  readonly gateway: GatewayHost;
  readonly log: vscode.LogOutputChannel;
  /** Shows client-config edits as a diff before they are written. */
  readonly preview: DiffPreviewProvider;
}

/** `args` are what `executeCommand(id, ...args)` passed; commands from the palette get none. */
type CommandHandler = (services: CommandServices, ...args: unknown[]) => Promise<void>;

const handlers: Record<CommandIdValue, CommandHandler> = {
  [CommandId.connectCodex]: (services) => connectClient('codex', services),
  [CommandId.connectClaude]: (services) => connectClient('claude', services),
  [CommandId.connectCursor]: (services) => connectClient('cursor', services),
  [CommandId.connectGemini]: (services) => connectClient('gemini', services),
  [CommandId.disconnectClient]: disconnectClient,
  [CommandId.moveCodexServers]: moveCodexServers,
  [CommandId.restoreCodexServers]: restoreCodexServers,
  [CommandId.installSkills]: async ({ log }) => installAgentSkills(log),
  [CommandId.uninstallSkills]: async ({ log }) => uninstallAgentSkills(log),
  [CommandId.copyMcpUrl]: copyMcpUrl,
  [CommandId.restartGateway]: restartGateway,
  [CommandId.createApiKey]: createApiKey,
  [CommandId.showPending]: showPending,
  [CommandId.pairBrowser]: pairBrowser,
  [CommandId.showLogs]: async ({ log }) => log.show(),
  [CommandId.signInServer]: async ({ gateway, log }, server) => signInServer(gateway, log, typeof server === 'string' ? server : undefined),
  [CommandId.openPanel]: async ({ gateway }, tab, edit) => void PolicyPanel.createOrShow(extensionUri(), gateway, isPanelTab(tab) ? tab : undefined, typeof edit === 'string' ? edit : undefined),
};

function extensionUri(): vscode.Uri {
  return vscode.extensions.getExtension('gatehouse.gatehouse')!.extensionUri;
}

/** Registers every contributed command. The returned disposables unregister them. */
export function registerCommands(services: CommandServices): vscode.Disposable[] {
  const commands = Object.entries(handlers).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handler(services, ...args);
      } catch (error) {
        services.log.error(`${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        void vscode.window.showErrorMessage(`Gatehouse: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
  // The panel restores itself after a reload; its serializer lives with the command that opens it.
  return [...commands, registerPolicyPanelSerializer(extensionUri(), services.gateway)];
}

async function copyMcpUrl({ gateway, log }: CommandServices): Promise<void> {
  const state = gateway.state;
  if (state.kind === 'running') {
    await vscode.env.clipboard.writeText(state.url);
    void vscode.window.showInformationMessage(`Copied ${state.url}`);
    return;
  }
  if (state.kind === 'failed') {
    await showGatewayFailure(state, log);
    return;
  }
  void vscode.window.showInformationMessage(
    state.kind === 'starting' ? 'The Gatehouse gateway is still starting; try again in a moment.' : 'The Gatehouse gateway is stopped. Run "Gatehouse: Restart Gateway".',
  );
}

async function showPending({ gateway, log }: CommandServices): Promise<void> {
  if (gateway.state.kind === 'running') {
    await showPendingApprovals(gateway);
  } else if (gateway.state.kind === 'failed') {
    await showGatewayFailure(gateway.state, log);
  } else {
    void vscode.window.showInformationMessage('The Gatehouse gateway is not running, so no call is waiting.');
  }
}

/**
 * Opens a one-time pairing link so the approval pages in the user's browser can decide. The link
 * is a secret of the human channel: it is never logged, and it is opened, not shown to agents.
 */
async function pairBrowser({ gateway, log }: CommandServices): Promise<void> {
  const gatehouse = gateway.gatehouse;
  if (!gatehouse) {
    if (gateway.state.kind === 'failed') await showGatewayFailure(gateway.state, log);
    else void vscode.window.showInformationMessage('The Gatehouse gateway is not running yet; try again in a moment.');
    return;
  }
  const opened = await vscode.env.openExternal(vscode.Uri.parse(gatehouse.createPairingLink()));
  if (opened) {
    log.info('Opened a browser pairing link');
    void vscode.window.showInformationMessage('Gatehouse opened a pairing link in your browser. It works once, within 2 minutes; that browser can then approve and deny calls.');
  } else {
    void vscode.window.showWarningMessage('Gatehouse could not open your browser. Run "Gatehouse: Pair Browser" again once a browser is available.');
  }
}

async function restartGateway({ gateway, log }: CommandServices): Promise<void> {
  const state = await gateway.restart();
  if (state.kind === 'running') {
    void vscode.window.showInformationMessage(`Gatehouse gateway running at ${state.url}`);
  } else if (state.kind === 'failed') {
    await showGatewayFailure(state, log);
  }
}

/** Keys live in the Gatehouse home, which a running gateway re-reads, so this works either way. */
async function createApiKey({ gateway, log }: CommandServices): Promise<void> {
  const store = gateway.gatehouse?.gateway.apiKeys ?? new ApiKeyStore(resolveHome());
  const taken = new Set(store.list().map((record) => record.label));
  // An empty answer takes the suggestion shown, made unique, rather than doing nothing.
  let suggestion = 'codex';
  for (let n = 2; taken.has(suggestion); n++) suggestion = `codex-${n}`;
  const typed = await vscode.window.showInputBox({
    title: 'Gatehouse: Create API Key',
    prompt: `Who will use this key? Approvals show this name. Leave it empty for "${suggestion}".`,
    placeHolder: suggestion,
    validateInput: (value) => (taken.has(value.trim()) ? `A key labelled "${value.trim()}" already exists.` : undefined),
  });
  if (typed === undefined) return;
  const label = typed.trim() || suggestion;
  const key = store.create(label);
  log.info(`Created the API key "${label}"`);
  await showSecretOnce({
    title: `API key for "${label}" (shown only this once)`,
    detail: 'Send it as "Authorization: Bearer <key>". Codex: export it and set bearer_token_env_var.',
    secret: key,
    copyLabel: 'Copy Key',
  });
}
