import * as vscode from 'vscode';
import { Disposable } from './disposable';
import type { GatewayHost } from './gatewayHost';

export const MCP_PROVIDER_ID = 'gatehouse';

/**
 * Offers the gateway to VS Code's own MCP client (Copilot chat). The API arrived in VS Code 1.101
 * and some hosts (older code-server, forks) lack it, so it is feature-detected.
 */
export class GatehouseMcpProvider extends Disposable implements vscode.McpServerDefinitionProvider {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeMcpServerDefinitions: vscode.Event<void> = this.changeEmitter.event;

  constructor(private readonly gateway: GatewayHost) {
    super();
    this.register(gateway.onDidChangeState(() => this.changeEmitter.fire()));
    const lm = vscode.lm as Partial<typeof vscode.lm> | undefined;
    if (typeof lm?.registerMcpServerDefinitionProvider === 'function') {
      this.register(lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, this));
    }
  }

  provideMcpServerDefinitions(): vscode.McpServerDefinition[] {
    // SEAM: the definition must carry a dedicated API key ("VS Code") in its headers, so that
    // Copilot is a known client under Gatehouse's policy. Until API keys exist there is nothing
    // to offer: an unauthenticated definition would only fail.
    return [];
  }
}
