import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigPlan } from '../core/clients/plan';
import { Disposable } from './disposable';
import { commandLink, showPersistentNotification } from './persistentNotification';
import { neutraliseLinks } from './promptText';

/** The command behind the Write and Cancel links; it needs the provider's nonce. */
const ANSWER_COMMAND = 'gatehouse.preview.answer';

export const PREVIEW_SCHEME = 'gatehouse-preview';

/**
 * Serves the before/after texts of a planned config edit as read-only virtual documents, so
 * `vscode.diff` shows exactly the bytes Gatehouse would write without touching the real file.
 */
export class DiffPreviewProvider extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changeEmitter = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange: vscode.Event<vscode.Uri> = this.changeEmitter.event;
  private sequence = 0;
  private readonly nonce = crypto.randomBytes(16).toString('hex');
  private readonly answers = new Map<number, (write: boolean) => void>();

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, this));
    this.register(vscode.commands.registerCommand(ANSWER_COMMAND, (id: unknown, nonce: unknown, write: unknown) => {
      if (nonce === this.nonce && typeof id === 'number') this.answers.get(id)?.(write === true);
    }));
    this.register({ dispose: () => [...this.answers.values()].forEach((answer) => answer(false)) });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /**
   * Opens the diff of `plan` for `file` and asks whether to write it. Resolves true only on
   * "Write"; the preview closes either way. The question is a notification, not a modal, so
   * the user can scroll the diff before answering, and a progress notification, which VS Code
   * keeps on screen until it is answered (a toast would hide after a few seconds).
   */
  async confirm(file: string, displayName: string, plan: ConfigPlan, question: string): Promise<boolean> {
    const id = ++this.sequence;
    // The file name stays last in the path, so the diff editor picks the right language (TOML, JSON).
    const before = this.put(vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${id}/before/${path.basename(file)}` }), plan.before ?? '');
    const after = this.put(vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${id}/after/${path.basename(file)}` }), plan.after ?? '');
    try {
      await vscode.commands.executeCommand('vscode.diff', before, after, `${displayName}: before ↔ after (Gatehouse)`, { preview: true });
      return await this.ask(id, `${question} ${neutraliseLinks(plan.message)}`);
    } finally {
      await closeDiff(after);
      this.contents.delete(before.toString());
      this.contents.delete(after.toString());
    }
  }

  private ask(id: number, message: string): Promise<boolean> {
    const link = (label: string, write: boolean): string => commandLink(label, ANSWER_COMMAND, [id, this.nonce, write]);
    return new Promise<boolean>((resolve) => {
      const answer = (write: boolean): void => {
        this.answers.delete(id);
        notification.close();
        resolve(write);
      };
      const notification = showPersistentNotification(`${message} ${link('Write', true)} · ${link('Cancel', false)}`, () => answer(false));
      this.answers.set(id, answer);
    });
  }

  private put(uri: vscode.Uri, text: string): vscode.Uri {
    this.contents.set(uri.toString(), text);
    this.changeEmitter.fire(uri);
    return uri;
  }
}

async function closeDiff(modified: vscode.Uri): Promise<void> {
  const tabs = vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === modified.toString());
  if (tabs.length) await vscode.window.tabGroups.close(tabs);
}

/**
 * A modal question that resolves to the chosen button, or undefined on Cancel. Some hosts refuse
 * modal dialogs (the workbench's smoke-test mode, which the VS Code suite runs in); there the
 * same question, detail and buttons arrive as a notification rather than failing the command.
 */
export async function askModal(message: string, detail: string, buttons: readonly string[], log: vscode.LogOutputChannel): Promise<string | undefined> {
  try {
    return await vscode.window.showWarningMessage(message, { modal: true, detail }, ...buttons);
  } catch (error) {
    log.warn(`The dialog could not be shown (${error instanceof Error ? error.message : String(error)}); asking in a notification`);
    return vscode.window.showWarningMessage(`${message} ${detail.replace(/\s*\n+\s*/g, ' ')}`, ...buttons, 'Cancel').then((choice) => (choice === 'Cancel' ? undefined : choice));
  }
}
