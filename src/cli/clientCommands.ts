import { Option } from 'commander';
import type { Command } from 'commander';
import { codexSandboxWarning } from '../core/clients/codexSandbox';
import * as path from 'node:path';
import { claudeSettingsPath, planClaudePermissions } from '../core/clients/claude';
import { CLIENTS, clientWriter } from '../core/clients/clientWriters';
import { forgetImport, planCodexRestore, readImportRecords, recordImport, takenServerNames } from '../core/clients/importRecords';
import type { ClientName, ClientWriter } from '../core/clients/clientWriters';
import { GATEHOUSE_TOKEN_ENV, planCodexDisableServers } from '../core/clients/codex';
import type { ClientAuthMode } from '../core/clients/jsonConfig';
import type { ConfigPlan } from '../core/clients/plan';
import { applyPlan, displayPath, readTextIfExists } from '../core/clients/plan';
import type { ServersRead } from '../core/clients/readers';
import { readClaudeServers, readCodexServers, readCursorServers, readVsCodeServers, signsInWithOAuth } from '../core/clients/readers';
import { removeServer, saveServer } from '../core/upstreams/serversConfig';

export interface ClientCommandContext {
  /** The user's HOME directory (client configs live under it). */
  readonly home: string;
  /** GATEHOUSE_HOME and CODEX_HOME are read from here. */
  readonly env: NodeJS.ProcessEnv;
  /** The gateway's port when --port is not given. */
  readonly port: number;
  readonly out: (line: string) => void;
  /** How the user runs this CLI, for the commands printed (default `gatehouse`). */
  readonly invocation?: string;
}

const AUTH_MODES: readonly ClientAuthMode[] = ['oauth', 'env', 'header'];

function writerFor(client: ClientName, ctx: ClientCommandContext): ClientWriter {
  return clientWriter(client, ctx.env, ctx.home);
}

/** Gatehouse's own home (servers.json, import records): GATEHOUSE_HOME, or ~/.gatehouse. */
function gatehouseHome(ctx: ClientCommandContext): string {
  const fromEnv = ctx.env.GATEHOUSE_HOME?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(ctx.home, '.gatehouse');
}

/**
 * Shows the plan, then writes it unless this is a dry run. Refusals (invalid file, conflict,
 * customised values without --force) throw, so the command exits non-zero with the reason.
 */
function runPlan(ctx: ClientCommandContext, file: string, plan: ConfigPlan, dryRun: boolean): boolean {
  if (plan.status === 'invalid' || plan.status === 'conflict') throw new Error(plan.message);
  if (plan.status === 'needs-force') {
    ctx.out(plan.diff.trimEnd());
    throw new Error(plan.message);
  }
  if (plan.status === 'unchanged') {
    ctx.out(plan.message);
    return false;
  }
  if (dryRun) {
    ctx.out(plan.diff.trimEnd());
    ctx.out(`Dry run: ${plan.message} Nothing was written.`);
    return false;
  }
  const result = applyPlan(file, plan);
  ctx.out(`${plan.message}${result.backup ? ` Backup: ${result.backup}` : ''}`);
  return true;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${value}" is not a port number (1-65535).`);
  return port;
}

function clientArgument(value: string): ClientName {
  if (!(CLIENTS as readonly string[]).includes(value)) throw new Error(`Unknown client "${value}": use one of ${CLIENTS.join(', ')}.`);
  return value as ClientName;
}

function readServers(client: ClientName, ctx: ClientCommandContext, file: string, projectDir: string | undefined): ServersRead {
  const label = displayPath(file, ctx.home);
  switch (client) {
    case 'codex':
      return readCodexServers(readTextIfExists(file), label);
    case 'claude': {
      const user = readClaudeServers(readTextIfExists(file), { label, projectPath: projectDir });
      if (!projectDir) return user;
      const project = readClaudeServers(readTextIfExists(path.join(projectDir, '.mcp.json')), { label: '.mcp.json' });
      return { servers: { ...user.servers, ...project.servers }, skipped: [...user.skipped, ...project.skipped] };
    }
    case 'cursor':
      return readCursorServers(readTextIfExists(file), label);
    case 'vscode': {
      const user = readVsCodeServers(readTextIfExists(file), label);
      if (!projectDir) return user;
      const workspace = readVsCodeServers(readTextIfExists(path.join(projectDir, '.vscode', 'mcp.json')), '.vscode/mcp.json');
      return { servers: { ...user.servers, ...workspace.servers }, skipped: [...user.skipped, ...workspace.skipped] };
    }
    case 'gemini':
      throw new Error('Importing from Gemini CLI is not supported yet; add its servers with `gatehouse servers add`.');
  }
}

