import { Gatehouse } from '../core/gatehouse';
import { TerminalApprovals } from './terminalApprovals';

export interface ServeOptions {
  readonly home: string;
  readonly port: number;
  readonly out: (text: string) => void;
}

/** `gatehouse serve`: runs the gateway until SIGINT/SIGTERM, printing how to connect. */
export async function runServe(options: ServeOptions): Promise<Gatehouse> {
  const { out } = options;
  const gatehouse = new Gatehouse({ home: options.home, port: options.port });
  const gateway = gatehouse.gateway;
  gateway.upstreams.on('upstreamChanged', (state) => {
    if (state.status === 'ready') out(`upstream ${state.name}: ready (${state.tools.length} tools)`);
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
  out('  gatehouse key create codex');
  out('');
  out('Then add this to ~/.codex/config.toml and export GATEHOUSE_TOKEN=<the key>:');
  out('');
  out('[mcp_servers.gatehouse]');
  out(`url = "${gateway.url}"`);
  out('bearer_token_env_var = "GATEHOUSE_TOKEN"');
  out('default_tools_approval_mode = "approve"');
  out('tool_timeout_sec = 120');
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
    out('No terminal attached: decide held calls in VS Code, or run `gatehouse serve` in a terminal to decide there and pair a browser.');
  }
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return gatehouse;
}
