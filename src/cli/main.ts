import { Command, Option } from 'commander';
import { ApiKeyStore } from '../core/auth/apiKeys';
import { DEFAULT_PORT } from '../core/gateway/gateway';
import { resolveHome } from '../core/store/home';
import { loadServers, removeServer, saveServer } from '../core/upstreams/serversConfig';
import { describeSignIn } from '../core/upstreams/upstreamAuth';
import { GATEHOUSE_VERSION } from '../core/version';
import { cliInvocation } from './invocation';
import { runServe } from './serve';
import { registerAuditCommands } from './auditCommands';
import { registerAuthCommands } from './authCommands';
import { registerClientCommands } from './clientCommands';
import { registerPolicyCommands } from './policyCommands';
import { registerSignInCommands } from './signInCommands';
import { registerSkillsCommands } from './skillsCommands';
import * as os from 'node:os';

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function portFrom(value: string | undefined): number {
  const raw = value ?? process.env.GATEHOUSE_PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${raw}" is not a port number (0-65535).`);
  return port;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function pairs(items: string[], separator: RegExp, what: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of items) {
    const match = separator.exec(item);
    if (!match || match.index === 0) throw new Error(`${what} "${item}" must look like NAME${separator.source.includes(':') ? ': value' : '=value'}.`);
    result[item.slice(0, match.index).trim()] = item.slice(match.index + match[0].length).trim();
  }
  return result;
}

export function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: an MCP gateway for coding agents, with approvals for risky tool calls.')
    .version(GATEHOUSE_VERSION)
    .showHelpAfterError();

  program
    .command('serve')
    .description('Run the gateway in this terminal (headless), on 127.0.0.1 only.')
    .addOption(new Option('-p, --port <port>', `port to listen on (default ${DEFAULT_PORT}, or GATEHOUSE_PORT)`))
    .action(async (options: { port?: string }) => {
      await runServe({ home: resolveHome(), port: portFrom(options.port), out, invocation: cliInvocation() });
    });

  const servers = program.command('servers').description('Manage the upstream MCP servers in servers.json.');
  servers
    .command('list')
    .description('List the configured upstream servers.')
    .action(() => {
      const home = resolveHome();
      for (const [name, config] of loadServers(home)) {
        const target = config.type === 'stdio' ? [config.command, ...config.args].join(' ') : config.type === 'http' ? config.url : 'built-in demo';
        const signIn = config.type === 'http' ? describeSignIn(home, name, config) : '';
        // A pinned revision is shown; "auto" (the default) is decided per connection by the gateway.
        const protocol = config.type !== 'builtin' && config.protocol && config.protocol !== 'auto' ? `\tMCP ${config.protocol}` : '';
        out(`${name}\t${config.type}\t${target}${protocol}${signIn ? `\t${signIn}${signIn === 'needs sign-in' ? ` (gatehouse login ${name})` : ''}` : ''}`);
      }
    });
  servers
    .command('add <name> [command...]')
    .description('Add or replace a server: an HTTP one with --url, or a stdio one given after "--" (gatehouse servers add files -- npx -y @modelcontextprotocol/server-filesystem ~/src).')
    .option('--url <url>', 'URL of a streamable HTTP MCP server')
    .option('--header <header>', 'HTTP header "Name: value" (repeatable; ${env:VAR} is expanded at run time)', collect, [])
    .option('--env <pair>', 'environment variable NAME=value for a stdio server (repeatable)', collect, [])
    .option('--cwd <dir>', 'working directory for a stdio server')
    .option('--protocol <revision>', 'MCP revision to speak to it: auto (the default), 2025-11-25 or 2026-07-28')
    .action((name: string, command: string[], options: { url?: string; header: string[]; env: string[]; cwd?: string; protocol?: string }) => {
      const home = resolveHome();
      if (options.url && command.length) throw new Error('Give either --url or a command, not both.');
      const protocol = options.protocol ? { protocol: options.protocol } : {};
      if (options.url) {
        saveServer(home, name, { type: 'http', url: options.url, headers: pairs(options.header, /:/, 'Header'), ...protocol });
      } else if (command.length) {
        saveServer(home, name, { type: 'stdio', command: command[0], args: command.slice(1), env: pairs(options.env, /=/, 'Variable'), ...(options.cwd ? { cwd: options.cwd } : {}), ...protocol });
      } else {
        throw new Error('Give --url <url> for an HTTP server, or the command after "--" for a stdio server.');
      }
      out(`Saved "${name}" in ${home}/servers.json. A running gateway picks it up at once.`);
    });
  servers
    .command('remove <name>')
    .description('Remove a server from servers.json.')
    .action((name: string) => {
      if (!removeServer(resolveHome(), name)) throw new Error(`There is no server named "${name}" in servers.json.`);
      out(`Removed "${name}".`);
    });

  const key = program.command('key').description('Manage API keys for MCP clients.');
  key
    .command('create <label>')
    .description('Create an API key; the key is printed once, alone on stdout.')
    .action((label: string) => {
      out(new ApiKeyStore(resolveHome()).create(label));
    });
  key
    .command('list')
    .description('List API keys (labels and dates; the keys themselves are never shown again).')
    .action(() => {
      const keys = new ApiKeyStore(resolveHome()).list();
      if (keys.length === 0) out('No API keys. Create one with: gatehouse key create <label>');
      for (const k of keys) out(`${k.label}\tcreated ${k.createdAt}\tlast used ${k.lastUsedAt ?? 'never'}`);
    });
  key
    .command('revoke <label>')
    .description('Revoke an API key by its label.')
    .action((label: string) => {
      if (!new ApiKeyStore(resolveHome()).revoke(label)) throw new Error(`There is no API key labelled "${label}".`);
      out(`Revoked "${label}".`);
    });

  registerClientCommands(program, { home: os.homedir(), env: process.env, port: portFrom(undefined), out, invocation: cliInvocation() });
  registerAuthCommands(program, { home: resolveHome(), out });
  registerSignInCommands(program, { home: resolveHome(), port: portFrom(undefined), out });
  registerSkillsCommands(program, { home: os.homedir(), out });
  registerPolicyCommands(program, { home: resolveHome(), out });
  registerAuditCommands(program, { home: resolveHome(), out });

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    process.stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
    // Exit at once: a failed start may leave watchers or upstream children that would keep the process alive.
    process.exit(1);
  }
}

void main();
