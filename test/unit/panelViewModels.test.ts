import * as assert from 'node:assert/strict';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { argumentsHash, toolFingerprint } from '../../src/core/approvals/canonical';
import { evaluatePolicy, parsePolicy } from '../../src/core/approvals/policy';
import type { PolicyFileInput } from '../../src/core/approvals/policy';
import type { CatalogEntry } from '../../src/core/calls/callPath';
import { formatAgo, formatRemaining, matchesToolFilter } from '../../src/editor/panel/format';
import { parseRuleForm, parseServerForm, serverFormFromEntry } from '../../src/editor/panel/forms';
import type { ServerForm } from '../../src/editor/panel/protocol';
import { auditFilter, buildSnapshot, historyRow, parseTryArguments, pendingItem } from '../../src/editor/panel/viewModels';
import type { SnapshotInputs } from '../../src/editor/panel/viewModels';

// Builders for the core data the snapshot is made of.
function tool(name: string, annotations: Tool['annotations'] = {}, description = `${name} does things`): Tool {
  return { name, description, inputSchema: { type: 'object', properties: {} }, annotations };
}

function entry(server: string, upstreamTool: Tool): CatalogEntry {
  return { name: `${server}__${upstreamTool.name}`, server, originalName: upstreamTool.name, tool: upstreamTool };
}

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'apr_1',
    clientId: 'key:codex',
    clientName: 'codex',
    sessionId: 's1',
    server: 'demo',
    tool: 'demo__write_note',
    originalName: 'write_note',
    arguments: { name: 'a.txt', content: 'hello' },
    argumentsHash: argumentsHash({ name: 'a.txt', content: 'hello' }),
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:10:00.000Z',
    status: 'pending',
    ...overrides,
  };
}

const writeNote = tool('write_note', { destructiveHint: true });
const echo = tool('echo', { readOnlyHint: true });
const catalog = [entry('demo', echo), entry('demo', writeNote)];

function inputs(policy: PolicyFileInput = {}, overrides: Partial<SnapshotInputs> = {}): SnapshotInputs {
  const parsed = parsePolicy(policy);
  return {
    gateway: { running: true, message: 'running at http://127.0.0.1:7337/mcp' },
    pending: [],
    upstreams: [{ name: 'demo', status: 'ready', tools: [echo, writeNote], features: { resources: [], resourceTemplates: [], prompts: [] } }],
    catalog,
    policyTool: (catalogEntry) => ({ name: catalogEntry.originalName, server: catalogEntry.server, annotations: catalogEntry.tool.annotations, fingerprint: toolFingerprint(catalogEntry.tool) }),
    policy: parsed,
    evaluate: (policyTool, args) => evaluatePolicy(parsed, policyTool, args),
    serversFile: { servers: {} },
    oauthClients: [],
    apiKeys: [],
    ...overrides,
  };
}

