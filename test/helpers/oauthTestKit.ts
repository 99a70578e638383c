import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { ConsentBroker, ConsentDecision, ConsentRequest } from '../../src/core/auth/consent';

export function tempHome(prefix = 'gatehouse-oauth-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/**
 * The explicit test hook for consent: answers every `consentRequested` with `decision` and keeps
 * what was asked, standing in for the human at the editor modal.
 */
export function answerConsent(broker: ConsentBroker, decision: ConsentDecision): { requests: ConsentRequest[]; stop(): void } {
  const requests: ConsentRequest[] = [];
  const listener = (request: ConsentRequest): void => {
    requests.push(request);
    broker.decide(request.id, decision);
  };
  broker.on('consentRequested', listener);
  return { requests, stop: () => broker.off('consentRequested', listener) };
}

/**
 * Plays the browser: GETs the authorization URL, and while the page says "waiting", follows its
 * self-refresh until the gateway redirects to the client. Returns that final redirect.
 */
export async function browseAuthorization(authorizationUrl: string, maxPolls = 50): Promise<URL> {
  let response = await fetch(authorizationUrl, { redirect: 'manual' });
  for (let poll = 0; poll < maxPolls; poll++) {
    if (response.status === 302) return new URL(response.headers.get('location')!);
    const body = await response.text();
    const refresh = /http-equiv="refresh" content="\d+;url=([^"]+)"/.exec(body);
    if (response.status !== 200 || !refresh) throw new Error(`authorization page answered ${response.status}: ${body.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    response = await fetch(new URL(refresh[1]!.replace(/&amp;/g, '&'), authorizationUrl), { redirect: 'manual' });
  }
  throw new Error('the authorization page never continued');
}

/** An OAuthClientProvider that keeps everything in memory and records the authorization URL. */
export class MemoryOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  stored: OAuthTokens | undefined;
  verifier = '';
  lastAuthorizationUrl: URL | undefined;

  constructor(
    readonly redirectUrl: string,
    private readonly name = 'SDK test client',
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.name,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.client = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.stored;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.stored = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.lastAuthorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }
}
