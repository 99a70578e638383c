import * as vscode from 'vscode';

/**
 * A secret shown once (an API key, an export line holding one): it exists nowhere else, so the
 * person must be able to copy it, and it must not stay anywhere afterwards. Never in a toast,
 * which would keep it in the notification centre: a modal, or, where the host refuses modals
 * (smoke-test mode), an input box holding it, both gone once closed. Enter or the button copies.
 */
export async function showSecretOnce(options: { readonly title: string; readonly detail: string; readonly secret: string; readonly copyLabel: string }): Promise<void> {
  let copy: boolean;
  try {
    copy = (await vscode.window.showInformationMessage(options.title, { modal: true, detail: `${options.detail}\n\n${options.secret}` }, options.copyLabel)) === options.copyLabel;
  } catch {
    const kept = await vscode.window.showInputBox({ title: `Gatehouse: ${options.title}`, prompt: `${options.detail} Enter copies it; Escape closes.`, value: options.secret, ignoreFocusOut: true });
    copy = kept !== undefined;
  }
  if (copy) await vscode.env.clipboard.writeText(options.secret);
}
