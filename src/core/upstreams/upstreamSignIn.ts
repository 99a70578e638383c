import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPError, type StreamableHTTPClientTransportOptions } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { watchFile } from '../store/watch';
import { isMachineGrant } from './machineGrants';
import type { HttpServerConfig, ServerConfig } from './serversConfig';
import { refreshDueAt, refreshNow, SignInRequiredError, challengeRecordingFetch, UpstreamOAuthProvider, UpstreamOAuthStore, usesOAuth } from './upstreamAuth';

const REFRESH_RETRY_MS = 30_000;

export interface CallRefusal {
  readonly result: CallToolResult;
  /** The connection's sign-in is gone (not just short of a scope): the upstream needs sign-in. */
  readonly signedOut: boolean;
  readonly reason: string;
}

/** What an agent reads when a call cannot run until the human signs in. Everything is in structuredContent. */
export function signInRefusal(server: string, reason: string | undefined, kind: 'needs_sign_in' | 'needs_more_permission' = 'needs_sign_in'): CallToolResult {
  const what = kind === 'needs_more_permission' ? `This tool of ${server} needs more permission than the human granted` : `${server} needs sign-in`;
  const message =
    `${what}${reason ? ` (${reason})` : ''}. The human must sign in to ${server} in the editor (Gatehouse: Sign In to Server…) or with \`gatehouse login ${server}\`; this call was not run. ` +
    'Tell the human, and call the tool again once they have signed in. Do not try to sign in yourself.';
  return {
    content: [{ type: 'text', text: message }],
    isError: true,
    structuredContent: { status: kind, server, ...(reason ? { reason } : {}), message },
  };
}

/**
 * The OAuth side of one HTTP upstream connection, as the gateway runs it: the transport's
 * provider (refresh only, never a sign-in), refreshing before expiry, telling apart the
 * failures that mean "the human must sign in", and noticing when they have.
 */
export class UpstreamSignIn {
  readonly store: UpstreamOAuthStore;
  private refreshTimer: NodeJS.Timeout | undefined;
  private watcher: { close(): void } | undefined;

  static for(name: string, config: ServerConfig, home: string, redirect: () => string): UpstreamSignIn | undefined {
    return config.type === 'http' && usesOAuth(config) ? new UpstreamSignIn(name, config, home, redirect) : undefined;
  }

  private constructor(
    readonly server: string,
    readonly config: HttpServerConfig,
    home: string,
    private readonly redirect: () => string,
  ) {
    this.store = new UpstreamOAuthStore(home, server, config.url);
  }

  transportOptions(): Pick<StreamableHTTPClientTransportOptions, 'authProvider' | 'fetch'> {
    return { authProvider: new UpstreamOAuthProvider(this.store, this.config, this.redirect, 'background'), fetch: challengeRecordingFetch(this.store) };
  }

  /** Why a failure means the human must sign in, or undefined when it is some other failure. */
  signInReason(error: unknown): string | undefined {
    // Configured credentials that are refused are a configuration error, not something a sign-in fixes.
    if (isMachineGrant(this.config.oauth)) return undefined;
    if (error instanceof SignInRequiredError) return error.reason;
    // The SDK's own errors do not say why; a refresh the provider refused has left its reason in the file.
    const recorded = this.store.read().signInReason;
    if (error instanceof UnauthorizedError) return recorded ?? 'it asks for a sign-in';
    if (error instanceof StreamableHTTPError && error.code === 401) return recorded ?? 'it refused the stored sign-in';
    return undefined;
  }

  /** Why a failed connection waits for the human: no sign-in, or a sign-in short of a scope the server demands. */
  connectFailureReason(error: unknown): string | undefined {
    const reason = this.signInReason(error);
    if (reason !== undefined) return reason;
    const stepUp = this.store.read().stepUpScope;
    return error instanceof StreamableHTTPError && error.code === 403 && stepUp ? `it asks for the scope "${stepUp}"` : undefined;
  }

  refusal(reason: string | undefined): CallToolResult {
    return signInRefusal(this.server, reason);
  }

  /** A tool call that failed for want of a sign-in or of a scope, as the agent should see it. */
  explainCallFailure(error: unknown): CallRefusal | undefined {
    const reason = this.signInReason(error);
    if (reason !== undefined) return { result: signInRefusal(this.server, reason), signedOut: true, reason };
    const stepUp = this.store.read().stepUpScope;
    if (error instanceof StreamableHTTPError && error.code === 403 && stepUp) {
      const why = `it asks for the scope "${stepUp}"`;
      return { result: signInRefusal(this.server, why, 'needs_more_permission'), signedOut: false, reason: why };
    }
    return undefined;
  }

  /** Refreshes the access token shortly before it expires, for as long as the connection is used. */
  keepFresh(onSignedOut: (reason: string) => void): void {
    clearTimeout(this.refreshTimer);
    const due = refreshDueAt(this.store);
    if (due === undefined) return;
    this.refreshTimer = setTimeout(() => {
      refreshNow(this.store, this.config, this.redirect).then(
        () => this.keepFresh(onSignedOut),
        (error: unknown) => {
          const reason = this.signInReason(error);
          if (reason !== undefined) {
            onSignedOut(reason);
            return;
          }
          // The authorization server is unreachable: try again; the access token may still work.
          this.refreshTimer = setTimeout(() => this.keepFresh(onSignedOut), REFRESH_RETRY_MS);
          this.refreshTimer.unref();
        },
      );
    }, Math.max(0, due - Date.now()));
    this.refreshTimer.unref();
  }

  /** Calls `onSignedIn` once new tokens appear in the file (from this gateway's callback or `gatehouse login`). */
  waitForSignIn(onSignedIn: () => void): void {
    clearTimeout(this.refreshTimer);
    this.watcher?.close();
    const before = this.accessToken();
    this.watcher = watchFile(this.store.path, () => {
      const now = this.accessToken();
      if (!now || now === before) return;
      this.watcher?.close();
      this.watcher = undefined;
      onSignedIn();
    });
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private accessToken(): string | undefined {
    return (this.store.read().tokens as OAuthTokens | undefined)?.access_token;
  }
}
