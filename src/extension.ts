import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { ApprovalNotifier } from './editor/approvalNotifications';
import { registerCommands } from './editor/commands';
import { DiffPreviewProvider } from './editor/diffPreview';
import { GatewayHost } from './editor/gatewayHost';
import type { GatewayState } from './editor/gatewayHost';
import { showGatewayFailure, showServersFileError } from './editor/gatewayNotices';
import { offerSkillUpdate } from './editor/installSkills';
import { GatehouseMcpProvider } from './editor/mcpProvider';
import { readSettings } from './editor/settings';
import { GatehouseStatusBar } from './editor/statusBar';
import { setWalkthroughContext, WalkthroughContext } from './editor/walkthroughContext';

/** What `activate` returns; tests read it through `extension.exports`. */
export interface GatehouseApi {
  /** Milliseconds `activate` took, measured inside the extension host. */
  readonly activationMs: number;
  /** Settles once the gateway runs or has failed to start; never rejects. */
  readonly gatewayReady: Promise<GatewayState & { readonly readyMs: number }>;
}

export function activate(context: vscode.ExtensionContext): GatehouseApi {
  const startedAt = performance.now();
  const log = vscode.window.createOutputChannel('Gatehouse', { log: true });
  const gateway = new GatewayHost(log, context.secrets);
  const preview = new DiffPreviewProvider();
  context.subscriptions.push(
    preview,
    log,
    gateway,
    new GatehouseStatusBar(gateway),
    new ApprovalNotifier(gateway, () => readSettings().notificationsMode, log),
    new GatehouseMcpProvider(gateway, context.secrets, log),
    ...registerCommands({ gateway, log, preview }),
    gateway.onDidFailToReloadServers((error) => void showServersFileError(error)),
    gateway.onDidChangeState((state) => setWalkthroughContext(WalkthroughContext.gatewayRunning, state.kind === 'running')),
  );

  // Not awaited: activation must not wait for sockets or upstream servers.
  const gatewayReady = gateway.start().then((state) => {
    const readyMs = performance.now() - startedAt;
    log.info(`Gateway ${state.kind} ${Math.round(readyMs)} ms after activation began`);
    if (state.kind === 'failed') void showGatewayFailure(state, log);
    // After the gateway, so reading the skill folders never competes with startup.
    void offerSkillUpdate(log).catch((error: unknown) => log.warn(`Could not check the installed skills: ${error instanceof Error ? error.message : String(error)}`));
    return { ...state, readyMs };
  });

  const activationMs = performance.now() - startedAt;
  log.info(`Activated in ${activationMs.toFixed(1)} ms`);
  return { activationMs, gatewayReady };
}

export function deactivate(): void {}
