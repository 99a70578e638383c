import { GATEHOUSE_TOKEN_ENV, planCodexConnect } from '../core/clients/codex';
import { Gatehouse } from '../core/gatehouse';
import { DEFAULT_PORT } from '../core/gateway/gateway';
import { MODERN_PROTOCOL_VERSION } from '../core/upstreams/upstreamClient';
import { TerminalApprovals } from './terminalApprovals';

export interface ServeOptions {
  readonly home: string;
  readonly port: number;
  readonly out: (text: string) => void;
  /** How the user runs this CLI (`gatehouse`, `npx gatehouse`, `node dist/cli.js`), for the commands printed. */
  readonly invocation: string;
}

/** `gatehouse serve`: runs the gateway until SIGINT/SIGTERM, printing how to connect. */
export async function runServe(options: ServeOptions): Promise<Gatehouse> {
  const { out } = options;
  const gatehouse = new Gatehouse({ home: options.home, port: options.port });
  const gateway = gatehouse.gateway;
  const reportedSkips = new Map<string, string>();
  gateway.upstreams.on('upstreamChanged', (state) => {
    if (state.status === 'ready') out(`upstream ${state.name}: ready (${state.tools.length} tools)${state.protocolVersion === MODERN_PROTOCOL_VERSION ? ` over MCP ${MODERN_PROTOCOL_VERSION}` : ''}`);
    // Said once per server and set of skipped tools, not at every re-list.
    const skipped = (state.skipped ?? []).map((s) => `${s.name} (${s.reason})`).join(', ');
    if (state.status === 'ready' && skipped && reportedSkips.get(state.name) !== skipped) out(`upstream ${state.name}: skipped tools Gatehouse cannot serve: ${skipped}`);
    if (state.status === 'ready') reportedSkips.set(state.name, skipped);
    if (state.status === 'error') out(`upstream ${state.name}: error: ${state.error}`);
  });
  // Once per reason, so that an agent retrying a refused call does not flood the terminal.
  const announced = new Map<string, string>();
  gateway.upstreams.on('signInNeeded', (server, reason) => {
    if (announced.get(server) === reason) return;
    announced.set(server, reason);
    out(`upstream ${server}: needs sign-in (${reason}); run: gatehouse login ${server}`);
  });
  gateway.upstreams.on('upstreamChanged', (state) => {
    if (state.status === 'ready') announced.delete(state.name);
  });
  gateway.upstreams.on('configError', (error) => out(`servers.json: ${error.message}`));
  await gatehouse.start();
  out(`Gatehouse ${gateway.url} (home ${options.home})`);
  out('');
  out('Create an API key for your agent (printed once):');
  out(`  ${options.invocation} key create codex`);
  out('');
  const portOption = gateway.port === DEFAULT_PORT ? '' : ` --port ${gateway.port}`;
  out(`Then add this to ~/.codex/config.toml (or run \`${options.invocation} connect codex --auth env${portOption}\`) and export ${GATEHOUSE_TOKEN_ENV}=<the key>:`);
  out('');
  // The Codex writer's own entry, so the snippet and `connect codex` never disagree.
  out(planCodexConnect(undefined, { url: gateway.url, auth: 'env' }).after!.trimEnd());
  out('');
  let terminal: TerminalApprovals | undefined;
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    terminal?.stop();
    out('Stopping Gatehouse…');
    void gatehouse.stop().then(() => process.exit(0));
  };
  // The terminal is a human channel only when a person is at it; a pipe could be the agent's.
  if (process.stdin.isTTY) {
    terminal = new TerminalApprovals({ gatehouse, input: process.stdin, write: (text) => process.stdout.write(text), onInterrupt: shutdown });
    terminal.start();
  } else {
    out(`No terminal attached: decide held calls in VS Code, or run \`${options.invocation} serve\` in a terminal to decide there and pair a browser.`);
  }
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return gatehouse;
}
