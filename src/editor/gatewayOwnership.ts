import { EventEmitter } from 'node:events';
import type { Gatehouse } from '../core/gatehouse';
import { PortInUseError } from '../core/gateway/gateway';
import { FollowerChannel, OwnerChannel } from './windowChannel';
import { FollowRefusedError, windowChannelPath } from './windowProtocol';

// Deliberately free of `vscode`: two instances of this class, in one test process, stand in for
// two editor windows, so the handover is tested without two extension hosts.

export type OwnershipRole =
  | { readonly kind: 'owner'; readonly gatehouse: Gatehouse }
  | { readonly kind: 'follower'; readonly channel: FollowerChannel }
  | { readonly kind: 'failed'; readonly error: unknown };

export interface GatewayOwnershipOptions {
  readonly home: string;
  readonly port: number;
  /** The window secret shared by this user's editor windows (the editor keeps it in SecretStorage). */
  readonly secret: () => Promise<string>;
  /** Starts a Gatehouse on `port`; rejects with PortInUseError when something else holds it. */
  readonly startGatehouse: () => Promise<Gatehouse>;
  /** How long to keep trying to reach an owner that holds the port before giving up. */
  readonly giveUpMs?: number;
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
}

interface OwnershipEvents {
  /** The role changed: this window took the gateway over, or started following another one. */
  role: [OwnershipRole];
}

/**
 * Exactly one gateway per port and Gatehouse home. The port is the lock: whoever
 * binds it owns the gateway and opens the window channel; everyone else follows through that
 * channel, and the moment it closes, tries to bind the port again. Requests live in
 * `<home>/pending.json`, so the new owner has them all.
 */
export class GatewayOwnership extends EventEmitter<OwnershipEvents> {
  private current: OwnershipRole | undefined;
  private ownerChannel: OwnerChannel | undefined;
  private disposed = false;
  private claiming: Promise<OwnershipRole> | undefined;

  constructor(private readonly options: GatewayOwnershipOptions) {
    super();
  }

  get role(): OwnershipRole | undefined {
    return this.current;
  }

  get socketPath(): string {
    return windowChannelPath(this.options.home, this.options.port);
  }

  /** Becomes the owner, or a follower of the window that owns the port. */
  claim(): Promise<OwnershipRole> {
    this.claiming ??= this.claimNow().finally(() => {
      this.claiming = undefined;
    });
    return this.claiming;
  }

  private async claimNow(): Promise<OwnershipRole> {
    const { giveUpMs = 3_000, retryMs = 150 } = this.options;
    const deadline = Date.now() + giveUpMs;
    let lastError: unknown;
    let refused = false;
    while (!this.disposed) {
      try {
        const gatehouse = await this.options.startGatehouse();
        if (this.disposed) {
          await gatehouse.stop();
          break;
        }
        try {
          this.ownerChannel = await OwnerChannel.listen(this.socketPath, this.options.secret, gatehouse);
        } catch (error) {
          // Followers cannot reach this window, but the gateway itself works.
          this.options.log?.(`The window channel could not open (${String(error)}); other windows cannot follow this one.`);
        }
        return this.become({ kind: 'owner', gatehouse });
      } catch (error) {
        lastError = error;
        if (!(error instanceof PortInUseError)) return this.become({ kind: 'failed', error });
      }
      // An owner that is shutting down may hold the port a moment longer than it answers on it.
      if (!(lastError as PortInUseError).otherGatehouse) {
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        continue;
      }
      try {
        const channel = await FollowerChannel.connect(this.socketPath, await this.options.secret());
        channel.once('closed', () => void this.ownerWentAway(channel));
        return this.become({ kind: 'follower', channel });
      } catch (error) {
        // The owner may be starting (its channel opens just after its port) or may be a Gatehouse
        // this window cannot follow (`gatehouse serve`, another home); give it a moment.
        refused = error instanceof FollowRefusedError;
        this.options.log?.(refused ? 'The owner window refused this window\'s secret' : `No owner window to follow yet: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
    return this.become({ kind: 'failed', error: refused ? new FollowRefusedError(this.options.port) : (lastError ?? new Error('stopped')) });
  }

  private async ownerWentAway(channel: FollowerChannel): Promise<void> {
    if (this.disposed || this.current?.kind !== 'follower' || this.current.channel !== channel) return;
    this.options.log?.(`The window that owned the gateway (pid ${channel.ownerPid ?? '?'}) went away; taking over`);
    // No role until the claim settles: the old channel must not be used for decisions meanwhile.
    this.current = undefined;
    await this.claim();
  }

  private become(role: OwnershipRole): OwnershipRole {
    this.current = role;
    if (!this.disposed) this.emit('role', role);
    return role;
  }

  /** Gives the gateway up (window closing): followers notice at once and one of them takes over. */
  async release(): Promise<void> {
    this.disposed = true;
    const role = this.current;
    this.current = undefined;
    await this.ownerChannel?.close();
    this.ownerChannel = undefined;
    if (role?.kind === 'owner') await role.gatehouse.stop();
    if (role?.kind === 'follower') role.channel.close();
  }
}
