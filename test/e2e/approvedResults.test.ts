import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HumanDecision } from '../../src/core/approvals/humanDecision';
import { agentCliEnv, describeChild, runChild, runGatehouse } from '../helpers/cliRun';
import { DEFAULT_TOOL_TIMEOUT_SEC, desiredCodexEntry } from '../../src/core/clients/codex';
import { createCodexSandbox, describeRun, runCodexExec, writeCodexConfig } from '../helpers/codexHarness';
import { everythingServer, humanWhoDecides, REPO_ROOT, startTestGatehouse, tempDir, type TestGatehouse } from '../helpers/gatewayHarness';
import { MockAnthropic, text, toolResults, toolUse, type MessagesRequest } from '../helpers/mockAnthropic';
import { assistantMessage, functionCall, functionOutputs, MockModel, seenOutputs } from '../helpers/mockModel';

/**
 * What the model reads after the human decides a held call, through the two clients that show the
 * model only a result's structuredContent: the real Codex CLI and the real Claude Code CLI. Only
 * the models are scripted (no model can run here); each test asserts on the tool output the client
 * sent back to its model, not on what Gatehouse returned.
 *
 * The text-only upstream is the real @modelcontextprotocol/server-filesystem 2025.8.21 (its
 * write_file answers with text and no structuredContent); structured and image results come from
 * the real @modelcontextprotocol/server-everything.
 */

