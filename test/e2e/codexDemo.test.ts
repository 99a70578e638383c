import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import type { HumanDecision } from '../../src/core/approvals/humanDecision';
import { loadBundledSkills } from '../../src/core/skills/bundle';
import { installSkills } from '../../src/core/skills/installer';
import {
  completedItems,
  createCodexSandbox,
  describeRun,
  mcpToolsShownToModel,
  runCodexExec,
  skillsShownToModel,
  writeCodexConfig,
  type CodexExecResult,
  type CodexRun,
  type CodexSandbox,
} from '../helpers/codexHarness';
import { humanWhoDecides, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';
import { assistantMessage, functionCall, MockModel, seenOutputs } from '../helpers/mockModel';

/**
 * The demo from the README: the real Codex CLI, our skills installed by our installer, the
 * real gatehouse with the demo upstream, and a human deciding through the core API. Only the model
 * is scripted (MockModel), because no model can run here.
 */

const NAMESPACE = 'mcp__gatehouse';
const REQUEST_ID = /apr_[A-Za-z0-9_-]{20,}/;

interface DemoScript {
  readonly model: MockModel;
  /** What Codex handed back to the model for each call, by call id. */
  readonly outputs: Map<string, string>;
}

/**
 * The model a user would hope for: write the note, and when it is held, share the link and call
 * await_approval with the request_id from the result, in the same turn; then report.
 */
function demoModel(note: { name: string; content: string }): DemoScript {
  const { outputs, remember } = seenOutputs();
  const model = new MockModel([
    [functionCall(NAMESPACE, 'demo__write_note', { ...note, additional_info: 'The user asked for a note with the release plan.' }, 'call_write')],
    (request) => {
      const held = remember(request, 'call_write');
      const requestId = REQUEST_ID.exec(held)?.[0];
      if (!requestId) return [assistantMessage(`No request_id in the held result: ${held}`)];
      const url = /http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+?(?=[\s"\\]|$)/.exec(held)?.[0];
      return [
        assistantMessage(`I want to save the release plan as ${note.name}. Please approve it here: ${url}`),
        functionCall(NAMESPACE, 'await_approval', { request_id: requestId }, 'call_await'),
      ];
    },
    (request) => [assistantMessage(`await_approval answered: ${remember(request, 'call_await')}`)],
  ]);
  return { model, outputs };
}

describe('the mission demo: the real Codex CLI writes a note through Gatehouse after a human decides', function () {
  this.timeout(180_000);
  let th: TestGatehouse;
  let sandbox: CodexSandbox;
  let run: CodexRun | undefined;
  let script: DemoScript | undefined;

  before(async function () {
    th = await startTestGatehouse();
    sandbox = createCodexSandbox('gatehouse-codex-demo-');
    const installed = installSkills(loadBundledSkills(), { home: sandbox.home, agents: ['codex'] });
    assert.deepEqual(installed.map((entry) => entry.action), ['installed', 'installed']);
  });

  afterEach(async function () {
    run?.kill();
    run = undefined;
    await script?.model.stop();
    script = undefined;
  });

  after(async function () {
    await th?.close();
    sandbox?.remove();
  });

  async function runDemo(note: { name: string; content: string }, decision: HumanDecision): Promise<{ result: CodexExecResult; decided: ApprovalRequest[] }> {
    script = demoModel(note);
    await script.model.start();
    writeCodexConfig(sandbox.codexHome, { model: script.model, gatehouseUrl: th.url });
    const human = humanWhoDecides(th, decision);
    try {
      run = runCodexExec('Save the release plan as a note through Gatehouse.', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, timeoutMs: 150_000 });
      const result = await run.result;
      assert.equal(result.code, 0, describeRun(result));
      return { result, decided: human.decided };
    } finally {
      human.stop();
    }
  }

  it('discovers both skills installed by our installer, sees the tools in the mcp__gatehouse namespace, and writes exactly the approved note', async function () {
    const note = { name: 'release-plan.md', content: 'Ship 0.1.0 on Monday.\n' };
    const { result, decided } = await runDemo(note, { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' });
    const requests = script!.model.requests;

    const skills = skillsShownToModel(requests[0]!);
    for (const skill of loadBundledSkills()) assert.equal(skills.get(skill.name), skill.description, `Codex lists ${skill.name} for the model`);
    // Codex 0.171 groups a server's tools in a namespace and keeps the gateway's own names inside it.
    const offered = mcpToolsShownToModel(requests[0]!);
    assert.deepEqual(offered.get(NAMESPACE), ['await_approval', 'demo__echo', 'demo__get_time', 'demo__write_note', 'list_integrations']);

    assert.equal(decided.length, 1, 'one call was held and decided');
    assert.deepEqual(decided[0]!.arguments, note, 'additional_info was stripped from the held call');
    assert.equal(decided[0]!.additionalInfo, 'The user asked for a note with the release plan.');
    assert.match(script!.outputs.get('call_write')!, /approval_required/);
    assert.match(script!.outputs.get('call_write')!, new RegExp(decided[0]!.id));

    const calls = completedItems(result.events, 'mcp_tool_call');
    assert.deepEqual(
      calls.map((call) => [call.server, call.tool, call.status]),
      [
        ['gatehouse', 'demo__write_note', 'completed'],
        ['gatehouse', 'await_approval', 'completed'],
      ],
      describeRun(result),
    );
    assert.match(JSON.stringify(calls[1]!.result), /"status":"approved"/);
    assert.match(script!.outputs.get('call_await')!, /Approved by Ada/);
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', note.name), 'utf8'), note.content);
    assert.ok(completedItems(result.events, 'agent_message').some((message) => /await_approval answered/.test(String(message.text))));
  });

  it('passes the human reason for a denial back to the model and writes nothing', async function () {
    const note = { name: 'denied-plan.md', content: 'Ship on Friday.\n' };
    const reason = 'Notes go in the team wiki, not on disk.';
    const { result, decided } = await runDemo(note, { kind: 'deny', reason, channel: 'editor' });

    assert.equal(decided.length, 1);
    const calls = completedItems(result.events, 'mcp_tool_call');
    assert.deepEqual(
      calls.map((call) => [call.tool, call.status]),
      [
        ['demo__write_note', 'completed'],
        ['await_approval', 'completed'],
      ],
      describeRun(result),
    );
    const answer = script!.outputs.get('call_await')!;
    assert.ok(answer.includes(reason), `the model saw the reason: ${answer}`);
    assert.match(answer, /denied/);
    assert.equal(fs.existsSync(path.join(th.home, 'demo', note.name)), false, 'the denied note was never written');
  });
});
