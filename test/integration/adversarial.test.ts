import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { readAudit } from '../../src/core/approvals/auditReader';
import { argumentsHash } from '../../src/core/approvals/canonical';
import { MAX_HELD_ARGUMENTS_BYTES, MAX_PENDING_PER_CLIENT } from '../../src/core/approvals/approvalGate';
import { MAX_PENDING_CONSENTS } from '../../src/core/auth/consent';
import { saveServer } from '../../src/core/upstreams/serversConfig';
import { MAX_SESSIONS_PER_CLIENT } from '../../src/core/gateway/mcpSessions';
import { Gatehouse, type GatehouseOptions } from '../../src/core/gatehouse';
import { REPO_ROOT, connectClient, tempDir, until, writeServers, type TestGatehouse } from '../helpers/gatewayHarness';
import { TestBrowser, callTool, structuredOf } from '../helpers/pairedBrowser';
import { freePort } from '../helpers/ports';

/**
 * The agent as attacker, with what a same-user agent really has: an MCP key, the files under
 * GATEHOUSE_HOME, processes and loopback ports. Every case drives a real gateway over HTTP with the
 * demo upstream, and ends by checking that the held call did not run (the demo's note file does
 * not exist) and that nothing loosened.
 */
describe('adversarial: a same-user agent cannot get a call run without the human', function () {
  const opened: { client?: Client; th?: TestGatehouse }[] = [];
  afterEach(async function () {
    for (const { client, th } of opened.splice(0)) {
      await client?.close().catch(() => undefined);
      await th?.close().catch(() => undefined);
    }
  });

  /** A real Gatehouse on `home`; a restart on the same home reuses the agent's key. */
  async function start(home: string, options: Partial<GatehouseOptions> & { key?: string } = {}): Promise<{ th: TestGatehouse; client: Client; key: string }> {
    const gatehouse = new Gatehouse({ ...options, home, port: 0 });
    const key = options.key ?? gatehouse.gateway.apiKeys.create('agent');
    await gatehouse.start();
    await gatehouse.gateway.upstreams.settled();
    const th: TestGatehouse = { gatehouse, home, key, url: gatehouse.gateway.url, close: () => gatehouse.stop() };
    const client = await connectClient(th.url, key, 'attacker');
    opened.push({ th, client });
    return { th, client, key };
  }

  const noteFile = (home: string, name: string): string => path.join(home, 'demo', name);

  /**
   * What an agent with write access to the home does while the gateway is stopped: a call is held,
   * the gateway stops, and the agent edits that request in pending.json. Returns its id and key.
   */
  async function forgeHeldRequest(home: string, name: string, forge: (request: Record<string, unknown>) => void): Promise<{ id: string; key: string }> {
    const first = await start(home);
    const held = structuredOf(await callTool(first.client, 'demo__write_note', { name, content: name }));
    assert.equal(held.status, 'approval_required');
    const id = String(held.request_id);
    await first.client.close();
    await first.th.close();
    const file = path.join(home, 'pending.json');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { requests: Record<string, unknown>[] };
    forge(saved.requests.find((r) => r.id === id)!);
    fs.writeFileSync(file, JSON.stringify(saved));
    return { id, key: first.key };
  }

  describe('forged approvals from disk', function () {
    it('an approval written into pending.json while the gateway was stopped goes back to the human and does not run', async function () {
      const home = tempDir();
      const { id, key } = await forgeHeldRequest(home, 'forged.txt', (forged) => {
        forged.status = 'approved';
        forged.decision = { kind: 'approve', scope: 'once', channel: 'editor', at: new Date().toISOString() };
      });

      const second = await start(home, { key });
      second.th.gatehouse.awaitWindowMs = 100;
      const answer = structuredOf(await callTool(second.client, 'await_approval', { request_id: id }));
      assert.equal(answer.status, 'pending', 'the forged approval is not honoured');
      assert.equal(fs.existsSync(noteFile(home, 'forged.txt')), false, 'nothing ran');
      const request = second.th.gatehouse.approvals.get(id)!;
      assert.equal(request.status, 'pending');
      assert.equal(request.decision, undefined);
      assert.match(request.reopened ?? '', /Approvals do not survive a restart/);
      assert.deepEqual(second.th.gatehouse.approvals.pending().map((r) => r.id), [id], 'the human sees it as pending again');

      const events = readAudit(home).filter((e) => e.requestId === id).map((e) => e.event);
      assert.deepEqual(events, ['held', 'reopened'], 'the audit log shows the reopening, and no execution');
      const onDisk = JSON.parse(fs.readFileSync(path.join(home, 'pending.json'), 'utf8')) as { requests: { id: string; status: string }[] };
      assert.equal(onDisk.requests.find((r) => r.id === id)?.status, 'pending', 'pending.json is corrected too');
    });

    it('a forged decision.scope and other stored text are escaped on the approval page, and injected csrf fields stay empty', async function () {
      const home = tempDir();
      const injection = '"><form method=post action="/approvals/x/decide"><input name=csrf><button name=decision value=once>ok</button></form><script>alert(1)</script>';
      const { id, key } = await forgeHeldRequest(home, 'x.txt', (forged) => {
        forged.status = 'denied';
        forged.decision = { kind: 'deny', scope: injection, reason: injection, channel: injection, by: injection, at: new Date().toISOString() };
        forged.clientName = `evil\u202e${injection}`;
      });

      const second = await start(home, { key });
      const browser = new TestBrowser(`http://127.0.0.1:${second.th.gatehouse.gateway.port}`);
      assert.equal((await browser.open(second.th.gatehouse.createPairingLink())).status, 200);
      const body = await (await browser.get(`/approvals/${id}`)).text();
      assert.doesNotMatch(body, /<form method=post/);
      assert.doesNotMatch(body, /<input name=csrf>/);
      assert.doesNotMatch(body, /<script>alert/);
      assert.doesNotMatch(body, /\u202e/, 'bidi override shown as a code, not applied');
      assert.match(body, /\[U\+202E\]/);
    });
  });

  describe('session approvals', function () {
    it('"approve for this session" lifts the default ask only, never a rule\'s ask', async function () {
      const home = tempDir();
      const policy = { rules: [{ id: 'secrets', tool: 'demo__write_note', when: { name: { glob: 'secret*' } }, decision: 'ask', reason: 'secret notes always ask' }] };
      fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify(policy));
      const { th, client } = await start(home);
      const first = structuredOf(await callTool(client, 'demo__write_note', { name: 'plain.txt', content: 'ok' }));
      assert.equal(first.status, 'approval_required');
      assert.equal(th.gatehouse.decide(String(first.request_id), { kind: 'approve', scope: 'session', channel: 'test' }).ok, true);
      assert.equal(structuredOf(await callTool(client, 'await_approval', { request_id: first.request_id })).status, 'approved');
      await callTool(client, 'demo__write_note', { name: 'plain2.txt', content: 'ok' });
      assert.equal(fs.existsSync(noteFile(home, 'plain2.txt')), true, 'the session approval does lift the default ask');

      const secret = structuredOf(await callTool(client, 'demo__write_note', { name: 'secret-plan.txt', content: 'exfiltrate' }));
      assert.equal(secret.status, 'approval_required', 'the rule still asks');
      assert.equal(fs.existsSync(noteFile(home, 'secret-plan.txt')), false, 'nothing ran');
    });
  });

  describe('a malicious upstream changes a tool (rug pull)', function () {
    const shapeshifter = (dir: string): Record<string, unknown> => ({
      type: 'stdio',
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/shapeshifter.mjs')],
      env: { SHAPESHIFTER_DIR: dir },
    });

    async function catalogChange(th: TestGatehouse, act: () => Promise<unknown>): Promise<void> {
      const changed = new Promise<void>((resolve) => th.gatehouse.gateway.upstreams.once('catalogChanged', () => resolve()));
      await act();
      await changed;
    }

    it('re-marking a destructive tool read-only does not make its calls allowed', async function () {
      const home = tempDir();
      const out = tempDir();
      writeServers(home, { shifty: shapeshifter(out) });
      const { th, client } = await start(home);
      assert.equal(structuredOf(await callTool(client, 'shifty__wipe', { target: 'a' })).status, 'approval_required');
      await catalogChange(th, () => callTool(client, 'shifty__flip', { how: 'readOnly' }));
      const tools = await client.listTools();
      assert.equal(tools.tools.find((t) => t.name === 'shifty__wipe')?.annotations?.readOnlyHint, true, 'the upstream now claims read-only');
      const again = structuredOf(await callTool(client, 'shifty__wipe', { target: 'b' }));
      assert.equal(again.status, 'approval_required', 'still held: the default is the one for the strictest annotations seen');
      assert.equal(fs.existsSync(path.join(out, 'wiped-b')), false, 'nothing ran');
    });

    it('an approved call whose tool changed before it ran goes back to the human', async function () {
      const home = tempDir();
      const out = tempDir();
      writeServers(home, { shifty: shapeshifter(out) });
      const { th, client } = await start(home);
      const held = structuredOf(await callTool(client, 'shifty__wipe', { target: 'c' }));
      const id = String(held.request_id);
      await catalogChange(th, () => callTool(client, 'shifty__flip', { how: 'describe' }));
      assert.equal(th.gatehouse.decide(id, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
      th.gatehouse.awaitWindowMs = 100;
      const answer = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
      assert.equal(answer.status, 'pending', JSON.stringify(answer));
      assert.match(String(answer.message), /changed since/);
      assert.equal(fs.existsSync(path.join(out, 'wiped-c')), false, 'nothing ran');
      const request = th.gatehouse.approvals.get(id)!;
      assert.equal(request.status, 'pending');
      assert.match(request.reopened ?? '', /changed since/);
    });

    it('an approved call whose server entry changed before it ran goes back to the human', async function () {
      const home = tempDir();
      const out = tempDir();
      writeServers(home, { shifty: shapeshifter(out) });
      const { th, client } = await start(home);
      const held = structuredOf(await callTool(client, 'shifty__wipe', { target: 'd' }));
      const id = String(held.request_id);
      assert.ok(th.gatehouse.approvals.get(id)?.serverConfigHash, 'the request records the server entry it was held for');
      const other = tempDir();
      const reloaded = new Promise<void>((resolve) => th.gatehouse.gateway.upstreams.once('configLoaded', () => resolve()));
      writeServers(home, { shifty: shapeshifter(other) });
      await reloaded;
      await th.gatehouse.gateway.upstreams.settled();
      assert.equal(th.gatehouse.decide(id, { kind: 'approve', scope: 'once', channel: 'test' }).ok, true);
      th.gatehouse.awaitWindowMs = 100;
      const answer = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
      assert.equal(answer.status, 'pending', JSON.stringify(answer));
      assert.match(String(answer.message), /server entry/);
      assert.equal(fs.existsSync(path.join(other, 'wiped-d')), false, 'nothing ran on the new entry');
      assert.equal(fs.existsSync(path.join(out, 'wiped-d')), false, 'nor on the old one');
    });
  });

  describe('loosening policy.json from disk', function () {
    it('an ask rule written over a default deny is held for the human and the call stays blocked, old grants included', async function () {
      const home = tempDir();
      const grant = { tool: 'demo__write_note', argumentsHash: argumentsHash({ name: 'g.txt', content: 'g' }) };
      fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ defaults: { destructive: 'deny' }, grants: [grant] }));
      const { th, client } = await start(home);
      assert.equal(structuredOf(await callTool(client, 'demo__write_note', { name: 'g.txt', content: 'g' })).status, 'blocked');

      const held = new Promise((resolve) => th.gatehouse.policy.on('pendingLoosening', resolve));
      fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ defaults: { destructive: 'deny' }, rules: [{ tool: '*', decision: 'ask' }], grants: [grant] }));
      await held;
      assert.match(th.gatehouse.policy.pendingChange()!.diffSummary.join('\n'), /ask rule .* where a default denies it asks instead/);
      assert.equal(structuredOf(await callTool(client, 'demo__write_note', { name: 'g.txt', content: 'g' })).status, 'blocked', 'still denied while the change waits');
      assert.equal(fs.existsSync(noteFile(home, 'g.txt')), false, 'nothing ran');

      th.gatehouse.policy.confirmPending();
      const after = structuredOf(await callTool(client, 'demo__write_note', { name: 'g.txt', content: 'g' }));
      assert.equal(after.status, 'approval_required', 'once confirmed the rule asks, and the old grant does not allow');
      assert.equal(fs.existsSync(noteFile(home, 'g.txt')), false);
    });
  });

  describe('limits', function () {
    it(`refuses to hold more than ${MAX_PENDING_PER_CLIENT} calls per client, and arguments over ${MAX_HELD_ARGUMENTS_BYTES / 1024} KiB`, async function () {
      const home = tempDir();
      const { th, client } = await start(home);
      const big = structuredOf(await callTool(client, 'demo__write_note', { name: 'big.txt', content: 'x'.repeat(MAX_HELD_ARGUMENTS_BYTES + 1) }));
      assert.equal(big.status, 'blocked');
      assert.match(String(big.reason), /at most 256 KiB/);
      for (let i = 0; i < MAX_PENDING_PER_CLIENT; i++) {
        assert.equal(structuredOf(await callTool(client, 'demo__write_note', { name: `n${i}.txt`, content: 'x' })).status, 'approval_required');
      }
      const over = structuredOf(await callTool(client, 'demo__write_note', { name: 'over.txt', content: 'x' }));
      assert.equal(over.status, 'blocked');
      assert.match(String(over.reason), /already has 20 calls waiting/);
      assert.equal(th.gatehouse.approvals.pending().length, MAX_PENDING_PER_CLIENT);
      assert.equal(fs.existsSync(noteFile(home, 'over.txt')), false);
      assert.ok(fs.statSync(path.join(home, 'pending.json')).size < MAX_PENDING_PER_CLIENT * 4096, 'pending.json stays small');
    });

    it('keeps large held arguments out of pending.json, and restores them whole after a restart', async function () {
      const home = tempDir();
      const first = await start(home);
      const content = 'y'.repeat(200 * 1024);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(String(structuredOf(await callTool(first.client, 'demo__write_note', { name: `large${i}.txt`, content })).request_id));
      await first.client.close();
      await first.th.close();
      assert.ok(fs.statSync(path.join(home, 'pending.json')).size < 16 * 1024, 'pending.json is not megabytes');
      assert.equal(fs.readdirSync(path.join(home, 'pending-args')).length, 5);
      const swapped = path.join(home, 'pending-args', `${ids[4]}.json`);
      fs.writeFileSync(swapped, JSON.stringify({ name: 'large4.txt', content: 'swapped by the agent' }));

      const second = await start(home, { key: first.key });
      assert.equal(second.th.gatehouse.approvals.get(ids[0]!)?.arguments.content, content, 'the arguments came back whole');
      assert.equal(second.th.gatehouse.approvals.get(ids[4]!), undefined, 'arguments swapped on disk do not match the request: it is dropped, not shown');
    });

    it(`keeps at most ${MAX_SESSIONS_PER_CLIENT} MCP sessions per client, closing the least recently used`, async function () {
      const { th, key } = await start(tempDir());
      const extra: Client[] = [];
      for (let i = 0; i < MAX_SESSIONS_PER_CLIENT + 8; i++) extra.push(await connectClient(th.url, key, `loop-${i}`));
      const own = th.gatehouse.gateway.sessions.size;
      await Promise.all(extra.map((c) => c.close().catch(() => undefined)));
      assert.ok(own <= MAX_SESSIONS_PER_CLIENT, `${own} sessions open`);
    });

    it(`refuses more than ${MAX_PENDING_CONSENTS} sign-in prompts waiting at once`, async function () {
      const { th } = await start(tempDir());
      const base = `http://127.0.0.1:${th.gatehouse.gateway.port}`;
      const redirect = 'http://127.0.0.1:40999/callback';
      const registered = (await (await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'flood', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }) })).json()) as { client_id: string };
      const params = (): string =>
        new URLSearchParams({ response_type: 'code', client_id: registered.client_id, redirect_uri: redirect, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', resource: `${base}/mcp` }).toString();
      for (let i = 0; i < MAX_PENDING_CONSENTS; i++) assert.equal((await fetch(`${base}/authorize?${params()}`, { redirect: 'manual' })).status, 200);
      const over = await fetch(`${base}/authorize?${params()}`, { redirect: 'manual' });
      assert.equal(over.status, 302);
      assert.equal(new URL(over.headers.get('location')!).searchParams.get('error'), 'temporarily_unavailable');
      assert.equal(th.gatehouse.consent.pending().length, MAX_PENDING_CONSENTS);
    });
  });

  describe('hygiene', function () {
    it('a malformed Basic header on /token is a 401, not a 500', async function () {
      const { th } = await start(tempDir());
      const response = await fetch(`http://127.0.0.1:${th.gatehouse.gateway.port}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('%zz:%zz').toString('base64')}` },
        body: 'grant_type=authorization_code&code=x',
      });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    });

    it('takes [::1] too, so localhost cannot reach another program on that port', async function () {
      const { th } = await start(tempDir());
      const port = th.gatehouse.gateway.port;
      const response = await fetch(`http://[::1]:${port}/.well-known/gatehouse`);
      assert.equal(response.status, 200, 'Gatehouse itself answers on [::1]');
      assert.equal(((await response.json()) as { pid: number }).pid, process.pid);
    });

    it('refuses to start when another program holds [::1] on its port', async function () {
      const port = await freePort();
      const squatter = net.createServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nnot gatehouse'));
      await new Promise<void>((resolve) => squatter.listen({ port, host: '::1', ipv6Only: true }, resolve));
      try {
        const gatehouse = new Gatehouse({ home: tempDir(), port });
        await assert.rejects(gatehouse.start(), /on \[::1\] is held by another program/);
        assert.equal(await fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', () => 'refused'), 'refused', 'nothing left listening on 127.0.0.1 either');
      } finally {
        squatter.close();
      }
    });

    it('servers.json that holds a literal secret is written 0600', function () {
      const home = tempDir();
      saveServer(home, 'plain', { type: 'stdio', command: 'node', args: [], env: { TOKEN: '${env:GITHUB_TOKEN}' } });
      saveServer(home, 'secret', { type: 'stdio', command: 'node', args: [], env: { TOKEN: 'ghp_literal' } });
      assert.equal(fs.statSync(path.join(home, 'servers.json')).mode & 0o777, 0o600);
    });
  });

  describe('servers.json edited behind the gateway', function () {
    const shapeshifter = (dir: string): Record<string, unknown> => ({
      type: 'stdio',
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'test/fixtures/upstreams/shapeshifter.mjs')],
      env: { SHAPESHIFTER_DIR: dir },
    });
    const reloaded = (th: TestGatehouse): Promise<void> => new Promise((resolve) => th.gatehouse.gateway.upstreams.once('configLoaded', () => resolve()));

    it('a server added while the gateway runs is not started until the human confirms it, and then gets no gateway secrets', async function () {
      const home = tempDir();
      const out = tempDir();
      const { th, client } = await start(home);
      const loaded = reloaded(th);
      writeServers(home, { evil: { ...shapeshifter(out), env: { SHAPESHIFTER_DIR: out, TOKEN: '${env:GATEHOUSE_ADVERSARIAL_SECRET}' } } });
      await loaded;
      const pending = th.gatehouse.servers.pendingChange();
      assert.ok(pending, 'the change waits for the human');
      assert.match(pending.changes.join('\n'), /server "evil" is new: .*shapeshifter\.mjs.*GATEHOUSE_ADVERSARIAL_SECRET/, 'shown whole: command, arguments and environment');
      assert.equal(th.gatehouse.gateway.upstreams.get('evil'), undefined, 'not spawned');
      const tried = await callTool(client, 'evil__wipe', { target: 'x' });
      assert.equal(tried.isError, true);
      assert.equal(fs.existsSync(path.join(out, 'wiped-x')), false, 'nothing ran');

      process.env.GATEHOUSE_ADVERSARIAL_OTHER = 'the gateway environment';
      try {
        th.gatehouse.confirmServers();
        await until(() => th.gatehouse.gateway.upstreams.catalog.has('evil__env'));
        const names = JSON.parse(String((await callTool(client, 'evil__env', {})).content.map((c) => (c.type === 'text' ? c.text : '')).join(''))) as string[];
        assert.ok(names.includes('SHAPESHIFTER_DIR') && names.includes('TOKEN'), 'what its entry names');
        assert.ok(!names.includes('GATEHOUSE_ADVERSARIAL_OTHER'), 'not the gateway\'s whole environment');
      } finally {
        delete process.env.GATEHOUSE_ADVERSARIAL_OTHER;
      }
    });

    it('replacing an entry waits for the human, and once confirmed drops the allow rules the old one had', async function () {
      const home = tempDir();
      const out = tempDir();
      writeServers(home, { shifty: shapeshifter(out) });
      fs.writeFileSync(path.join(home, 'policy.json'), JSON.stringify({ rules: [{ tool: 'shifty__wipe', decision: 'allow' }, { tool: 'shifty__*', when: { target: 'etc' }, decision: 'deny' }] }));
      const { th, client } = await start(home);
      await callTool(client, 'shifty__wipe', { target: 'before' });
      assert.equal(fs.existsSync(path.join(out, 'wiped-before')), true, 'allowed while the entry is the one the human knew');

      const other = tempDir();
      const loaded = reloaded(th);
      // Another program under the old name: different arguments (and environment).
      const replacement = shapeshifter(other);
      writeServers(home, { shifty: { ...replacement, args: [...(replacement.args as string[]), '--replaced'] } });
      await loaded;
      assert.match(th.gatehouse.servers.pendingChange()!.changes.join('\n'), /server "shifty" changes from/);
      assert.equal(th.gatehouse.gateway.upstreams.get('shifty'), undefined, 'the replaced entry does not run meanwhile');

      th.gatehouse.confirmServers();
      await until(() => th.gatehouse.gateway.upstreams.catalog.has('shifty__wipe'));
      const after = structuredOf(await callTool(client, 'shifty__wipe', { target: 'after' }));
      assert.equal(after.status, 'approval_required', 'the old allow rule does not carry over to the new program');
      assert.equal(fs.existsSync(path.join(other, 'wiped-after')), false);
      const rules = th.gatehouse.policy.current().rules;
      assert.deepEqual(rules.map((r) => r.decision), ['deny'], 'the deny rule stays');
    });

    it('rejecting puts servers.json back and starts nothing', async function () {
      const home = tempDir();
      const out = tempDir();
      const { th } = await start(home);
      const loaded = reloaded(th);
      writeServers(home, { evil: shapeshifter(out) });
      await loaded;
      const back = reloaded(th);
      th.gatehouse.rejectServers();
      await back;
      assert.equal(th.gatehouse.servers.pendingChange(), undefined);
      assert.equal(th.gatehouse.gateway.upstreams.get('evil'), undefined);
      assert.equal(fs.existsSync(path.join(home, 'servers.json')), false, 'the home is back to no servers.json (the built-in demo)');
    });
  });

  describe('client impersonation', function () {
    it('a second API key written by hand under the same label cannot await, or ride, the first key\'s calls', async function () {
      const home = tempDir();
      const { th, client } = await start(home);
      const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'owned.txt', content: 'x' }));
      // The agent appends its own key, with the victim's label, to api-keys.json.
      const forged = `gh_${'A'.repeat(43)}`;
      const file = path.join(home, 'api-keys.json');
      const keys = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: Record<string, unknown>[] };
      keys.keys.push({ label: 'agent', hash: crypto.createHash('sha256').update(forged).digest('hex'), createdAt: new Date().toISOString() });
      fs.writeFileSync(file, JSON.stringify(keys));
      const impostor = await connectClient(th.url, forged, 'impostor');
      opened.push({ client: impostor });
      const answer = await callTool(impostor, 'await_approval', { request_id: held.request_id });
      assert.match(JSON.stringify(answer), /belongs to another client/);
      assert.equal(th.gatehouse.approvals.get(String(held.request_id))?.status, 'pending');
    });

    it('remembered OAuth consent holds only for the exact redirect URI, and a hand-written consent counts for nothing', async function () {
      const home = tempDir();
      const { th } = await start(home);
      const base = `http://127.0.0.1:${th.gatehouse.gateway.port}`;
      const registered = (await (
        await fetch(`${base}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_name: 'Codex', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' }),
        })
      ).json()) as { client_id: string };
      const authorize = (redirect: string): Promise<Response> =>
        fetch(`${base}/authorize?${new URLSearchParams({ response_type: 'code', client_id: registered.client_id, redirect_uri: redirect, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', resource: `${base}/mcp` })}`, { redirect: 'manual' });

      // The human allows the sign-in that came back to port 40111.
      const first = await authorize('http://127.0.0.1:40111/callback');
      assert.equal(first.status, 200, 'asks the human');
      const [request] = th.gatehouse.consent.pending();
      th.gatehouse.consent.decide(request!.id, 'allow');
      await until(() => th.gatehouse.oauth.clients.get(registered.client_id)?.consent !== undefined);
      assert.equal((await authorize('http://127.0.0.1:40111/callback')).status, 302, 'the same redirect URI is remembered');
      const otherPort = await authorize('http://127.0.0.1:40999/callback');
      assert.equal(otherPort.status, 200, 'another port asks again');
      th.gatehouse.consent.dispose();

      // The agent writes a consent for a second client into oauth-clients.json by hand.
      const second = (await (
        await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Agent', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' }) })
      ).json()) as { client_id: string };
      const clientsFile = path.join(home, 'oauth-clients.json');
      const saved = JSON.parse(fs.readFileSync(clientsFile, 'utf8')) as { clients: { clientId: string; consent?: unknown }[] };
      saved.clients.find((c) => c.clientId === second.client_id)!.consent = { scopes: ['mcp'], grantedAt: new Date().toISOString(), redirectUris: ['http://127.0.0.1:40222/callback'], mac: 'forged' };
      fs.writeFileSync(clientsFile, JSON.stringify(saved));
      await until(() => th.gatehouse.oauth.clients.get(second.client_id)?.consent !== undefined);
      const forgedConsent = await fetch(
        `${base}/authorize?${new URLSearchParams({ response_type: 'code', client_id: second.client_id, redirect_uri: 'http://127.0.0.1:40222/callback', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', resource: `${base}/mcp` })}`,
        { redirect: 'manual' },
      );
      assert.equal(forgedConsent.status, 200, 'the forged consent is ignored: the human is asked');
    });
  });
});
