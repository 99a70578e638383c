import * as vscode from 'vscode';

/** A notification that stays on screen until the extension closes it (or the person cancels it). */
export interface PersistentNotification {
  close(): void;
  update(message: string): void;
}

/**
 * VS Code hides a toast after a few seconds and cannot withdraw it; a progress notification stays
 * until its task ends, and the extension ends it. Its message renders `[label](command:…)` links,
 * which stand in for buttons. `onCancel` makes it cancellable (a Cancel button) and hears that.
 */
export function showPersistentNotification(message: string, onCancel?: () => void): PersistentNotification {
  let close: () => void = () => undefined;
  let report: (message: string) => void = () => undefined;
  const closed = new Promise<void>((resolve) => (close = resolve));
  void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Gatehouse', cancellable: onCancel !== undefined }, (progress, token) => {
    report = (next) => progress.report({ message: next });
    report(message);
    const cancelled = onCancel ? token.onCancellationRequested(() => onCancel()) : undefined;
    return closed.finally(() => cancelled?.dispose());
  });
  return { close: () => close(), update: (next) => report(next) };
}

/** A command link for a notification message; only ids, nonces and flags go into it, never agent text. */
export function commandLink(label: string, command: string, args: readonly unknown[]): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify(args))})`;
}
