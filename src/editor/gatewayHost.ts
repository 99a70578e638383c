import * as vscode from 'vscode';
import type { ApprovalRequest, HumanDecision } from '../core/approvals/approvalQueue';
import { Gatehouse } from '../core/gatehouse';
import type { Gateway } from '../core/gateway/gateway';
import { PortInUseError } from '../core/gateway/gateway';
import { ConfigFileError } from '../core/store/files';
import { resolveHome } from '../core/store/home';
import type { ApprovalChannel, DecideResult } from './approvalNotifications';
import { CommandId } from './commandIds';
import { watchConsent } from './consentModal';
import { Disposable } from './disposable';
import { watchExternalApprovalLinks } from './externalApprovalLinks';
import { readSettings, Setting } from './settings';

/** What the editor knows about the gateway it hosts. */
export type GatewayState =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'starting'; readonly port: number }
  | {
      readonly kind: 'running';
      readonly url: string;
      readonly readyUpstreams: number;
      readonly totalUpstreams: number;
    }
  | {
      readonly kind: 'failed';
      readonly port: number;
      readonly reason: GatewayFailureReason;
      readonly message: string;
      /** The file to fix, when `reason` is `badConfig`. */
      readonly file?: string;
    };

export type GatewayFailureReason = 'portInUse' | 'badConfig' | 'other';

/** The upstream counts the status bar shows. */
function countUpstreams(gateway: Gateway): { readyUpstreams: number; totalUpstreams: number } {
  const states = gateway.upstreams.states();
  return { readyUpstreams: states.filter((state) => state.status === 'ready').length, totalUpstreams: states.length };
}

/**
 * Runs the gateway inside the extension host. `start()` never rejects: a failure becomes a
 * `failed` state with a reason the UI turns into an action (change port, open file).
 */