const TOOLS = path.join(REPO_ROOT, '.tools');
const FILESYSTEM_SERVER = path.join(TOOLS, 'server-filesystem', 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
const CLAUDE = path.join(TOOLS, 'claude-code', 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
const REQUEST_ID = /apr_[A-Za-z0-9_-]{20,}/;

/** One held call, the human's decision on it, and what the model must then be able to read. */
interface Scenario {
  readonly title: string;
  readonly tool: string;
  readonly args: (allowed: string) => Record<string, unknown>;
  /** The decision, or one that depends on the allowed folder (an approval with changed arguments). */
  readonly decision: HumanDecision | ((allowed: string) => HumanDecision);
  readonly modelSees: (allowed: string) => RegExp[];
}

function decisionOf(scenario: Scenario, allowed: string): HumanDecision {
  return typeof scenario.decision === 'function' ? scenario.decision(allowed) : scenario.decision;
}

const SCENARIOS: Scenario[] = [
  {
    title: 'an approved text-only result: the tool text',
    tool: 'fsold__write_file',
    args: (allowed) => ({ path: path.join(allowed, 'plan.txt'), content: 'ship on Friday' }),
    decision: { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' },
    modelSees: (allowed) => [/"status":"approved"/, new RegExp(`Successfully wrote to ${escapeRegExp(path.join(allowed, 'plan.txt'))}`), /"is_error":false/],
  },
  {
    title: 'an approved structured result: its text and its structuredContent',
    tool: 'everything__get-structured-content',
    args: () => ({ location: 'Los Angeles' }),
    decision: { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' },
    modelSees: () => [/"status":"approved"/, /"text":"\{\\"temperature\\":73/, /"structured_content":\{[^}]*"conditions":"Sunny \/ Clear"/],
  },
  {
    title: 'an approved result with an image: a description of it',
    tool: 'everything__get-tiny-image',
    args: () => ({}),
    decision: { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' },
    modelSees: () => [/"status":"approved"/, /"other_content":\["image, image\/png, \d+ (B|KB)"/],
  },
  {
    title: "an approved call that failed upstream: isError and the upstream's error text",
    tool: 'fsold__write_file',
    args: () => ({ path: '/etc/gatehouse-approved-results.txt', content: 'nope' }),
    decision: { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' },
    // Claude Code shows the model the content of an error result, Codex its structuredContent: the
    // message that leads both says what happened.
    modelSees: () => [/Approved by Ada/, /it reported an error: (Error: )?Access denied - path outside allowed directories/],
  },
  {
    title: 'an approval with changed arguments: the note that the human changed them, to what, and the edited call\'s real result',
    tool: 'fsold__write_file',
    args: (allowed) => ({ path: path.join(allowed, 'agent-draft.txt'), content: 'the agent wrote this' }),
    decision: (allowed) => ({ kind: 'approve', scope: 'once', arguments: { path: path.join(allowed, 'human-edit.txt'), content: 'the human wrote this' }, channel: 'editor', by: 'Ada' }),
    modelSees: (allowed) => [
      /"status":"approved"/,
      /"arguments_changed":true/,
      /the human changed the arguments before approving/,
      /"original_arguments":\{[^}]*"content":"the agent wrote this"/,
      /"arguments":\{[^}]*"content":"the human wrote this"/,
      new RegExp(`Successfully wrote to ${escapeRegExp(path.join(allowed, 'human-edit.txt'))}`),
    ],
  },
  {
    title: "a denial with a reason: the human's reason",
    tool: 'fsold__write_file',
    args: (allowed) => ({ path: path.join(allowed, 'denied.txt'), content: 'no' }),
    decision: { kind: 'deny', reason: 'write it to the notes folder instead', channel: 'editor' },
    modelSees: () => [/"status":"denied"/, /write it to the notes folder instead/],
  },
];

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('approved results reach the model through Codex and Claude Code', function () {
  this.timeout(180_000);
  let th: TestGatehouse;
  let allowed: string;

  before(async function () {
    assert.ok(fs.existsSync(FILESYSTEM_SERVER), `${FILESYSTEM_SERVER} is missing: run \`bash scripts/install-tools.sh filesystem_server\``);
    allowed = fs.realpathSync(tempDir('gatehouse-allowed-'));
    th = await startTestGatehouse({
      servers: {
        fsold: { type: 'stdio', command: process.execPath, args: [FILESYSTEM_SERVER, allowed] },
        everything: everythingServer(),
      },
      policy: {
        version: 1,
        rules: ['fsold__write_file', 'everything__get-structured-content', 'everything__get-tiny-image'].map((tool, i) => ({ id: `ask-${i}`, tool, decision: 'ask' })),
      },
    });
    const states = th.gatehouse.gateway.upstreams.states();
    assert.ok(states.every((state) => state.status === 'ready'), JSON.stringify(states));
  });

  after(async function () {
    await th?.close();
  });

  describe('the real Codex CLI', function () {
    const NAMESPACE = 'mcp__gatehouse';

    for (const scenario of SCENARIOS) {
      it(`hands the model ${scenario.title}`, async function () {
        const { outputs, remember } = seenOutputs();
        const model = new MockModel([
          // Codex offers the model tool names with "-" written as "_" and maps them back itself.
          [functionCall(NAMESPACE, scenario.tool.replace(/-/g, '_'), scenario.args(allowed), 'call_tool')],
          (request) => {
            const requestId = REQUEST_ID.exec(remember(request, 'call_tool'))?.[0];
            if (!requestId) return [assistantMessage(`no request_id in the held result: ${outputs.get('call_tool')}`)];
            return [functionCall(NAMESPACE, 'await_approval', { request_id: requestId }, 'call_await')];
          },
          (request) => [assistantMessage(`await_approval answered: ${remember(request, 'call_await')}`)],
        ]);
        await model.start();
        const sandbox = createCodexSandbox();
        const human = humanWhoDecides(th, decisionOf(scenario, allowed));
        try {
          writeCodexConfig(sandbox.codexHome, { model, gatehouseUrl: th.url });
          const run = await runCodexExec('Do the task.', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'] }).result;
          assert.equal(run.code, 0, describeRun(run));
          assert.equal(human.decided.length, 1, `the human decided one held call\n${describeRun(run)}`);
          const seen = outputs.get('call_await');
          assert.ok(seen, `Codex sent the model no await_approval output\n${describeRun(run)}`);
          for (const pattern of scenario.modelSees(allowed)) assert.match(seen, pattern);
        } finally {
          human.stop();
          await model.stop();
          sandbox.remove();
        }
      });
    }
  });

  describe('the real Claude Code CLI', function () {
    const PREFIX = 'mcp__gatehouse__';
    let home: string;

    before(async function () {
      assert.ok(fs.existsSync(CLAUDE), `${CLAUDE} is missing: run \`bash scripts/install-tools.sh claude_code\``);
      home = tempDir('gatehouse-claude-');
      // As a user would: the key in the Authorization header, and Claude Code's own allow rule so
      // that Gatehouse is the only gate.
      const connected = await runGatehouse(['connect', 'claude', '--auth', 'header', '--api-key', th.key, '--port', String(th.gatehouse.gateway.port), '--allow-rule'], claudeEnv());
      assert.equal(connected.code, 0, describeChild('gatehouse connect claude', connected));
    });

    function claudeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
      // ENABLE_TOOL_SEARCH=false lists MCP tools to the model directly instead of behind Claude Code's tool search.
      return agentCliEnv(home, th.home, { ENABLE_TOOL_SEARCH: 'false', ...extra });
    }

    for (const scenario of SCENARIOS) {
      it(`hands the model ${scenario.title}`, async function () {
        const outputs = new Map<string, string>();
        const remember = (request: MessagesRequest, id: string): string => {
          const value = toolResults(request).get(id) ?? '';
          outputs.set(id, value);
          return value;
        };
        const model = new MockAnthropic([
          [toolUse(`${PREFIX}${scenario.tool}`, scenario.args(allowed), 'toolu_call')],
          (request) => {
            const requestId = REQUEST_ID.exec(remember(request, 'toolu_call'))?.[0];
            if (!requestId) return [text(`no request_id in the held result: ${outputs.get('toolu_call')}`)];
            return [toolUse(`${PREFIX}await_approval`, { request_id: requestId }, 'toolu_await')];
          },
          (request) => [text(`await_approval answered: ${remember(request, 'toolu_await')}`)],
        ]);
        await model.start();
        const human = humanWhoDecides(th, decisionOf(scenario, allowed));
        try {
          const run = await runChild(CLAUDE, ['-p', 'Do the task.', '--allowedTools', `${PREFIX}*`], {
            env: claudeEnv({ ANTHROPIC_BASE_URL: model.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key' }),
            cwd: home,
            timeoutMs: 150_000,
          });
          assert.equal(run.code, 0, describeChild('claude -p', run));
          const offered = model.requests[0]?.tools?.map((tool) => tool.name) ?? [];
          assert.ok(offered.includes(`${PREFIX}${scenario.tool}`), `Claude Code offered the model ${offered.join(', ')}`);
          assert.equal(human.decided.length, 1, `the human decided one held call\n${describeChild('claude -p', run)}`);
          const seen = outputs.get('toolu_await');
          assert.ok(seen, `Claude Code sent the model no await_approval result\n${describeChild('claude -p', run)}`);
          for (const pattern of scenario.modelSees(allowed)) assert.match(seen, pattern);
        } finally {
          human.stop();
          await model.stop();
        }
      });
    }
  });

  describe('the await window and the tool timeout Gatehouse writes for Codex', function () {
    it('stay consistent: the longest await window the settings allow ends before the timeout the Codex writer sets', function () {
      const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { maximum: number; default: number }> } } };
      const window = manifest.contributes.configuration.properties['gatehouse.approval.awaitWindowSeconds']!;
      assert.ok(window.maximum < DEFAULT_TOOL_TIMEOUT_SEC, `await window up to ${window.maximum} s, Codex tool timeout ${DEFAULT_TOOL_TIMEOUT_SEC} s`);
      assert.equal(desiredCodexEntry({ url: th.url, auth: 'env' }).tool_timeout_sec, DEFAULT_TOOL_TIMEOUT_SEC);
    });

    it('is the timeout the real Codex applies: an await_approval that outlasts it is cut off', async function () {
      let seen = '';
      const model = new MockModel([
        [functionCall('mcp__gatehouse', 'fsold__write_file', { path: path.join(allowed, 'slow.txt'), content: 'later' }, 'call_tool')],
        (request) => {
          const requestId = REQUEST_ID.exec(String(functionOutputs(request).get('call_tool') ?? ''))?.[0] ?? 'apr_missing';
          return [functionCall('mcp__gatehouse', 'await_approval', { request_id: requestId }, 'call_await')];
        },
        (request) => {
          const output = functionOutputs(request).get('call_await');
          seen = typeof output === 'string' ? output : JSON.stringify(output ?? null);
          return [assistantMessage('done')];
        },
      ]);
      await model.start();
      const sandbox = createCodexSandbox();
      // Nobody decides, and the await window (6 s) is longer than the tool timeout written (2 s).
      th.gatehouse.awaitWindowMs = 6_000;
      try {
        writeCodexConfig(sandbox.codexHome, { model, gatehouseUrl: th.url, toolTimeoutSec: 2 });
        const run = await runCodexExec('Do the task.', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'] }).result;
        assert.equal(run.code, 0, describeRun(run));
        assert.match(seen, /timed out|timeout/i, `Codex cut the await that outlasted tool_timeout_sec; the model saw ${seen}`);
        assert.doesNotMatch(seen, /"status":"pending"/);
      } finally {
        th.gatehouse.awaitWindowMs = 50_000;
        await model.stop();
        sandbox.remove();
      }
    });
  });
});
