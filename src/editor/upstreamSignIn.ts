import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { resolveHome } from '../core/store/home';
import { SIGN_IN_TTL_MS, startSignIn, upstreamCallbackUrl, UpstreamOAuthStore, usesOAuth } from '../core/upstreams/upstreamAuth';
import { httpServers } from '../core/upstreams/upstreamCallback';
import { CommandId } from './commandIds';
import type { GatewayHost } from './gatewayHost';
import { readSettings } from './settings';

const POLL_MS = 300;

/**
 * The one seam of the real-VS-Code tests: there is no system browser there, so when this names a
 * file, the sign-in URL that would go to `vscode.env.openExternal` is appended to it instead,
 * and the test opens it as a browser would. Read at the moment of the sign-in, from the
 * extension host's own environment, which nothing outside the editor can change once it runs.
 */
export const CAPTURE_BROWSER_ENV = 'GATEHOUSE_TEST_BROWSER_CAPTURE';

async function openInBrowser(url: string): Promise<boolean> {
  const target = vscode.Uri.parse(url);
  const capture = process.env[CAPTURE_BROWSER_ENV];
  if (capture) {
    // What the workbench's opener hands the browser for a Uri (encodeURI of its unencoded form).
    fs.appendFileSync(capture, `${encodeURI(target.toString(true))}\n`, { mode: 0o600 });
    return true;
  }
  return vscode.env.openExternal(target);
}

/** The gateway's port: the running one's, or the configured one (another window may own it). */
function gatewayPort(gateway: GatewayHost): number {
  const state = gateway.state;
  return state.kind === 'running' ? Number(new URL(state.url).port) : readSettings().port;
}

/**
 * Gatehouse: Sign In to Server…: the human's sign-in to an OAuth upstream. Opens the provider's
 * page in the system browser; the provider sends the browser back to the gateway's own port.
 * The URL is opened, never logged or shown to an agent.
 */
export async function signInServer(gateway: GatewayHost, log: vscode.LogOutputChannel, preselected?: string): Promise<void> {
  const home = resolveHome();
  const servers = [...httpServers(home)].filter(([, config]) => usesOAuth(config));
  if (servers.length === 0) {
    void vscode.window.showInformationMessage('Gatehouse: no HTTP server in servers.json signs in with OAuth (servers with their own Authorization header use that instead).');
    return;
  }
  const statusOf = (name: string): string | undefined => gateway.gatehouse?.gateway.upstreams.get(name)?.state.status;
  let name = preselected && servers.some(([candidate]) => candidate === preselected) ? preselected : undefined;
  if (!name) {
    const items = servers
      .map(([server, config]) => ({ label: server, description: statusOf(server) === 'needs-sign-in' ? 'needs sign-in' : statusOf(server), detail: config.url }))
      .sort((a, b) => Number(b.description === 'needs sign-in') - Number(a.description === 'needs sign-in'));
    const picked = await vscode.window.showQuickPick(items, { title: 'Gatehouse: Sign In to Server…', placeHolder: 'Which server should Gatehouse sign in to, for every agent?' });
    if (!picked) return;
    name = picked.label;
  }
  const config = servers.find(([candidate]) => candidate === name)![1];
  let authorizationUrl: string;
  try {
    ({ authorizationUrl } = await startSignIn({ home, server: name, config, redirectUrl: upstreamCallbackUrl(gatewayPort(gateway)) }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.warn(`Sign-in to ${name} could not start: ${message}`);
    void vscode.window.showErrorMessage(`Gatehouse: ${message}`);
    return;
  }
  if (!(await openInBrowser(authorizationUrl))) {
    void vscode.window.showWarningMessage(`Gatehouse could not open your browser. Run \`gatehouse login ${name}\` in a terminal instead.`);
    return;
  }
  log.info(`Opened the sign-in page for ${name} in the browser`);
  const store = new UpstreamOAuthStore(home, name, config.url);
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Gatehouse: sign in to ${name} in your browser…`, cancellable: true },
    async (_progress, token) => {
      const deadline = Date.now() + SIGN_IN_TTL_MS;
      while (!token.isCancellationRequested && Date.now() < deadline) {
        const result = store.read().outcome;
        if (result) return result;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      return undefined;
    },
  );
  if (!outcome) return;
  if (outcome.ok) {
    log.info(`Signed in to ${name}`);
    void vscode.window.showInformationMessage(`Gatehouse: signed in to ${name}. Every agent that uses Gatehouse can use its tools now.`);
  } else {
    log.warn(`Sign-in to ${name} failed: ${outcome.message ?? ''}`);
    void vscode.window.showErrorMessage(`Gatehouse: ${outcome.message ?? `the sign-in to ${name} did not complete.`}`);
  }
}

/**
 * Tells the human that a server needs them to sign in, with a Sign In button. One notification
 * per server at a time, so an agent retrying a refused call does not stack them up.
 */
export function announceSignInNeeded(server: string, reason: string, open: Set<string>): void {
  if (open.has(server)) return;
  open.add(server);
  const signIn = 'Sign In';
  void vscode.window.showWarningMessage(`Gatehouse: ${server} needs you to sign in (${reason}). Agents cannot use its tools until you do.`, signIn).then((choice) => {
    open.delete(server);
    if (choice === signIn) void vscode.commands.executeCommand(CommandId.signInServer, server);
  });
}
