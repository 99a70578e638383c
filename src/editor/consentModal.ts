import * as vscode from 'vscode';
import type { ConsentBroker, ConsentRequest } from '../core/auth/consent';

/**
 * "Codex wants to connect to Gatehouse": a modal with the client's name, the host the
 * browser returns to and the scopes, wired to the OAuth core's consent broker. Closing the modal
 * without choosing denies, so a sign-in never hangs until the broker's timeout.
 * Returns the unsubscribe function.
 */
export function watchConsent(consent: ConsentBroker, log: vscode.LogOutputChannel): () => void {
  const onRequested = (request: ConsentRequest): void => void askConsent(consent, request, log);
  consent.on('consentRequested', onRequested);
  return () => consent.off('consentRequested', onRequested);
}

export function consentTitle(request: ConsentRequest): string {
  return `${request.clientName} wants to connect to Gatehouse`;
}

async function askConsent(consent: ConsentBroker, request: ConsentRequest, log: vscode.LogOutputChannel): Promise<void> {
  const [allow, deny] = ['Allow', 'Deny'];
  const where = [`After you decide, the browser returns to ${request.redirectHost}.`, `Scopes: ${request.scopes.length > 0 ? request.scopes.join(', ') : 'mcp'}.`];
  const detail = [...where, `Allowing lets ${request.clientName} call Gatehouse's tools; every call still passes your approval policy.`].join('\n');
  let choice: string | undefined;
  try {
    // Deny is the modal's close affordance (Escape, the close button), so VS Code adds no Cancel
    // beside it that would mean the same thing.
    const picked = await vscode.window.showWarningMessage<vscode.MessageItem>(consentTitle(request), { modal: true, detail }, { title: allow }, { title: deny, isCloseAffordance: true });
    choice = picked?.title;
  } catch (error) {
    // The workbench refuses modal dialogs in some hosts (extension tests, smoke-test mode); the
    // question still reaches the human as a notification with the same buttons.
    log.warn(`The consent modal could not be shown (${error instanceof Error ? error.message : String(error)}); asking in a notification`);
    choice = await vscode.window.showWarningMessage(`${consentTitle(request)}. ${where.join(' ')}`, allow, deny);
  }
  const decision = choice === allow ? 'allow' : 'deny';
  if (consent.decide(request.id, decision)) {
    log.info(`Consent for ${request.clientName} (${request.clientId}): ${decision}`);
  } else {
    // Decided on the consent page meanwhile, or it timed out; the modal could not be withdrawn.
    void vscode.window.showInformationMessage(`Gatehouse: the connection request from ${request.clientName} was already answered or has expired.`);
  }
}
