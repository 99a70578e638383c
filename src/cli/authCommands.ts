import type { Command } from 'commander';
import { ClientRegistry } from '../core/auth/oauthClients';
import type { ConnectedClient } from '../core/auth/oauthClients';
import { TokenLedger } from '../core/auth/oauthTokens';

export interface AuthCommandContext {
  /** The Gatehouse home. */
  readonly home: string;
  readonly out: (line: string) => void;
}

function describeClient(client: ConnectedClient): string[] {
  return [
    `${client.clientName}  (${client.clientId})`,
    `  connected ${client.createdAt}, last used ${client.lastUsedAt ?? 'never'}`,
    `  redirects to ${client.redirectHosts.join(', ') || '-'}; ${client.consentedScopes ? `allowed scopes: ${client.consentedScopes.join(' ')}` : 'not yet allowed'}`,
  ];
}

/**
 * `gatehouse clients list|revoke <id>`: the OAuth clients that signed in (Codex, Claude Code, …).
 * Works on the files in the home, so a revoke also stops a gateway running in another process.
 */
export function registerAuthCommands(program: Command, ctx: AuthCommandContext): void {
  const clients = program.command('clients').description('Show or revoke the MCP clients that signed in with OAuth.');

  clients
    .command('list')
    .description('List signed-in OAuth clients with their creation and last-use times.')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const list = new ClientRegistry(ctx.home).list();
      if (options.json) {
        ctx.out(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        ctx.out('No OAuth clients have signed in. Run `codex mcp login gatehouse` (or sign in from another MCP client) to add one.');
        return;
      }
      for (const client of list) for (const line of describeClient(client)) ctx.out(line);
    });

  clients
    .command('revoke <id>')
    .description('Revoke an OAuth client: its access and refresh tokens stop working at once, and it must sign in (and be approved) again.')
    .action((id: string) => {
      const registry = new ClientRegistry(ctx.home);
      const client = registry.get(id);
      if (!client) {
        program.error(`No OAuth client has the id "${id}". Run \`gatehouse clients list\` to see the ids.`, { exitCode: 1 });
        return;
      }
      new TokenLedger(ctx.home).revokeClient(id);
      registry.remove(id);
      ctx.out(`Revoked ${client.clientName} (${id}). Its tokens no longer work; it has to sign in again, e.g. \`codex mcp login gatehouse\`.`);
    });
}
