import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { McpSession } from '../../src/core/gateway/mcpSessions';
import { createCodexSandbox, describeRun, runCodexExec, writeCodexConfig } from '../helpers/codexHarness';
import { humanWhoDecides, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';
import { assistantMessage, functionCall, MockModel, seenOutputs } from '../helpers/mockModel';

/**
 * The real Codex CLI (0.171.0) with its opt-in to MCP 2026-07-28 (`[features] mcp_2026_07_28`,
 * also `--enable mcp_2026_07_28`): it speaks the new revision to Gatehouse (no initialize, no
 * session) and declares URL elicitation, so a held call reaches it as an input-required URL
 * elicitation of the approval page. `codex exec` has no human to show it to and answers by itself;
 * that answer decides nothing: the call waits for the human's decision in the editor, and the
 * model reads the approved result inside structuredContent. Only the model is scripted.
 */
const NAMESPACE = 'mcp__gatehouse';
const REQUEST_ID = /apr_[A-Za-z0-9_-]{20,}/;

describe('the real Codex CLI on MCP 2026-07-28: a held call and its approval', function () {
  this.timeout(180_000);
  const opened: McpSession[] = [];

  for (const prompt of ['result', 'url-elicitation'] as const) {
  it(`holds write_note (${prompt === 'result' ? 'approval_required, then await_approval' : 'as a URL elicitation Codex answers by itself'}), and the model reads the approved result only after the human approves in the editor`, async function () {
    const th: TestGatehouse = await startTestGatehouse({ approvalPrompt: prompt });
    th.gatehouse.gateway.on('sessionOpened', (session) => opened.push(session));
    const { outputs, remember } = seenOutputs();
    const model = new MockModel([
      [functionCall(NAMESPACE, 'demo__write_note', { name: 'modern.txt', content: 'from codex on 2026-07-28' }, 'call_tool')],
      (request) => {
        const answered = remember(request, 'call_tool');
        // A client that cannot open URLs gets the approval_required result and awaits it itself.
        const requestId = /"status":"approval_required"/.test(answered) ? REQUEST_ID.exec(answered)?.[0] : undefined;
        if (!requestId) return [assistantMessage(`the call answered: ${answered}`)];
        return [functionCall(NAMESPACE, 'await_approval', { request_id: requestId }, 'call_await')];
      },
      (request) => [assistantMessage(`await_approval answered: ${remember(request, 'call_await')}`)],
    ]);
    await model.start();
    const sandbox = createCodexSandbox();
    const human = humanWhoDecides(th, { kind: 'approve', scope: 'once', channel: 'editor', by: 'Ada' });
    try {
      writeCodexConfig(sandbox.codexHome, { model, gatehouseUrl: th.url });
      fs.appendFileSync(path.join(sandbox.codexHome, 'config.toml'), '\n[features]\nmcp_2026_07_28 = true\n');
      const run = await runCodexExec('Write the note.', { env: sandbox.env({ GATEHOUSE_TOKEN: th.key }), cwd: sandbox.workdir, args: ['--strict-config'] }).result;
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(opened.length, 0, `Codex opened no 2025-era session, so it spoke 2026-07-28\n${describeRun(run)}`);
      assert.equal(human.decided.length, 1, `the human decided one held call\n${describeRun(run)}`);
      assert.equal(human.decided[0].decision?.channel, 'editor', 'the decision came from the human channel, not from the elicitation answer');
      if (prompt === 'result') {
        assert.match(outputs.get('call_tool') ?? '', /"status":"approval_required"/, describeRun(run));
        const seen = outputs.get('call_await') ?? '';
        assert.match(seen, /"status":"approved"/, describeRun(run));
        assert.match(seen, /Wrote \d+ bytes/);
      } else {
        // The call itself answers once the human has decided: write_note's own structured result.
        assert.match(outputs.get('call_tool') ?? '', /"bytes":24/, describeRun(run));
        assert.match(outputs.get('call_tool') ?? '', /modern\.txt/);
      }
      assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'modern.txt'), 'utf8'), 'from codex on 2026-07-28');
    } finally {
      human.stop();
      await model.stop();
      sandbox.remove();
      await th.close();
    }
  });
  }
});
