import type * as vscode from 'vscode';

// The editor front end arrives with the extension issue; until then activation does nothing.
export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
