import * as vscode from 'vscode';
import { resolveHome } from '../core/store/home';
import { Disposable } from './disposable';
import { readSettings } from './settings';

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

/** `unavailable`: this build has no gateway core yet, so there is nothing to start. */
export type GatewayFailureReason = 'portInUse' | 'badConfig' | 'unavailable' | 'other';

/** A started gateway, as far as the editor needs to see it. */
interface RunningGateway {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * SEAM: the gateway core (`src/core/gateway/gateway.ts`, class `Gateway`) is being written in
 * parallel. Until it lands this reports `unavailable` instead of pretending a gateway runs;
 * replace the body with `new Gateway({ home, port })`, `await gateway.start()`, and forward its
 * upstream status events to `onUpstreams`.
 */
async function startGatewayCore(
  _options: { readonly home: string; readonly port: number },
  _log: vscode.LogOutputChannel,
  _onUpstreams: (ready: number, total: number) => void,
): Promise<RunningGateway> {
  throw new GatewayStartError('unavailable', 'This build of Gatehouse does not include the gateway core yet.');
}

class GatewayStartError extends Error {
  constructor(
    readonly reason: GatewayFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayStartError';
  }
}

/**
 * Runs the gateway inside the extension host. `start()` never rejects: a failure becomes a
 * `failed` state with a reason the UI turns into an action (change port, open file).
 */
export class GatewayHost extends Disposable {
  private readonly stateEmitter = this.register(new vscode.EventEmitter<GatewayState>());
  readonly onDidChangeState: vscode.Event<GatewayState> = this.stateEmitter.event;
  private current: GatewayState = { kind: 'stopped' };
  private running: RunningGateway | undefined;
  private transition: Promise<GatewayState> | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
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
    const { port } = readSettings();
    const home = resolveHome();
    this.setState({ kind: 'starting', port });
    this.log.info(`Starting the gateway on 127.0.0.1:${port} (home ${home})`);
    try {
      const gateway = await startGatewayCore({ home, port }, this.log, (readyUpstreams, totalUpstreams) => {
        if (this.current.kind === 'running') this.setState({ ...this.current, readyUpstreams, totalUpstreams });
      });
      if (this.isDisposed) {
        await gateway.stop();
        return this.current;
      }
      this.running = gateway;
      this.log.info(`Gateway ready at ${gateway.url}`);
      return this.setState({ kind: 'running', url: gateway.url, readyUpstreams: 0, totalUpstreams: 0 });
    } catch (error) {
      const reason = error instanceof GatewayStartError ? error.reason : classifyStartError(error);
      const message = error instanceof Error ? error.message : String(error);
      const file = (error as { file?: unknown } | undefined)?.file;
      this.log.error(`The gateway did not start: ${message}`);
      return this.setState({ kind: 'failed', port, reason, message, file: typeof file === 'string' ? file : undefined });
    }
  }

  private async stopNow(): Promise<void> {
    const gateway = this.running;
    this.running = undefined;
    if (gateway) {
      this.log.info('Stopping the gateway');
      try {
        await gateway.stop();
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

function classifyStartError(error: unknown): GatewayFailureReason {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') return 'portInUse';
  if (error instanceof Error && error.name === 'ConfigFileError') return 'badConfig';
  return 'other';
}