export class GatewayHost extends Disposable implements ApprovalChannel {
  private readonly stateEmitter = this.register(new vscode.EventEmitter<GatewayState>());
  readonly onDidChangeState: vscode.Event<GatewayState> = this.stateEmitter.event;
  private readonly configErrorEmitter = this.register(new vscode.EventEmitter<ConfigFileError>());
  /** servers.json became invalid while the gateway runs; the previous servers keep running. */
  readonly onDidFailToReloadServers: vscode.Event<ConfigFileError> = this.configErrorEmitter.event;
  private current: GatewayState = { kind: 'stopped' };
  private running: Gatehouse | undefined;
  private readonly pendingEmitter = this.register(new vscode.EventEmitter<number>());
  /** The number of held calls changed (a request arrived, was decided or expired). */
  readonly onDidChangePendingCount: vscode.Event<number> = this.pendingEmitter.event;
  private transition: Promise<GatewayState> | undefined;
  private readonly requestEmitter = this.register(new vscode.EventEmitter<ApprovalRequest>());
  /** A call was held; the notifications announce it. */
  readonly onDidRequestApproval: vscode.Event<ApprovalRequest> = this.requestEmitter.event;
  private unwatchHuman: (() => void) | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    this.register(vscode.workspace.onDidChangeConfiguration((event) => this.applySettings(event)));
  }

  /** The await window applies live; the port and the expiry need a restart, which is offered. */
  private applySettings(event: vscode.ConfigurationChangeEvent): void {
    const settings = readSettings();
    if (this.running && event.affectsConfiguration(Setting.awaitWindowSeconds)) {
      this.running.awaitWindowMs = settings.awaitWindowSeconds * 1000;
    }
    const needsRestart = [Setting.port, Setting.expiryMinutes].some((key) => event.affectsConfiguration(key));
    if (this.running && needsRestart) {
      const restart = 'Restart Gateway';
      void vscode.window.showInformationMessage('Gatehouse uses the new setting after a restart of the gateway.', restart).then((choice) => {
        if (choice === restart) void vscode.commands.executeCommand(CommandId.restartGateway);
      });
    }
  }

  get state(): GatewayState {
    return this.current;
  }

  /** Starts the gateway unless it runs or is starting; resolves when it runs or has failed. */
  start(): Promise<GatewayState> {
    if (this.current.kind === 'running') return Promise.resolve(this.current);
    this.transition ??= this.startNow().finally(() => {
      this.transition = undefined;
    });
    return this.transition;
  }

  async restart(): Promise<GatewayState> {
    await this.transition;
    await this.stopNow();
    return this.start();
  }

  private async startNow(): Promise<GatewayState> {
    // Constructing the gateway reads servers.json and spawns upstreams synchronously; yield
    // first so that never runs inside activate().
    await new Promise((resolve) => setImmediate(resolve));
    const settings = readSettings();
    const { port } = settings;
    const home = resolveHome();
    this.setState({ kind: 'starting', port });
    this.log.info(`Starting the gateway on 127.0.0.1:${port} (home ${home})`);
    let gatehouse: Gatehouse;
    try {
      gatehouse = new Gatehouse({
        home,
        port,
        expiryMs: settings.expiryMinutes * 60_000,
        awaitWindowMs: settings.awaitWindowSeconds * 1000,
      });
      await gatehouse.start();
    } catch (error) {
      return this.setState(failedState(port, error, this.log));
    }
    if (this.isDisposed) {
      await gatehouse.stop();
      return this.current;
    }
    this.running = gatehouse;
    this.watchUpstreams(gatehouse.gateway);
    this.watchApprovals(gatehouse);
    const unwatchConsent = watchConsent(gatehouse.consent, this.log);
    const unwatchLinks = watchExternalApprovalLinks(gatehouse.gateway, this.log);
    this.unwatchHuman = () => {
      unwatchConsent();
      unwatchLinks();
    };
    this.log.info(`Gateway ready at ${gatehouse.gateway.url}`);
    return this.setState({ kind: 'running', url: gatehouse.gateway.url, ...countUpstreams(gatehouse.gateway) });
  }

  /** The running core, for the front ends that need its APIs (approvals, consent, keys). */
  get gatehouse(): Gatehouse | undefined {
    return this.running;
  }

  get pendingCount(): number {
    return this.pendingRequests().length;
  }

  pendingRequests(): ApprovalRequest[] {
    return this.running?.approvals.pending() ?? [];
  }

  findRequest(id: string): ApprovalRequest | undefined {
    return this.running?.approvals.get(id);
  }

  async decideRequest(id: string, decision: HumanDecision): Promise<DecideResult> {
    if (!this.running) return { ok: false, message: 'The gateway is not running, so nothing can be decided now.' };
    return this.running.decide(id, decision);
  }

  private watchApprovals(gatehouse: Gatehouse): void {
    const refresh = (): void => {
      if (this.running === gatehouse) this.pendingEmitter.fire(gatehouse.approvals.pending().length);
    };
    gatehouse.approvals.on('requested', (request) => {
      refresh();
      if (this.running === gatehouse && !this.isDisposed) this.requestEmitter.fire(request);
    });
    gatehouse.approvals.on('decided', refresh);
    gatehouse.approvals.on('expired', refresh);
    // Requests persisted in pending.json survive a restart; show them at once.
    refresh();
  }

  private watchUpstreams(gateway: Gateway): void {
    const refresh = (): void => {
      if (this.running?.gateway === gateway && this.current.kind === 'running') this.setState({ ...this.current, ...countUpstreams(gateway) });
    };
    gateway.upstreams.on('upstreamChanged', (state) => {
      if (state.status === 'ready') this.log.info(`Upstream ${state.name}: ready (${state.tools.length} tools)`);
      if (state.status === 'error') this.log.warn(`Upstream ${state.name}: ${state.error ?? 'error'}`);
      refresh();
    });
    gateway.upstreams.on('configLoaded', refresh);
    gateway.upstreams.on('configError', (error) => {
      this.log.error(error.message);
      this.configErrorEmitter.fire(error);
    });
  }

  private async stopNow(): Promise<void> {
    const gatehouse = this.running;
    this.running = undefined;
    this.unwatchHuman?.();
    this.unwatchHuman = undefined;
    if (gatehouse) {
      this.log.info('Stopping the gateway');
      if (!this.isDisposed) this.pendingEmitter.fire(0);
      try {
        await gatehouse.stop();
      } catch (error) {
        this.log.warn(`The gateway did not stop cleanly: ${String(error)}`);
      }
    }
    this.setState({ kind: 'stopped' });
  }

  private setState(state: GatewayState): GatewayState {
    this.current = state;
    if (!this.isDisposed) this.stateEmitter.fire(state);
    return state;
  }

  override dispose(): void {
    // Deactivation cannot await; the port is released as soon as the server closes.
    void this.stopNow();
    super.dispose();
  }
}

function failedState(port: number, error: unknown, log: vscode.LogOutputChannel): Extract<GatewayState, { kind: 'failed' }> {
  const message = error instanceof Error ? error.message : String(error);
  log.error(`The gateway did not start: ${message}`);
  if (error instanceof PortInUseError) {
    // The core's message names CLI flags; the editor offers its own actions instead.
    const owner = error.otherGatehouse ? `another Gatehouse (pid ${error.otherGatehouse.pid ?? '?'})` : 'another program';
    return { kind: 'failed', port, reason: 'portInUse', message: `port ${port} on 127.0.0.1 is in use by ${owner}` };
  }
  if (error instanceof ConfigFileError) return { kind: 'failed', port, reason: 'badConfig', message, file: error.file };
  const code = (error as { code?: unknown } | undefined)?.code;
  return { kind: 'failed', port, reason: code === 'EACCES' ? 'portInUse' : 'other', message };
}
