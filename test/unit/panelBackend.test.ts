import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { PanelBackend } from '../../src/editor/panel/panelBackend';
import type { EditorServices } from '../../src/editor/panel/panelBackend';
import { FieldValidationError } from '../../src/editor/panel/protocol';
import type { ServerForm } from '../../src/editor/panel/protocol';
import { saveServer } from '../../src/core/upstreams/serversConfig';
import { connectClient, startHttpUpstream, startTestGatehouse, tempDir, until } from '../helpers/gatewayHarness';
import type { TestGatehouse } from '../helpers/gatewayHarness';

const emptyForm: ServerForm = { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' };

/**
 * The editor's clipboard and save dialog cannot run outside VS Code, so they are stand-ins here
 * that record what they were given; everything else is the real core on a loopback port.
 */
function recordingEditor(saveTo: string | undefined): EditorServices & { copied: string[]; saved: Array<{ name: string; content: string }>; signIns: string[] } {
  const copied: string[] = [];
  const saved: Array<{ name: string; content: string }> = [];
  const signIns: string[] = [];
  return {
    copied,
    saved,
    signIns,
    copy: async (text) => void copied.push(text),
    signIn: async (server) => void signIns.push(server),
    saveFile: async (name, content) => {
      saved.push({ name, content });
      if (saveTo) fs.writeFileSync(saveTo, content);
      return saveTo;
    },
  };
}

describe('panel backend over the real core', function () {
  this.timeout(30_000);
  let th: TestGatehouse;
  let client: Client;
  let backend: PanelBackend;
  let editor: ReturnType<typeof recordingEditor>;
  let userHome: string;

  beforeEach(async () => {
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'panel-test');
    userHome = tempDir('gatehouse-panel-user-');
    editor = recordingEditor(path.join(userHome, 'export.out'));
    backend = new PanelBackend({ home: th.home, gatehouse: () => th.gatehouse, gatewayMessage: () => 'running', editor, userHome, env: {} });
  });

  afterEach(async () => {
    await client.close();
    await th.close();
    fs.rmSync(userHome, { recursive: true, force: true });
  });

  it('switches a tool from ask to allow in policy.json, and the next call goes straight through', async () => {
    const before = backend.snapshot().servers.find((server) => server.name === 'demo')!.tools.find((tool) => tool.name === 'write_note')!;
    assert.equal(before.decision, 'ask');
    await backend.handle('setToolDecision', { tool: 'demo__write_note', decision: 'allow' });
    const onDisk = JSON.parse(fs.readFileSync(path.join(th.home, 'policy.json'), 'utf8')) as { rules: Array<{ tool: string; decision: string; fingerprint?: string }> };
    assert.deepEqual(onDisk.rules.map((rule) => [rule.tool, rule.decision]), [['demo__write_note', 'allow']]);
    assert.match(onDisk.rules[0].fingerprint ?? '', /^[0-9a-f]{64}$/, 'the allow is pinned to the tool version the human saw');
    const result = await client.callTool({ name: 'demo__write_note', arguments: { name: 'direct.txt', content: 'no wait' } });
    assert.notEqual((result.structuredContent as { status?: string } | undefined)?.status, 'approval_required');
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'direct.txt'), 'utf8'), 'no wait');
  });

  it('approves with changes: refuses text that is not JSON or not an object under the editor, then runs the edited call', async () => {
    const held = (await client.callTool({ name: 'demo__write_note', arguments: { name: 'p.txt', content: 'agent' } })).structuredContent as { request_id: string };
    const item = backend.snapshot().pending.find((candidate) => candidate.id === held.request_id)!;
    assert.deepEqual(JSON.parse(item.argumentsEditable), { content: 'agent', name: 'p.txt' });
    assert.match(item.inputSchemaJson ?? '', /"content"/, 'the editor shows the tool\'s own input schema');
    const refusal = async (text: string): Promise<string> => {
      const error = await backend.handle('approveWithChanges', { id: held.request_id, scope: 'once', arguments: text }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof FieldValidationError, `refused as a field error: ${String(error)}`);
      return error.fieldErrors.arguments ?? '';
    };
    assert.match(await refusal('{"name": "p.txt",'), /not valid JSON.*Nothing was decided/);
    assert.match(await refusal('null'), /must be a JSON object/);
    assert.match(await refusal('["p.txt"]'), /must be a JSON object/);
    assert.equal(th.gatehouse.approvals.get(held.request_id)?.status, 'pending');
    await backend.handle('approveWithChanges', { id: held.request_id, scope: 'once', arguments: '{"name": "p.txt", "content": "human"}' });
    const result = (await client.callTool({ name: 'await_approval', arguments: { request_id: held.request_id } })).structuredContent as { arguments_changed?: boolean };
    assert.equal(result.arguments_changed, true);
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'p.txt'), 'utf8'), 'human');
  });

  it('starts the sign-in of an HTTP server from its Sign In button, and refuses one that is not HTTP', async () => {
    const upstream = await startHttpUpstream(() => undefined);
    try {
      saveServer(th.home, 'remote', { type: 'http', url: upstream.url });
      th.gatehouse.gateway.upstreams.reload();
      // Written from outside the editor's forms, so it waits for the human, who confirms it here.
      th.gatehouse.confirmServers();
      await backend.handle('signInServer', { name: 'remote' });
      assert.deepEqual(editor.signIns, ['remote']);
      await assert.rejects(backend.handle('signInServer', { name: 'demo' }), /not an HTTP server/);
    } finally {
      await upstream.close();
    }
  });

  it('approves several pending calls at once and reports one that was already decided', async () => {
    await client.callTool({ name: 'demo__write_note', arguments: { name: 'a.txt', content: 'a' } });
    await client.callTool({ name: 'demo__write_note', arguments: { name: 'b.txt', content: 'b' } });
    const ids = backend.snapshot().pending.map((item) => item.id);
    assert.equal(ids.length, 2);
    th.gatehouse.decide(ids[1], { kind: 'deny', channel: 'test' });
    const result = await backend.handle('decide', { ids, action: 'once' });
    assert.equal(result.decided, 1);
    assert.match(result.failures[0], /already denied/);
    assert.equal(th.gatehouse.approvals.get(ids[0])?.decision?.channel, 'editor');
    assert.equal(backend.snapshot().pending.length, 0);
  });

  it('denies with the reason the agent will see', async () => {
    const held = await client.callTool({ name: 'demo__write_note', arguments: { name: 'no.txt', content: 'x' } });
    const id = (held.structuredContent as { request_id: string }).request_id;
    await backend.handle('decide', { ids: [id], action: 'deny', reason: 'use the wiki instead' });
    const awaited = await client.callTool({ name: 'await_approval', arguments: { request_id: id } });
    assert.match(JSON.stringify(awaited), /use the wiki instead/);
  });

  it('adds an argument rule that "try a call" then reports, with the real decision', async () => {
    const { id } = await backend.handle('saveRule', { rule: { tool: 'demo__write_note', when: '{"name": {"glob": "*.md"}}', decision: 'allow', reason: 'markdown notes are fine' } });
    const matching = await backend.handle('tryCall', { tool: 'demo__write_note', arguments: '{"name": "todo.md", "content": "x"}' });
    assert.deepEqual([matching.decision, matching.source, matching.ruleId], ['allow', 'rule', id]);
    const other = await backend.handle('tryCall', { tool: 'demo__write_note', arguments: '{"name": "todo.txt"}' });
    assert.deepEqual([other.decision, other.source, other.ruleId], ['ask', 'default', undefined]);
    await assert.rejects(backend.handle('tryCall', { tool: 'demo__write_note', arguments: '{oops' }), (error: unknown) => error instanceof FieldValidationError && /not valid JSON/.test(error.fieldErrors.arguments));
  });

  it('says in words why "try a call" decides as it does, and that a tool which does not exist does not exist', async () => {
    const held = await backend.handle('tryCall', { tool: 'demo__write_note', arguments: '{"name": "a.txt"}' });
    assert.equal(held.why, 'write_note can change or delete things, and you asked to approve such tools');
    assert.match(held.details, /defaults\.destructive is "ask"/, 'the machine name stays in the details line');
    await assert.rejects(
      backend.handle('tryCall', { tool: 'demo__write_nothing', arguments: '' }),
      (error: unknown) => error instanceof FieldValidationError && /There is no tool "demo__write_nothing"\. Did you mean .*demo__write_note/.test(error.fieldErrors.tool),
    );
    await assert.rejects(backend.handle('tryCall', { tool: 'nothing', arguments: '' }), (error: unknown) => error instanceof FieldValidationError && /There is no tool "nothing"/.test(error.fieldErrors.tool));
  });

  it('edits, reorders and deletes rules through the human channel', async () => {
    const first = await backend.handle('saveRule', { rule: { tool: 'demo__*', when: '', decision: 'ask', reason: '' } });
    const second = await backend.handle('saveRule', { rule: { tool: 'demo__echo', when: '', decision: 'deny', reason: 'no echo' } });
    await backend.handle('moveRule', { id: second.id, toIndex: 0 });
    assert.deepEqual(th.gatehouse.policy.current().rules.map((rule) => rule.id), [second.id, first.id]);
    await backend.handle('saveRule', { id: first.id, rule: { tool: 'demo__write_note', when: '', decision: 'deny', reason: '' } });
    assert.deepEqual(th.gatehouse.policy.current().rules.map((rule) => [rule.id, rule.tool, rule.decision]), [
      [second.id, 'demo__echo', 'deny'],
      [first.id, 'demo__write_note', 'deny'],
    ]);
    await backend.handle('removeRule', { id: second.id });
    assert.deepEqual(th.gatehouse.policy.current().rules.map((rule) => rule.id), [first.id]);
    await assert.rejects(backend.handle('saveRule', { rule: { tool: 'demo__echo', when: '{"a": {"regex": "("}}', decision: 'deny', reason: '' } }), FieldValidationError);
  });

  it('refuses an invalid server with field errors and leaves servers.json as it was', async () => {
    const file = path.join(th.home, 'servers.json');
    assert.equal(fs.existsSync(file), false);
    await assert.rejects(backend.handle('saveServer', { name: 'bad name', form: { ...emptyForm, type: 'http', url: 'not a url' } }), (error: unknown) => {
      assert.ok(error instanceof FieldValidationError);
      assert.deepEqual(Object.keys(error.fieldErrors).sort(), ['name', 'url']);
      return true;
    });
    assert.equal(fs.existsSync(file), false, 'nothing was written');
  });

  it('saves a valid server, renames it, and removes it', async () => {
    const file = path.join(th.home, 'servers.json');
    await backend.handle('saveServer', { name: 'remote', form: { ...emptyForm, type: 'http', url: 'http://127.0.0.1:9/mcp' } });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { servers: { remote: { type: 'http', url: 'http://127.0.0.1:9/mcp' } } });
    await backend.handle('saveServer', { originalName: 'remote', name: 'renamed', form: { ...emptyForm, type: 'http', url: 'http://127.0.0.1:9/mcp' } });
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).servers), ['renamed']);
    assert.ok(backend.snapshot().servers.some((server) => server.name === 'renamed' && server.form?.url === 'http://127.0.0.1:9/mcp'));
    await backend.handle('removeServer', { name: 'renamed' });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { servers: {} });
  });

  it('imports servers from Codex config.toml, keeping secrets as env references', async () => {
    fs.mkdirSync(path.join(userHome, '.codex'));
    fs.writeFileSync(
      path.join(userHome, '.codex', 'config.toml'),
      '[mcp_servers.github]\nurl = "https://api.example.com/mcp"\nbearer_token_env_var = "GH_TOKEN"\n\n[mcp_servers.gatehouse]\nurl = "http://127.0.0.1:7337/mcp"\n',
    );
    const preview = await backend.handle('importPreview', { source: 'codex' });
    assert.deepEqual(preview.candidates.map((candidate) => [candidate.name, candidate.exists]), [['github', false]]);
    assert.match(preview.skipped.join(), /gatehouse: this is Gatehouse itself/);
    const { imported } = await backend.handle('importServers', { source: 'codex', names: ['github'] });
    assert.deepEqual(imported, ['github']);
    const saved = JSON.parse(fs.readFileSync(path.join(th.home, 'servers.json'), 'utf8')) as { servers: Record<string, { headers: Record<string, string> }> };
    assert.equal(saved.servers.github.headers.Authorization, 'Bearer ${env:GH_TOKEN}');
  });

  it('creates an API key shown once, lists it, and revokes it', async () => {
    const { key } = await backend.handle('createApiKey', { label: 'cursor' });
    assert.match(key, /^gh_/);
    assert.ok(backend.snapshot().clients.apiKeys.some((record) => record.label === 'cursor'));
    assert.ok(!JSON.stringify(backend.snapshot()).includes(key), 'the key itself never appears in a snapshot');
    await assert.rejects(backend.handle('createApiKey', { label: 'cursor' }), (error: unknown) => error instanceof FieldValidationError && /already exists/.test(error.fieldErrors.label));
    await backend.handle('revokeApiKey', { label: 'cursor' });
    assert.ok(!backend.snapshot().clients.apiKeys.some((record) => record.label === 'cursor'));
  });

  it('shows the audit tail, filtered, and exports it as CSV through the save dialog', async () => {
    await client.callTool({ name: 'demo__echo', arguments: { text: 'hi' } });
    await client.callTool({ name: 'demo__write_note', arguments: { name: 'h.txt', content: 'x' } });
    await until(() => backend.handle('history', { filter: {}, limit: 50 }).then((history) => history.total >= 2));
    const held = await backend.handle('history', { filter: { decision: 'ask' }, limit: 50 });
    assert.deepEqual(held.rows.map((row) => [row.event, row.tool]), [['held', 'demo__write_note']]);
    const exported = await backend.handle('exportHistory', { filter: { tool: 'demo__echo' }, format: 'csv' });
    assert.equal(exported.count, 1);
    assert.equal(editor.saved[0].name, 'gatehouse-audit.csv');
    assert.match(editor.saved[0].content, /^ts,event,client/);
    assert.match(editor.saved[0].content, /allowed/);
  });

  it('confirms or rejects a loosening edit of policy.json made outside the panel', async () => {
    const file = path.join(th.home, 'policy.json');
    const loosen = (): void => fs.writeFileSync(file, JSON.stringify({ defaults: { other: 'allow', destructive: 'allow' } }));
    loosen();
    await until(() => backend.snapshot().policy.pendingChange !== undefined);
    await backend.handle('resolvePendingPolicy', { confirm: false });
    assert.equal(backend.snapshot().policy.pendingChange, undefined);
    assert.equal(th.gatehouse.policy.current().defaults.destructive, 'ask', 'rejected: the stricter policy is back in the file');
    loosen();
    await until(() => backend.snapshot().policy.pendingChange !== undefined);
    await backend.handle('resolvePendingPolicy', { confirm: true });
    assert.equal(th.gatehouse.policy.current().defaults.destructive, 'allow');
  });

  it('says how to start the gateway when asked to decide while it is stopped', async () => {
    const stopped = new PanelBackend({ home: th.home, gatehouse: () => undefined, gatewayMessage: () => 'stopped', editor, userHome, env: {} });
    await assert.rejects(stopped.handle('decide', { ids: ['apr_x'], action: 'once' }), /not running \(stopped\).*Restart Gateway/);
    assert.equal(stopped.snapshot().gateway.running, false);
  });
});
