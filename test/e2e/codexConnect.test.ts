import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CODEX_BIN, completedItems, createCodexSandbox, describeRun, mcpToolsShownToModel, runCodexExec, type CodexRun, type CodexSandbox } from '../helpers/codexHarness';
import { describeChild, runChild, runGatehouse, type ChildResult } from '../helpers/cliRun';
import { REPO_ROOT, startTestGatehouse, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { assistantMessage, functionCall, functionOutputs, MockModel, type ResponsesRequest } from '../helpers/mockModel';

/**
 * Proven end to end: the real `gatehouse` CLI edits the real Codex CLI's config.toml, and
 * the real Codex (0.171, from npm) then reaches the real running gateway through it. Only the model
 * is scripted (MockModel), because no model can run here.
 */

const NAMESPACE = 'mcp__gatehouse';
const CRASHY = path.join(REPO_ROOT, 'test/fixtures/upstreams/crashy.mjs');

interface CodexListEntry {
  readonly name: string;
  readonly enabled: boolean;
}

/** A model that calls one Gatehouse tool, then repeats what the tool answered. */
function oneCallModel(tool: string): { model: MockModel; output: () => string } {
  let seen = '';
  const model = new MockModel([
    [functionCall(NAMESPACE, tool, {}, 'call_1')],
    (request: ResponsesRequest) => {
      const output = functionOutputs(request).get('call_1');
      seen = typeof output === 'string' ? output : JSON.stringify(output ?? null);
      return [assistantMessage(`The tool answered: ${seen}`)];
    },
  ]);
  return { model, output: () => seen };
}

function resultText(item: Record<string, unknown>): string {
  return JSON.stringify(item.result ?? null);
}

describe('`gatehouse connect codex` and `gatehouse import codex --move` with the real Codex CLI and a running gateway', function () {
  this.timeout(180_000);
  let th: TestGatehouse;
  let sandbox: CodexSandbox;
  let model: MockModel | undefined;
  let run: CodexRun | undefined;

  beforeEach(async function () {
    th = await startTestGatehouse();
    sandbox = createCodexSandbox('gatehouse-codex-connect-');
  });

  afterEach(async function () {
    run?.kill();
    run = undefined;
    await model?.stop();
    model = undefined;
    await th?.close();
    sandbox?.remove();
  });

  const configFile = (): string => path.join(sandbox.codexHome, 'config.toml');

  /** The CLI as the user runs it: their HOME and CODEX_HOME, and the gateway's GATEHOUSE_HOME. */
  async function gatehouse(...args: string[]): Promise<ChildResult> {
    const result = await runGatehouse(args, sandbox.env({ GATEHOUSE_HOME: th.home }));
    assert.equal(result.code, 0, describeChild(`gatehouse ${args.join(' ')}`, result));
    return result;
  }

  async function codex(...args: string[]): Promise<string> {
    const result = await runChild(CODEX_BIN, args, { env: sandbox.env(), cwd: sandbox.workdir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, describeChild(`codex ${args.join(' ')}`, result));
    return result.stdout;
  }

  async function connectCodex(userConfig: string): Promise<void> {
    // What the user already had: connect must keep every byte of it.
    fs.writeFileSync(configFile(), userConfig);
    const connected = await gatehouse('connect', 'codex', '--auth', 'env', '--port', String(th.gatehouse.gateway.port));
    assert.match(connected.stdout, /export GATEHOUSE_TOKEN=<key>/);
    const after = fs.readFileSync(configFile(), 'utf8');
    assert.ok(after.startsWith(userConfig), `connect changed the user's lines:\n${after}`);
  }

  it('connects Codex with --auth env, and Codex calls list_integrations through the gateway with GATEHOUSE_TOKEN', async function () {
    const script = oneCallModel('list_integrations');
    model = script.model;
    await model.start();
    await connectCodex(`# my Codex settings\n${model.codexConfig()}`);

    const entry = JSON.parse(await codex('mcp', 'get', 'gatehouse', '--json')) as { transport: { url: string; bearer_token_env_var: string } };
    assert.equal(entry.transport.url, th.url);
    assert.equal(entry.transport.bearer_token_env_var, 'GATEHOUSE_TOKEN');
    assert.match(await codex('mcp', 'get', 'gatehouse'), /default_tools_approval_mode: approve/);

    run = runCodexExec('Which integrations does Gatehouse have?', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'], timeoutMs: 120_000 });
    const result = await run.result;
    assert.equal(result.code, 0, describeRun(result));
    const calls = completedItems(result.events, 'mcp_tool_call');
    assert.equal(calls.length, 1, describeRun(result));
    assert.equal(calls[0].server, 'gatehouse');
    assert.equal(calls[0].tool, 'list_integrations');
    assert.equal(calls[0].status, 'completed', describeRun(result));
    assert.match(resultText(calls[0]), /demo/);
    assert.match(script.output(), /demo/, 'the model got the integrations back');
  });

  it('connects Codex to one server on its own endpoint with --server: Codex shows mcp__demo with await_approval, and calls it', async function () {
    let seen = '';
    model = new MockModel([
      [functionCall('mcp__demo', 'echo', { text: 'per-server entry' }, 'call_1')],
      (request: ResponsesRequest) => {
        const output = functionOutputs(request).get('call_1');
        seen = typeof output === 'string' ? output : JSON.stringify(output ?? null);
        return [assistantMessage(`The tool answered: ${seen}`)];
      },
    ]);
    await model.start();
    await connectCodex(model.codexConfig());
    await gatehouse('connect', 'codex', '--auth', 'env', '--port', String(th.gatehouse.gateway.port), '--server', 'demo');
    const entry = JSON.parse(await codex('mcp', 'get', 'demo', '--json')) as { transport: { url: string } };
    assert.equal(entry.transport.url, `${th.url}/demo`);

    run = runCodexExec('Echo through the demo server.', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'], timeoutMs: 120_000 });
    const result = await run.result;
    assert.equal(result.code, 0, describeRun(result));
    const shown = mcpToolsShownToModel(model.requests[0]);
    assert.ok(shown.get('mcp__demo')?.includes('echo'), `namespaces shown: ${JSON.stringify([...shown])}`);
    assert.ok(shown.get('mcp__demo')?.includes('await_approval'));
    const calls = completedItems(result.events, 'mcp_tool_call');
    assert.equal(calls[0]?.server, 'demo', describeRun(result));
    assert.equal(calls[0]?.tool, 'echo');
    assert.match(seen, /per-server entry/);
  });

  it('moves a stdio server behind Gatehouse: disabled in Codex, served live by the gateway, re-enabled by restore', async function () {
    const script = oneCallModel('crashy__pid');
    model = script.model;
    await model.start();
    const userServer = `\n# my pid server\n[mcp_servers.crashy]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(CRASHY)}]\n`;
    await connectCodex(`${model.codexConfig()}${userServer}`);

    const imported = await gatehouse('import', 'codex', '--move');
    assert.match(imported.stdout, /Imported crashy/);
    assert.match(imported.stdout, /Skipped gatehouse: this is Gatehouse itself/);
    const listed = JSON.parse(await codex('mcp', 'list', '--json')) as CodexListEntry[];
    assert.deepEqual(listed.map((server) => [server.name, server.enabled]).sort(), [
      ['crashy', false],
      ['gatehouse', true],
    ]);
    const servers = JSON.parse(fs.readFileSync(path.join(th.home, 'servers.json'), 'utf8')) as { servers: Record<string, { command: string; args: string[] }> };
    assert.equal(servers.servers.crashy.command, process.execPath);
    assert.deepEqual(servers.servers.crashy.args, [CRASHY]);

    // The running gateway watches servers.json: no restart. A server written by another process
    // waits for the human; the test confirms it as the human would in the editor or terminal.
    await until(() => th.gatehouse.servers.pendingChange() !== undefined, 50);
    assert.match(th.gatehouse.servers.pendingChange()!.changes.join('\n'), /server "crashy" is new/);
    th.gatehouse.confirmServers();
    await until(() => th.gatehouse.gateway.upstreams.catalog.has('crashy__pid'), 50);

    // From outside the human channel a loosening is held; the test confirms it as the human would.
    await gatehouse('policy', 'allow', 'crashy__pid');
    await until(() => th.gatehouse.policy.pendingChange() !== undefined, 50);
    th.gatehouse.policy.confirmPending();

    run = runCodexExec('What is the pid of the crashy server?', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'], timeoutMs: 120_000 });
    const result = await run.result;
    assert.equal(result.code, 0, describeRun(result));
    const offered = mcpToolsShownToModel(model.requests[0]);
    assert.ok(!offered.has('mcp__crashy'), 'Codex no longer starts the moved server itself');
    assert.ok(offered.get(NAMESPACE)?.includes('crashy__pid'), JSON.stringify([...offered]));
    const calls = completedItems(result.events, 'mcp_tool_call');
    assert.equal(calls.length, 1, describeRun(result));
    assert.equal(calls[0].server, 'gatehouse');
    assert.equal(calls[0].tool, 'crashy__pid');
    assert.equal(calls[0].status, 'completed', describeRun(result));
    const answered = (calls[0].result as { content: Array<{ text: string }> }).content[0].text;
    assert.match(script.output(), new RegExp(`"text":"${answered}"`), 'the model got the pid back');
    assert.match(answered, /^\d+$/);
    const pid = Number(answered);
    // The process that answered is the gateway's child (this test process), not one Codex started.
    const parent = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    assert.equal(parent, process.pid);

    const restored = await gatehouse('restore', 'codex');
    assert.match(restored.stdout, /Removed crashy/);
    const after = JSON.parse(await codex('mcp', 'list', '--json')) as CodexListEntry[];
    assert.deepEqual(after.map((server) => [server.name, server.enabled]).sort(), [
      ['crashy', true],
      ['gatehouse', true],
    ]);
    const left = JSON.parse(fs.readFileSync(path.join(th.home, 'servers.json'), 'utf8')) as { servers: Record<string, unknown> };
    assert.ok(!('crashy' in left.servers));
    await until(() => !th.gatehouse.gateway.upstreams.catalog.has('crashy__pid'), 50);
  });
});