const emptyForm: ServerForm = { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' };

describe('panel view models', () => {
  describe('the snapshot', () => {
    it('shows each tool with its effective decision, where it comes from and its annotations', () => {
      const snapshot = buildSnapshot(inputs());
      const [server] = snapshot.servers;
      assert.equal(server.name, 'demo');
      assert.equal(server.builtin, true, 'a server not in servers.json (the built-in demo) cannot be edited');
      const byName = Object.fromEntries(server.tools.map((view) => [view.name, view]));
      assert.deepEqual([byName.echo.decision, byName.echo.source, byName.echo.control, byName.echo.readOnly], ['allow', 'default', 'default', true]);
      assert.deepEqual([byName.write_note.decision, byName.write_note.source, byName.write_note.destructive], ['ask', 'default', true]);
      assert.equal(byName.write_note.why, 'write_note can change or delete things, and you asked to approve such tools');
      assert.equal(byName.echo.why, 'echo only reads, and you let reading tools run');
      assert.deepEqual(snapshot.toolNames, ['demo__echo', 'demo__write_note']);
    });

    it('reports the three-state control and the rule when the tool has its own rule', () => {
      const snapshot = buildSnapshot(inputs({ rules: [{ id: 'mine', tool: 'demo__write_note', decision: 'allow' }] }));
      const view = snapshot.servers[0].tools.find((candidate) => candidate.name === 'write_note')!;
      assert.deepEqual([view.control, view.decision, view.source, view.ruleId], ['allow', 'allow', 'rule', 'mine']);
    });

    it('warns when an allow rule was made for another version of the tool (rug-pull guard)', () => {
      const stale = 'a'.repeat(64);
      const snapshot = buildSnapshot(inputs({ rules: [{ id: 'old', tool: 'demo__write_note', decision: 'allow', fingerprint: stale }] }));
      const view = snapshot.servers[0].tools.find((candidate) => candidate.name === 'write_note')!;
      assert.equal(view.decision, 'ask', 'the suspended allow counts as ask');
      assert.match(view.fingerprintWarning ?? '', /changed since old/);
    });

    it('shows what a grant covers as its arguments, and only when they are the ones its hash binds', () => {
      const args = { name: 'notes.txt', content: 'hi' };
      const snapshot = buildSnapshot(
        inputs({
          grants: [
            { id: 'kept', tool: 'demo__write_note', argumentsHash: argumentsHash(args), arguments: args },
            // An edit of policy.json that shows harmless arguments next to another call's hash.
            { id: 'forged', tool: 'demo__write_note', argumentsHash: argumentsHash({ name: '/etc/passwd' }), arguments: args },
            { id: 'old', tool: 'demo__write_note', argumentsHash: argumentsHash(args) },
          ],
        }),
      );
      const byId = Object.fromEntries(snapshot.policy.grants.map((grant) => [grant.id, grant]));
      assert.deepEqual([byId.kept.covers, byId.kept.coversShown], ['name: "notes.txt", content: "hi"', true]);
      assert.equal(byId.forged.coversShown, false);
      assert.match(byId.forged.covers, /do not match this grant/);
      assert.doesNotMatch(byId.forged.covers, /notes\.txt/);
      assert.deepEqual([byId.old.coversShown, /not recorded/.test(byId.old.covers)], [false, true]);
    });

    it('tells apart clients that share a name, oldest first, and leaves a lone name alone', () => {
      const codex = (clientId: string, createdAt: string) => ({ clientId, clientName: 'Codex CLI', createdAt, lastUsedAt: undefined, redirectHosts: ['127.0.0.1:5000'], consentedScopes: ['mcp'] });
      const snapshot = buildSnapshot(
        inputs({}, { oauthClients: [codex('bbbbbbbb-2', '2026-01-02T00:00:00Z'), codex('aaaaaaaa-1', '2026-01-01T00:00:00Z'), { ...codex('cccccccc-3', '2026-01-03T00:00:00Z'), clientName: 'Claude Code' }] }),
      );
      assert.deepEqual(
        snapshot.clients.oauth.map((client) => [client.name, client.distinguisher]),
        [
          ['Codex CLI', '2 of 2 named so, id bbbbbbbb'],
          ['Codex CLI', '1 of 2 named so, id aaaaaaaa'],
          ['Claude Code', undefined],
        ],
      );
    });

    it('counts grants per tool and lists them for revoking', () => {
      const hash = argumentsHash({ name: 'a.txt' });
      const snapshot = buildSnapshot(inputs({ grants: [{ tool: 'demo__write_note', argumentsHash: hash }] }));
      assert.equal(snapshot.servers[0].tools.find((candidate) => candidate.name === 'write_note')!.grantCount, 1);
      assert.deepEqual(snapshot.policy.grants.map((grant) => [grant.id, grant.tool]), [['grant-1', 'demo__write_note']]);
    });

    it('shows a pending call with pretty arguments, a summary and the rule that asked', () => {
      const snapshot = buildSnapshot(inputs({}, { pending: [request({ additionalInfo: 'Saving notes', rule: { id: 'rule-2', tool: 'demo__*', decision: 'ask' } })] }));
      const [item] = snapshot.pending;
      assert.equal(item.argumentsJson, '{\n  "name": "a.txt",\n  "content": "hello"\n}');
      assert.equal(item.argumentsSummary, 'name: a.txt, content: hello');
      assert.deepEqual([item.client, item.server, item.tool, item.matchedRule, item.additionalInfo], ['codex', 'demo', 'write_note', 'rule-2', 'Saving notes']);
    });

    it('lists servers from servers.json that are not running yet, with a form to edit them', () => {
      const snapshot = buildSnapshot(
        inputs({ defaults: { servers: { github: 'deny' } } }, { serversFile: { servers: { github: { type: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${env:T}' } } } } }),
      );
      const github = snapshot.servers.find((server) => server.name === 'github')!;
      assert.equal(github.status, 'configured');
      assert.equal(github.serverDefault, 'deny');
      assert.deepEqual(github.form, { ...emptyForm, type: 'http', url: 'https://example.com/mcp', headers: 'Authorization: Bearer ${env:T}' });
    });

    it('passes a waiting loosening edit of policy.json through for Confirm and Reject', () => {
      const snapshot = buildSnapshot(inputs({}, { pendingChange: { proposed: parsePolicy({}), diffSummary: ['defaults.other goes from "ask" to "allow"'] } }));
      assert.deepEqual(snapshot.policy.pendingChange, ['defaults.other goes from "ask" to "allow"']);
    });

    it('has no servers and no tools when the gateway is not running', () => {
      const snapshot = buildSnapshot(inputs({}, { gateway: { running: false, message: 'stopped' }, upstreams: [], catalog: [] }));
      assert.deepEqual([snapshot.servers.length, snapshot.toolNames.length, snapshot.gateway.running], [0, 0, false]);
    });
  });

  describe('the server form', () => {
    it('turns a stdio form into a servers.json entry', () => {
      const parsed = parseServerForm('files', { ...emptyForm, command: ' npx ', args: '-y\n@modelcontextprotocol/server-filesystem\n\n/tmp', env: 'A=1\nTOKEN=${env:TOKEN}', cwd: '/work' });
      assert.deepEqual(parsed, { entry: { type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'], env: { A: '1', TOKEN: '${env:TOKEN}' }, cwd: '/work' } });
    });

    it('turns an http form into a servers.json entry', () => {
      assert.deepEqual(parseServerForm('remote', { ...emptyForm, type: 'http', url: 'https://example.com/mcp', headers: 'X-Key: abc' }), {
        entry: { type: 'http', url: 'https://example.com/mcp', headers: { 'X-Key': 'abc' } },
      });
    });

    it('names every wrong field with a message that says what to do', () => {
      const parsed = parseServerForm('bad name!', { ...emptyForm, env: 'no equals sign', cwd: 'relative/dir' });
      assert.ok('errors' in parsed);
      assert.deepEqual(Object.keys(parsed.errors).sort(), ['command', 'cwd', 'env', 'name']);
      assert.match(parsed.errors.command, /Enter the command/);
      const http = parseServerForm('remote', { ...emptyForm, type: 'http', url: 'ftp://example.com', headers: 'no colon' });
      assert.ok('errors' in http);
      assert.match(http.errors.url, /not an absolute http/);
      assert.match(http.errors.headers, /Name: value/);
    });

    it('refuses a name that another server already uses', () => {
      const parsed = parseServerForm('github', { ...emptyForm, command: 'gh-mcp' }, new Set(['github']));
      assert.ok('errors' in parsed && /already exists/.test(parsed.errors.name));
    });

    it('round-trips an existing stdio entry through the edit form', () => {
      const original = { type: 'stdio', command: 'node', args: ['server.js', '--port', '0'], env: { A: 'b' }, cwd: '/srv' };
      const form = serverFormFromEntry(original);
      assert.deepEqual(parseServerForm('local', form), { entry: original });
    });
  });

  describe('the rule form', () => {
    it('accepts a tool glob with argument conditions', () => {
      assert.deepEqual(parseRuleForm({ tool: 'demo__write_note', when: '{"name": {"glob": "*.txt"}}', decision: 'allow', reason: ' notes are fine ' }), {
        rule: { tool: 'demo__write_note', when: { name: { glob: '*.txt' } }, decision: 'allow', reason: 'notes are fine' },
      });
      assert.deepEqual(parseRuleForm({ tool: 'demo__*', when: '', decision: 'deny', reason: '' }), { rule: { tool: 'demo__*', decision: 'deny' } });
    });

    it('shows JSON mistakes and schema mistakes next to the conditions field', () => {
      const broken = parseRuleForm({ tool: 'demo__write_note', when: '{name: 1}', decision: 'allow', reason: '' });
      assert.ok('errors' in broken && /Not valid JSON/.test(broken.errors.when));
      const badRegex = parseRuleForm({ tool: 'demo__write_note', when: '{"name": {"regex": "("}}', decision: 'deny', reason: '' });
      assert.ok('errors' in badRegex && /regular expression/.test(badRegex.errors.when));
      const emptyMatcher = parseRuleForm({ tool: 'demo__write_note', when: '{"name": {}}', decision: 'allow', reason: '' });
      assert.ok('errors' in emptyMatcher && /at least one of/.test(emptyMatcher.errors.when));
      const noTool = parseRuleForm({ tool: ' ', when: '[]', decision: 'allow', reason: '' });
      assert.ok('errors' in noTool);
      assert.deepEqual(Object.keys(noTool.errors).sort(), ['tool', 'when']);
    });
  });

  describe('small pieces', () => {
    it('counts down to expiry and says when a call has expired', () => {
      const expires = '2026-01-01T00:10:00.000Z';
      const at = (iso: string): number => Date.parse(iso);
      assert.equal(formatRemaining(expires, at('2026-01-01T00:05:55.000Z')), '4:05 left');
      assert.equal(formatRemaining(expires, at('2026-01-01T00:09:18.000Z')), '42 s left');
      assert.equal(formatRemaining(expires, at('2026-01-01T00:10:00.000Z')), 'expired');
      assert.equal(formatAgo(undefined, 0), 'never');
      assert.equal(formatAgo('2026-01-01T00:00:00.000Z', at('2026-01-01T00:03:10.000Z')), '3 min ago');
    });

    it('filters tools by every word of the query', () => {
      assert.equal(matchesToolFilter('demo write', 'demo__write_note', 'Writes a note'), true);
      assert.equal(matchesToolFilter('NOTE', 'demo__write_note'), true);
      assert.equal(matchesToolFilter('demo delete', 'demo__write_note', 'Writes a note'), false);
    });

    it('reads "try a call" arguments as a JSON object or nothing', () => {
      assert.deepEqual(parseTryArguments('  '), {});
      assert.deepEqual(parseTryArguments('{"a": 1}'), { a: 1 });
      assert.throws(() => parseTryArguments('[1]'), /JSON object/);
      assert.throws(() => parseTryArguments('{'), /not valid JSON/);
    });

    it('turns history filter fields into the audit filter, days inclusive', () => {
      assert.deepEqual(auditFilter({ tool: ' demo__* ', decision: '', client: 'codex', since: '2026-01-02', until: '2026-01-03' }), {
        since: new Date('2026-01-02T00:00:00.000Z'),
        until: new Date('2026-01-03T23:59:59.999Z'),
        tool: 'demo__*',
        client: 'codex',
      });
      assert.deepEqual(auditFilter({ since: 'yesterday' }), {});
    });

    it('summarises an audit entry as one history row', () => {
      const row = historyRow({ ts: '2026-01-01T00:00:00.000Z', event: 'denied', clientName: 'codex', tool: 'demo__write_note', decision: 'deny', rule: 'rule-1', channel: 'policy', reason: 'no notes', arguments: { name: 'a' } });
      assert.deepEqual(row, {
        ts: '2026-01-01T00:00:00.000Z',
        event: 'denied',
        client: 'codex',
        tool: 'demo__write_note',
        decision: 'deny',
        happened: 'Blocked by your policy',
        detail: 'because your rule says: no notes · {"name":"a"}',
        machine: 'event denied · decision deny · rule rule-1 · channel policy · no notes',
      });
    });

    it('says in words why a call was held', () => {
      const row = historyRow({ ts: '2026-01-01T00:00:00.000Z', event: 'held', server: 'demo', tool: 'demo__write_note', decision: 'ask', reason: 'the tool is marked destructive; defaults.destructive is "ask"', arguments: {} });
      assert.equal(row.detail, 'because write_note can change or delete things, and you asked to approve such tools · {}');
      assert.match(row.machine, /defaults\.destructive is "ask"/);
    });

    it('says in words what a decision was, with the log\'s names in the details line', () => {
      const row = historyRow({ ts: '2026-01-01T00:00:00.000Z', event: 'decided', clientName: 'codex', tool: 'demo__write_note', decision: 'approve:once', channel: 'editor' });
      assert.equal(row.happened, 'You approved it once, in the editor');
      assert.equal(row.machine, 'event decided · decision approve:once · channel editor');
      assert.doesNotMatch(row.happened + row.detail, /approve:once|rule-|via /);
    });
  });
});

describe('pending items in the panel', () => {
  it('show bidi and invisible characters in agent text as visible codes, keeping line breaks', () => {
    const item = pendingItem(request({ clientName: 'co\u202edex', arguments: { content: 'safe\u200b\nnext' }, additionalInfo: 'fine\u2066 really' }));
    assert.equal(item.client, 'co[U+202E]dex');
    assert.match(item.argumentsJson, /safe\[U\+200B\]\\nnext/);
    assert.equal(item.additionalInfo, 'fine[U+2066] really');
    assert.equal(item.qualifiedName, 'demo__write_note', 'identifiers stay as they are');
  });
});
