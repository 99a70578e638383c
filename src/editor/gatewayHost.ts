import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { ApprovalRequest, DecideResult } from '../core/approvals/approvalQueue';
import type { HumanDecision } from '../core/approvals/humanDecision';
import { Gatehouse } from '../core/gatehouse';
import type { Gateway } from '../core/gateway/gateway';
import { PortInUseError } from '../core/gateway/gateway';
import { ConfigFileError } from '../core/store/files';
import { resolveHome } from '../core/store/home';
import type { ApprovalChannel } from './approvalNotifications';
import { CommandId } from './commandIds';
import { watchConsent } from './consentModal';
import { watchServersChanges } from './serversConfirmation';
import { Disposable } from './disposable';
import { watchExternalApprovalLinks } from './externalApprovalLinks';
import { GatewayOwnership } from './gatewayOwnership';
import type { OwnershipRole } from './gatewayOwnership';
import type { FollowerChannel } from './windowChannel';
import { decisionLogLine } from './promptText';
import { readSettings, Setting } from './settings';
import { announceSignInNeeded } from './upstreamSignIn';

/** What the editor knows about the gateway it hosts. */
export type GatewayState =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'starting'; readonly port: number }
  | {
      readonly kind: 'running';
      readonly url: string;
      readonly readyUpstreams: number;
      readonly totalUpstreams: number;
      /** Upstreams waiting for the human to sign in. */
      readonly needsSignIn?: readonly string[];
      /** Set when another editor window owns the gateway and this one follows it. */
      readonly ownerPid?: number;
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
function countUpstreams(gateway: Gateway): { readyUpstreams: number; totalUpstreams: number; needsSignIn: string[] } {
  const states = gateway.upstreams.states();
  return {
    readyUpstreams: states.filter((state) => state.status === 'ready').length,
    totalUpstreams: states.length,
    needsSignIn: states.filter((state) => state.status === 'needs-sign-in').map((state) => state.name),
  };
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
  private readonly restoreEmitter = this.register(new vscode.EventEmitter<number>());
  readonly onDidRestorePending: vscode.Event<number> = this.restoreEmitter.event;
  private ownership: GatewayOwnership | undefined;
  private following: FollowerChannel | undefined;
  /** Servers with a Sign In notification on screen. */
  private readonly signInNotices = new Set<string>();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Holds the window secret that lets follower windows decide through the owner. */
    private readonly secrets?: vscode.SecretStorage,
  ) {
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
    const ownership = new GatewayOwnership({
      home,
      port,
      secret: () => this.windowSecret(home),
      startGatehouse: async () => {
        const gatehouse = new Gatehouse({ home, port, expiryMs: settings.expiryMinutes * 60_000, awaitWindowMs: readSettings().awaitWindowSeconds * 1000 });
        await gatehouse.start();
        return gatehouse;
      },
      log: (line) => this.log.info(line),
    });
    this.ownership = ownership;
    // Every role change (the first claim, and later a takeover) goes through here.
    ownership.on('role', (role) => {
      if (this.ownership === ownership) this.adopt(role, port);
    });
    await ownership.claim();
    if (this.isDisposed) await ownership.release();
    return this.current;
  }

  private adopt(role: OwnershipRole, port: number): void {
    this.adoptRole(role, port);
    // After a reload or a handover, calls held earlier get one summary rather than silence.
    const restored = this.pendingRequests().length;
    if (restored > 0 && !this.isDisposed) this.restoreEmitter.fire(restored);
  }

  private adoptRole(role: OwnershipRole, port: number): void {
    this.unwatchHuman?.();
    this.unwatchHuman = undefined;
    this.following = undefined;
    this.running = undefined;
    if (role.kind === 'failed') {
      this.setState(failedState(port, role.error, this.log));
      return;
    }
    if (role.kind === 'follower') {
      const channel = role.channel;
      this.following = channel;
      const refresh = (): void => {
        if (this.following === channel && !this.isDisposed) this.pendingEmitter.fire(channel.pending().length);
      };
      const onRequested = (request: ApprovalRequest): void => {
        refresh();
        if (this.following === channel && !this.isDisposed) this.requestEmitter.fire(request);
      };
      channel.on('requested', onRequested);
      channel.on('settled', refresh);
      this.unwatchHuman = () => {
        channel.off('requested', onRequested);
        channel.off('settled', refresh);
      };
      this.log.info(`Another VS Code window (pid ${channel.ownerPid ?? '?'}) runs the gateway; this window follows it`);
      refresh();
      this.setState({ kind: 'running', url: `http://127.0.0.1:${port}/mcp`, readyUpstreams: 0, totalUpstreams: 0, ownerPid: channel.ownerPid ?? 0 });
      return;
    }
    const gatehouse = role.gatehouse;
    this.running = gatehouse;
    this.watchUpstreams(gatehouse.gateway);
    this.watchApprovals(gatehouse);
    const unwatchConsent = watchConsent(gatehouse.consent, this.log);
    const unwatchServers = watchServersChanges(gatehouse, this.log);
    const unwatchLinks = watchExternalApprovalLinks(gatehouse.gateway, this.log);
    this.unwatchHuman = () => {
      unwatchConsent();
      unwatchServers();
      unwatchLinks();
    };
    this.log.info(`Gateway ready at ${gatehouse.gateway.url}`);
    this.setState({ kind: 'running', url: gatehouse.gateway.url, ...countUpstreams(gatehouse.gateway) });
  }

  /**
   * The secret follower windows present to the owner window. It lives only in the editor's
   * SecretStorage (shared by this profile's windows), never in the Gatehouse home an agent can read.
   */
  private async windowSecret(home: string): Promise<string> {
    const name = `gatehouse.windowSecret:${home}`;
    const stored = await this.secrets?.get(name);
    if (stored) return stored;
    const created = crypto.randomBytes(32).toString('base64url');
    await this.secrets?.store(name, created);
    return created;
  }

  /** The running core, for the front ends that need its APIs (approvals, consent, keys). */
  get gatehouse(): Gatehouse | undefined {
    return this.running;
  }

  get pendingCount(): number {
    return this.pendingRequests().length;
  }

  pendingRequests(): ApprovalRequest[] {
    return this.following?.pending() ?? this.running?.approvals.pending() ?? [];
  }

  findRequest(id: string): ApprovalRequest | undefined {
    return this.following?.get(id) ?? this.running?.approvals.get(id);
  }

  async decideRequest(id: string, decision: HumanDecision): Promise<DecideResult> {
    if (this.following) return this.following.decide(id, decision);
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
    // Every decision reaches the Output log here, wherever it was made: a prompt, Details, the
    // panel (one by one or in a batch), a paired browser, the serve terminal, another window.
    gatehouse.approvals.on('decided', (request) => {
      refresh();
      this.log.info(decisionLogLine(request));
    });
    gatehouse.approvals.on('expired', (request) => {
      refresh();
      this.log.info(decisionLogLine(request));
    });
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
    gateway.upstreams.on('signInNeeded', (server, reason) => {
      this.log.info(`Upstream ${server}: needs sign-in (${reason})`);
      if (this.running?.gateway === gateway && !this.isDisposed) announceSignInNeeded(server, reason, this.signInNotices);
    });
    gateway.upstreams.on('configError', (error) => {
      this.log.error(error.message);
      this.configErrorEmitter.fire(error);
    });
  }

  private async stopNow(): Promise<void> {
    const ownership = this.ownership;
    this.ownership = undefined;
    this.unwatchHuman?.();
    this.unwatchHuman = undefined;
    const owned = this.running !== undefined;
    this.running = undefined;
    this.following = undefined;
    if (ownership) {
      if (owned) this.log.info('Stopping the gateway');
      if (!this.isDisposed) this.pendingEmitter.fire(0);
      try {
        // An owner stops its Gatehouse and closes the window channel; a follower window notices
        // at once and takes the gateway over.
        await ownership.release();
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
