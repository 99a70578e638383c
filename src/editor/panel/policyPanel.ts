import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { CommandId } from '../commandIds';
import { writeFileAtomic } from '../../core/store/files';
import { resolveHome } from '../../core/store/home';
import type { Gatehouse } from '../../core/gatehouse';
import type { GatewayHost } from '../gatewayHost';
import { PanelBackend } from './panelBackend';
import { panelHtml } from './panelHtml';
import { FieldValidationError, parsePanelState, parseWebviewMessage } from './protocol';
import type { HostToWebview, PanelNotifications, PanelState, PanelTab, RequestMethod } from './protocol';

export const PANEL_VIEW_TYPE = 'gatehouse.policyPanel';

const READ_ONLY_METHODS: ReadonlySet<RequestMethod> = new Set<RequestMethod>(['tryCall', 'history', 'importPreview', 'exportHistory', 'copy']);

/**
 * The approval-policy panel: one webview, created or revealed by `createOrShow`, and
 * restored after a reload by the serializer. The webview renders agent-supplied text (arguments,
 * additional_info), so it runs under a strict CSP with a nonce and may load only `dist/` and `media/`.
 */
export class PolicyPanel {
  private static current: PolicyPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly backend: PanelBackend;
  private unwatchCore: (() => void) | undefined;
  private watchedCore: Gatehouse | undefined;
  private ready = false;
  private refreshScheduled = false;
  private pendingTab: PanelNotifications['showTab'] | undefined;

  /** `edit`: a held call whose arguments editor opens on the Pending tab (Details → "Approve with changes…"). */
  static createOrShow(extensionUri: vscode.Uri, gateway: GatewayHost, tab?: PanelTab, edit?: string): PolicyPanel {
    const existing = PolicyPanel.current;
    if (existing) {
      existing.panel.reveal(existing.panel.viewColumn);
      if (tab) existing.showTab(tab, edit);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Gatehouse', vscode.ViewColumn.Active, PolicyPanel.webviewOptions(extensionUri));
    PolicyPanel.current = new PolicyPanel(panel, extensionUri, gateway, tab ? { tab } : undefined);
    if (tab && edit) PolicyPanel.current.showTab(tab, edit);
    return PolicyPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, gateway: GatewayHost, state: unknown): PolicyPanel {
    PolicyPanel.current?.panel.dispose();
    PolicyPanel.current = new PolicyPanel(panel, extensionUri, gateway, parsePanelState(state));
    return PolicyPanel.current;
  }

  static get instance(): PolicyPanel | undefined {
    return PolicyPanel.current;
  }

  private static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly gateway: GatewayHost,
    initialState: PanelState | undefined,
  ) {
    this.backend = new PanelBackend({
      home: resolveHome(),
      gatehouse: () => gateway.gatehouse,
      gatewayMessage: () => describeGateway(gateway),
      workspaceFolder: () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      editor: {
        copy: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)),
        signIn: async (server) => void (await vscode.commands.executeCommand(CommandId.signInServer, server)),
        saveFile: async (defaultName, content) => {
          const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
          const target = await vscode.window.showSaveDialog({
            title: 'Export the Gatehouse audit log',
            defaultUri: folder ? vscode.Uri.joinPath(folder, defaultName) : undefined,
            filters: defaultName.endsWith('.csv') ? { CSV: ['csv'] } : { 'JSON Lines': ['jsonl'] },
          });
          if (!target) return undefined;
          if (target.scheme === 'file') writeFileAtomic(target.fsPath, content);
          else await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
          return target.fsPath;
        },
      },
    });
    this.panel.webview.options = PolicyPanel.webviewOptions(extensionUri);
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    this.panel.webview.html = this.html(initialState);
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      // The webview keeps its context when hidden; a key shown once must not be there on return.
      this.panel.onDidChangeViewState(() => {
        if (!this.panel.visible && this.ready) this.notify('hidden', {});
      }),
      this.panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw)),
      gateway.onDidChangeState(() => this.scheduleRefresh()),
      gateway.onDidChangePendingCount(() => this.scheduleRefresh()),
    );
    // Countdowns tick in the webview; this catches what no event reports (API key last use).
    const timer = setInterval(() => this.scheduleRefresh(), 15_000);
    this.disposables.push({ dispose: () => clearInterval(timer) });
  }

  showTab(tab: PanelTab, edit?: string): void {
    const params = { tab, ...(edit ? { edit } : {}) };
    if (this.ready) this.notify('showTab', params);
    else this.pendingTab = params;
  }

  dispose(): void {
    if (PolicyPanel.current === this) PolicyPanel.current = undefined;
    this.unwatchCore?.();
    this.unwatchCore = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = parseWebviewMessage(raw);
    if (!message) return;
    if (message.type === 'ready') {
      this.ready = true;
      this.refreshNow();
      if (this.pendingTab) this.notify('showTab', this.pendingTab);
      this.pendingTab = undefined;
      return;
    }
    let reply: HostToWebview;
    try {
      const result = await this.backend.handle(message.method, message.params as never);
      reply = { type: 'reply', id: message.id, ok: true, result };
    } catch (error) {
      reply =
        error instanceof FieldValidationError
          ? { type: 'reply', id: message.id, ok: false, error: error.message, fieldErrors: error.fieldErrors }
          : { type: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    void this.panel.webview.postMessage(reply);
    // Only changes need a new snapshot; answering reads with one would loop (a snapshot re-runs "try a call").
    if (!READ_ONLY_METHODS.has(message.method)) this.refreshNow();
  }

  private notify<N extends keyof PanelNotifications>(method: N, params: PanelNotifications[N]): void {
    void this.panel.webview.postMessage({ type: 'notification', method, params } as HostToWebview);
  }

  /** Bursts of core events (a batch approval) become one snapshot. */
  private scheduleRefresh(): void {
    if (this.refreshScheduled) return;
    this.refreshScheduled = true;
    setTimeout(() => {
      this.refreshScheduled = false;
      this.refreshNow();
    }, 50);
  }

  private refreshNow(): void {
    const gatehouse = this.gateway.gatehouse;
    if (gatehouse !== this.watchedCore) {
      this.unwatchCore?.();
      this.unwatchCore = gatehouse ? this.backend.watch(gatehouse, () => this.scheduleRefresh()) : undefined;
      this.watchedCore = gatehouse;
    }
    if (!this.ready) return;
    this.notify('snapshot', this.backend.snapshot());
  }

  private html(state: PanelState | undefined): string {
    const webview = this.panel.webview;
    return panelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js')).toString(),
      // dist/panel.css carries the codicon font (dist/codicon.ttf) bundled by esbuild.
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'panel.css')).toString(),
      nonce: crypto.randomBytes(18).toString('base64'),
      state: state ?? { tab: 'pending' },
    });
  }
}

function describeGateway(gateway: GatewayHost): string {
  const state = gateway.state;
  switch (state.kind) {
    case 'running':
      return `running at ${state.url}`;
    case 'starting':
      return `starting on port ${state.port}`;
    case 'failed':
      return `failed: ${state.message}`;
    case 'stopped':
      return 'stopped';
  }
}

/** Restores the panel after a window reload with the tab and filter it showed. */
export function registerPolicyPanelSerializer(extensionUri: vscode.Uri, gateway: GatewayHost): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
    deserializeWebviewPanel: async (panel, state) => {
      PolicyPanel.revive(panel, extensionUri, gateway, state);
    },
  });
}