/**
 * The entry name for a per-server connection (`--server`): Codex only so far, since only its
 * writer can name its entry; the server name by default, so Codex keeps `mcp__<server>__<tool>`.
 */
function serverEntry(client: string, options: { server?: string; entry?: string }): string | undefined {
  if (options.entry && !options.server) throw new Error('--entry names the entry of a --server connection; add --server <name>.');
  if (!options.server) return undefined;
  if (client !== 'codex') throw new Error(`--server is supported for codex only so far; connect ${client} to the aggregate endpoint (without --server).`);
  const name = options.entry ?? options.server;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`"${name}" cannot name a Codex entry (letters, digits, "_" and "-" only); choose one with --entry <name>.`);
  return name;
}

/** Registers `gatehouse connect|disconnect|import|restore <client>`. */
export function registerClientCommands(program: Command, ctx: ClientCommandContext): void {
  program
    .command('connect <client>')
    .description(`Point a coding agent at Gatehouse by editing its config (${CLIENTS.join(', ')}). Shows a diff; keeps a backup.`)
    .addOption(new Option('--auth <mode>', 'how the client authenticates: oauth (sign in), env (GATEHOUSE_TOKEN), header (API key in the file)').choices(AUTH_MODES).default('env'))
    .option('--api-key <key>', 'the API key for --auth header (create one with `gatehouse key create <client>`)')
    .option('--port <port>', 'the gateway port', parsePort)
    .option('--dry-run', 'show the diff and write nothing')
    .option('--force', 'replace values you customised in the gatehouse entry')
    .option('--allow-rule', `claude only: also add the allow rule mcp__gatehouse__* to ~/.claude/settings.json, so Claude Code does not ask a second time`)
    .option('--server <name>', 'codex only: connect to one server on its own endpoint (/mcp/<name>, its own tool names) in an entry of its own')
    .option('--entry <name>', 'with --server: the name of that entry in the client config (default: the server name)')
    .action((clientName: string, options: { auth: ClientAuthMode; apiKey?: string; port?: number; dryRun?: boolean; force?: boolean; allowRule?: boolean; server?: string; entry?: string }) => {
      const client = clientArgument(clientName);
      if (options.auth === 'header' && !options.apiKey) {
        throw new Error(`--auth header needs --api-key <key>; create one with \`${ctx.invocation ?? 'gatehouse'} key create ${client}\`.`);
      }
      const entryName = serverEntry(client, options);
      const base = `http://127.0.0.1:${options.port ?? ctx.port}/mcp`;
      const url = options.server ? `${base}/${encodeURIComponent(options.server)}` : base;
      const writer = writerFor(client, ctx);
      const label = displayPath(writer.file, ctx.home);
      const plan = writer.connect(readTextIfExists(writer.file), { url, auth: options.auth, apiKey: options.apiKey, force: options.force, label, ...(entryName ? { entryName } : {}) });
      runPlan(ctx, writer.file, plan, Boolean(options.dryRun));
      if (client === 'codex') {
        const warning = codexSandboxWarning(readTextIfExists(writer.file), gatehouseHome(ctx), ctx.env.TMPDIR);
        if (warning) ctx.out(`Warning: ${warning}`);
      }
      if (client === 'claude' && options.allowRule) {
        const settings = claudeSettingsPath(ctx.home);
        runPlan(ctx, settings, planClaudePermissions(readTextIfExists(settings), true, displayPath(settings, ctx.home)), Boolean(options.dryRun));
      }
      if (options.auth === 'env') {
        ctx.out(`The client reads its key from ${GATEHOUSE_TOKEN_ENV}. Create a key with \`${ctx.invocation ?? 'gatehouse'} key create ${client}\`, then, in the shell that starts ${client}:`);
        ctx.out(`  export ${GATEHOUSE_TOKEN_ENV}=<key>`);
      } else if (options.auth === 'oauth' && client === 'codex') {
        ctx.out('Now sign in once: codex mcp login gatehouse');
      } else if (options.auth === 'header') {
        ctx.out(`Note: ${label} now holds the API key; anyone who can read that file can use it.`);
      }
    });

  program
    .command('disconnect <client>')
    .description('Remove the gatehouse entry from a client config (nothing else).')
    .option('--dry-run', 'show the diff and write nothing')
    .option('--force', 'also remove a "gatehouse" entry that does not point at Gatehouse')
    .option('--server <name>', 'codex only: remove the entry of a per-server connection made with connect --server')
    .option('--entry <name>', 'with --server: the entry name, if connect was given one')
    .action((clientName: string, options: { dryRun?: boolean; force?: boolean; server?: string; entry?: string }) => {
      const client = clientArgument(clientName);
      const entryName = serverEntry(client, options);
      const writer = writerFor(client, ctx);
      const plan = writer.disconnect(readTextIfExists(writer.file), { force: options.force, label: displayPath(writer.file, ctx.home), ...(entryName ? { entryName } : {}) });
      runPlan(ctx, writer.file, plan, Boolean(options.dryRun));
      if (client === 'claude') {
        const settings = claudeSettingsPath(ctx.home);
        const rule = planClaudePermissions(readTextIfExists(settings), false, displayPath(settings, ctx.home));
        if (rule.status === 'update') runPlan(ctx, settings, rule, Boolean(options.dryRun));
      }
    });

  program
    .command('import <client>')
    .description("Copy a client's MCP servers into Gatehouse's servers.json; with --move (Codex), also disable the originals so the agent cannot bypass the gateway.")
    .option('--server <name...>', 'only these servers (default: every server the client has)')
    .option('--project <dir>', "also read the project's .mcp.json (claude) or .vscode/mcp.json (vscode)")
    .option('--move', 'codex only: disable the imported servers in config.toml (enabled = false); `gatehouse restore codex` undoes it')
    .option('--dry-run', 'show what would happen and write nothing')
    .action((clientName: string, options: { server?: string[]; project?: string; move?: boolean; dryRun?: boolean }) => {
      const client = clientArgument(clientName);
      if (options.move && client !== 'codex') throw new Error(`--move is supported for Codex only; after importing, remove the servers from ${client}'s config yourself.`);
      const writer = writerFor(client, ctx);
      const read = readServers(client, ctx, writer.file, options.project);
      const wanted = options.server ?? Object.keys(read.servers);
      const unknown = wanted.filter((name) => !(name in read.servers));
      if (unknown.length) throw new Error(`${displayPath(writer.file, ctx.home)} has no importable server named ${unknown.map((n) => `"${n}"`).join(', ')}.`);
      for (const skipped of read.skipped) ctx.out(`Skipped ${skipped.name}: ${skipped.reason}.`);
      if (!wanted.length) {
        ctx.out('Nothing to import.');
        return;
      }
      const home = gatehouseHome(ctx);
      const taken = takenServerNames(home, wanted);
      if (taken.length) {
        throw new Error(`servers.json already has ${taken.map((n) => `"${n}"`).join(', ')}; Gatehouse did not overwrite ${taken.length > 1 ? 'them' : 'it'}. Remove ${taken.length > 1 ? 'them' : 'it'} with \`gatehouse servers remove <name>\` or import with --server to pick others.`);
      }
      const movePlan = options.move ? planCodexDisableServers(readTextIfExists(writer.file), wanted, displayPath(writer.file, ctx.home)) : undefined;
      if (movePlan && (movePlan.status === 'invalid' || movePlan.status === 'conflict')) throw new Error(movePlan.message);
      if (options.dryRun) {
        ctx.out(`Dry run: would import ${wanted.join(', ')} into ${path.join(home, 'servers.json')}.`);
        if (movePlan) runPlan(ctx, writer.file, movePlan, true);
        return;
      }
      for (const name of wanted) saveServer(home, name, read.servers[name]);
      ctx.out(`Imported ${wanted.join(', ')} into ${path.join(home, 'servers.json')}.`);
      const oauth = wanted.filter((name) => signsInWithOAuth(read.servers[name]!));
      for (const name of oauth) {
        ctx.out(`${name} is a remote server without a static token: if it asks for an OAuth sign-in, Gatehouse shows it as "needs sign-in" until you sign in once, for every agent, with \`gatehouse login ${name}\` (or Sign In in the editor). ${client}'s own sign-in is not copied.`);
      }
      if (movePlan) runPlan(ctx, writer.file, movePlan, false);
      recordImport(home, client, wanted, movePlan ? wanted : []);
    });

  program
    .command('restore <client>')
    .description('Undo `gatehouse import <client>`: re-enable servers that were moved out of the client, and remove the imported copies from servers.json.')
    .action((clientName: string) => {
      const client = clientArgument(clientName);
      const home = gatehouseHome(ctx);
      const entry = readImportRecords(home)[client];
      if (!entry) {
        ctx.out(`Nothing was imported from ${client}; nothing to restore.`);
        return;
      }
      if (entry.moved.length) {
        const writer = writerFor(client, ctx);
        runPlan(ctx, writer.file, planCodexRestore(readTextIfExists(writer.file), entry.moved, displayPath(writer.file, ctx.home)), false);
      }
      const removed = entry.servers.filter((name) => removeServer(home, name));
      if (removed.length) ctx.out(`Removed ${removed.join(', ')} from ${path.join(home, 'servers.json')}.`);
      forgetImport(home, client);
    });
}
