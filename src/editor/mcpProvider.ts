import * as vscode from 'vscode';
import type { ApiKeyStore } from '../core/auth/apiKeys';
import { mcpEndpoints } from '../core/gateway/endpoints';
import { GATEHOUSE_VERSION } from '../core/version';
import { Disposable } from './disposable';
import type { GatewayHost } from './gatewayHost';
import { readSettings, Setting } from './settings';

export const MCP_PROVIDER_ID = 'gatehouse';
/** The key VS Code's own MCP client uses; approvals show this name as the client. */
export const VSCODE_KEY_LABEL = 'VS Code';
const SECRET_PREFIX = 'gatehouse.apiKey.vscode:';

/**
 * Offers the gateway to VS Code's own MCP client (Copilot chat), with a dedicated API key so that
 * those calls go through Gatehouse's policy as a known client. The API arrived in VS Code 1.101
 * and some hosts (older code-server, forks) lack it, so it is feature-detected.
 */
export class GatehouseMcpProvider extends Disposable implements vscode.McpServerDefinitionProvider<vscode.McpHttpServerDefinition> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeMcpServerDefinitions: vscode.Event<void> = this.changeEmitter.event;

  constructor(
    private readonly gateway: GatewayHost,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(gateway.onDidChangeState(() => this.changeEmitter.fire()));
    this.register(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(Setting.mcpProviderEndpoints)) this.changeEmitter.fire();
      }),
    );
    const lm = vscode.lm as Partial<typeof vscode.lm> | undefined;
    if (typeof lm?.registerMcpServerDefinitionProvider === 'function') {
      this.register(lm.registerMcpServerDefinitionProvider(MCP_PROVIDER_ID, this));
    } else {
      log.info('This editor has no MCP server provider API; connect it to Gatehouse through its mcp.json instead.');
    }
  }

  provideMcpServerDefinitions(): vscode.McpHttpServerDefinition[] {
    const state = this.gateway.state;
    if (state.kind !== 'running') return [];
    // Per-server endpoints need the server names, which only the window running the core knows.
    const servers = this.gateway.gatehouse?.gateway.upstreams.states().map((s) => s.name) ?? [];
    const choice = this.gateway.gatehouse ? readSettings().mcpProviderEndpoints : 'aggregate';
    // The key is added in resolve, so none is created unless VS Code actually starts the server.
    return mcpEndpoints(state.url, servers, choice).map((endpoint) => new vscode.McpHttpServerDefinition(endpoint.label, vscode.Uri.parse(endpoint.url), {}, GATEHOUSE_VERSION));
  }

  async resolveMcpServerDefinition(definition: vscode.McpHttpServerDefinition): Promise<vscode.McpHttpServerDefinition | undefined> {
    const gatehouse = this.gateway.gatehouse;
    if (!gatehouse) return undefined;
    const key = await this.vsCodeKey(gatehouse.gateway.apiKeys, gatehouse.gateway.home);
    definition.headers = { ...definition.headers, 'X-API-Key': key };
    return definition;
  }

  /**
   * The store keeps only hashes, so the key itself lives in the editor's SecretStorage (per
   * Gatehouse home). A stored key that no longer verifies, or a label without a stored key, is
   * replaced.
   */
  private async vsCodeKey(store: ApiKeyStore, home: string): Promise<string> {
    const secretName = SECRET_PREFIX + home;
    const stored = await this.secrets.get(secretName);
    if (stored && store.verify(stored)?.label === VSCODE_KEY_LABEL) return stored;
    if (store.list().some((record) => record.label === VSCODE_KEY_LABEL)) store.revoke(VSCODE_KEY_LABEL);
    const key = store.create(VSCODE_KEY_LABEL);
    await this.secrets.store(secretName, key);
    this.log.info(`Created the API key "${VSCODE_KEY_LABEL}" for VS Code's MCP client`);
    return key;
  }
}
