import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { BrowserPairing, PAIRING_LINK_TTL_MS } from '../../src/core/approvals/pairing';
import { connectClient, rawRequest, startTestGatehouse, type TestGatehouse } from '../helpers/gatewayHarness';
import { answerConsent, browseAuthorization, pkcePair } from '../helpers/oauthTestKit';
import { TestBrowser, callTool, structuredOf } from '../helpers/pairedBrowser';

/**
 * Everything an agent can do with curl and the files it can read must fail to decide its own held
 * call. Each case ends by checking the request is still
 * pending, both in the queue and as the agent's own await_approval sees it.
 */
describe('self-approval attempts: all fail and leave the request pending', function () {
  let th: TestGatehouse;
  let client: Client;
  let base: string;
  let clock: number;
  let requestId: string;

  beforeEach(async function () {
    clock = Date.now();
    th = await startTestGatehouse({ pairing: new BrowserPairing({ now: () => clock }) });
    client = await connectClient(th.url, th.key, 'self-approver');
    base = `http://127.0.0.1:${th.gatehouse.gateway.port}`;
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'self.txt', content: 'I approved myself' }));
    assert.equal(held.status, 'approval_required');
    requestId = String(held.request_id);
  });

  afterEach(async function () {
    assert.equal(th.gatehouse.approvals.get(requestId)?.status, 'pending', 'the request is still pending');
    assert.equal(th.gatehouse.approvals.get(requestId)?.decision, undefined);
    th.gatehouse.awaitWindowMs = 50;
    assert.equal(structuredOf(await callTool(client, 'await_approval', { request_id: requestId })).status, 'pending');
    assert.equal(fs.existsSync(path.join(th.home, 'demo', 'self.txt')), false, 'the call never ran');
    await client.close();
    await th.close();
  });

  async function paired(): Promise<TestBrowser> {
    const browser = new TestBrowser(base);
    assert.equal((await browser.open(th.gatehouse.createPairingLink())).status, 200);
    assert.ok(browser.cookie);
    return browser;
  }

  const approve = (csrf = 'x'): Record<string, string> => ({ csrf, decision: 'once' });

  it('GET on the approval URL without pairing shows no way to decide', async function () {
    const response = await fetch(`${base}/approvals/${requestId}`);
    assert.equal(response.status, 200);
    const body = await response.text();
    assert.doesNotMatch(body, /<form|name="csrf"/);
    assert.equal(response.headers.getSetCookie().length, 0, 'viewing the page pairs nothing');
  });

  it('GET on the decide URL, with the decision in the query, does nothing', async function () {
    const response = await fetch(`${base}/approvals/${requestId}/decide?decision=once`, { redirect: 'manual' });
    assert.equal(response.status, 404);
  });

  it('POST on the approval URL without pairing is refused', async function () {
    const response = await new TestBrowser(base).post(`/approvals/${requestId}/decide`, approve());
    assert.equal(response.status, 403);
    assert.match(await response.text(), /not paired/);
  });

  it('POST with a wrong CSRF token is refused, even from a paired browser', async function () {
    const browser = await paired();
    const right = await browser.csrfFrom(`/approvals/${requestId}`);
    for (const csrf of ['', 'wrong', right.slice(0, -1), `${right}x`]) {
      const response = await browser.post(`/approvals/${requestId}/decide`, approve(csrf));
      assert.equal(response.status, 403, `csrf "${csrf}"`);
    }
    const missing = await browser.post(`/approvals/${requestId}/decide`, { decision: 'once' });
    assert.equal(missing.status, 403);
  });

  it('POST with a foreign Origin is refused, loopback or not', async function () {
    const browser = await paired();
    const csrf = await browser.csrfFrom(`/approvals/${requestId}`);
    for (const origin of ['http://127.0.0.1:1', `http://localhost:${th.gatehouse.gateway.port}`, 'https://evil.example', 'null']) {
      const response = await browser.post(`/approvals/${requestId}/decide`, approve(csrf), { origin });
      assert.equal(response.status, 403, origin);
    }
  });

  it('POST without an Origin header is refused', async function () {
    const browser = await paired();
    const csrf = await browser.csrfFrom(`/approvals/${requestId}`);
    const response = await rawRequest(th.gatehouse.gateway.port, {
      method: 'POST',
      path: `/approvals/${requestId}/decide`,
      headers: { cookie: browser.cookie!, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(approve(csrf)).toString(),
    });
    assert.equal(response.status, 403);
    assert.match(response.body, /Cross-origin request refused/);
  });

  it('a reused pairing link pairs nothing', async function () {
    const link = th.gatehouse.createPairingLink();
    const human = new TestBrowser(base);
    assert.equal((await human.open(link)).status, 200);
    const agent = new TestBrowser(base);
    const reused = await agent.open(link);
    assert.equal(reused.status, 403);
    assert.match(await reused.text(), /already used/);
    assert.equal(agent.cookie, undefined);
    assert.doesNotMatch(await (await agent.get(`/approvals/${requestId}`)).text(), /name="csrf"/);
    const response = await agent.post(`/approvals/${requestId}/decide`, approve());
    assert.equal(response.status, 403);
  });

  it('an expired pairing link pairs nothing', async function () {
    const link = th.gatehouse.createPairingLink();
    clock += PAIRING_LINK_TTL_MS + 1;
    const browser = new TestBrowser(base);
    const response = await browser.open(link);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /expired/);
    assert.equal(browser.cookie, undefined);
    assert.equal((await browser.post(`/approvals/${requestId}/decide`, approve())).status, 403);
  });

  it('a made-up pairing token pairs nothing', async function () {
    const browser = new TestBrowser(base);
    assert.equal((await browser.open(`${base}/pair/${'A'.repeat(43)}`)).status, 403);
    assert.equal(browser.cookie, undefined);
  });

  it('the MCP API key, as Bearer or X-API-Key, does not count as pairing', async function () {
    const keyHeaders: Record<string, string>[] = [{ authorization: `Bearer ${th.key}` }, { 'x-api-key': th.key }];
    for (const headers of keyHeaders) {
      const browser = new TestBrowser(base);
      const page = await (await browser.get(`/approvals/${requestId}`, headers)).text();
      assert.doesNotMatch(page, /name="csrf"/);
      assert.match(await (await browser.get('/approvals', headers)).text(), /not paired/);
      const response = await browser.post(`/approvals/${requestId}/decide`, approve(), { headers });
      assert.equal(response.status, 403);
    }
  });

  it('an OAuth access token does not count as pairing', async function () {
    const consent = answerConsent(th.gatehouse.consent, 'allow');
    const redirect = 'http://127.0.0.1:40777/callback';
    const registered = (await (
      await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Sneaky', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }) })
    ).json()) as { client_id: string };
    const { verifier, challenge } = pkcePair();
    const query = new URLSearchParams({ response_type: 'code', client_id: registered.client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: `${base}/mcp` });
    const code = (await browseAuthorization(`${base}/authorize?${query}`)).searchParams.get('code')!;
    consent.stop();
    const token = (await (
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: registered.client_id }),
      })
    ).json()) as { access_token: string };
    assert.ok(token.access_token);
    const headers = { authorization: `Bearer ${token.access_token}` };
    const browser = new TestBrowser(base);
    assert.doesNotMatch(await (await browser.get(`/approvals/${requestId}`, headers)).text(), /name="csrf"/);
    assert.equal((await browser.post(`/approvals/${requestId}/decide`, approve(), { headers })).status, 403);
  });

  it('a paired session cookie alone, as a server on another loopback port would receive it, cannot decide', async function () {
    // Browsers send 127.0.0.1 cookies to every port, so a local server the agent runs could see the
    // human's session cookie. It can read every page with it, and forge any Origin server-side, but
    // the decision key lives only in the Gatehouse origin's localStorage.
    const human = await paired();
    const thief = new TestBrowser(base);
    thief.cookie = human.cookie;
    const pages = await Promise.all([`/approvals`, `/approvals/${requestId}`, '/consent'].map(async (p) => (await thief.get(p)).text()));
    for (const page of pages) assert.ok(!page.includes(human.decisionKey!), 'no page carries the decision key');
    const guessed = /name="csrf" value="([^"]*)"/.exec(pages[1])?.[1] ?? '';
    assert.equal(guessed, '', 'the decision forms are empty until the page script fills them');
    for (const csrf of [guessed, 'x', human.cookie!.split('=')[1]!]) {
      assert.equal((await thief.post(`/approvals/${requestId}/decide`, approve(csrf))).status, 403);
    }
  });

  it('a forged session cookie is refused', async function () {
    const human = await paired();
    const csrf = await human.csrfFrom(`/approvals/${requestId}`);
    const forger = new TestBrowser(base);
    for (const cookie of ['gatehouse_session=forged', `gatehouse_session=${'A'.repeat(43)}`, `gatehouse_session=${human.cookie!.split('=')[1]!.slice(0, -1)}`]) {
      forger.cookie = cookie;
      const response = await forger.post(`/approvals/${requestId}/decide`, approve(csrf));
      assert.equal(response.status, 403, cookie);
    }
  });

  it('OAuth consent cannot be decided without pairing either', async function () {
    const redirect = 'http://127.0.0.1:40778/callback';
    const registered = (await (
      await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Self-consenting', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }) })
    ).json()) as { client_id: string };
    const query = new URLSearchParams({ response_type: 'code', client_id: registered.client_id, redirect_uri: redirect, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 's', resource: `${base}/mcp` });
    assert.equal((await fetch(`${base}/authorize?${query}`, { redirect: 'manual' })).status, 200);
    const [pending] = th.gatehouse.consent.pending();
    const agent = new TestBrowser(base);
    assert.match(await (await agent.get('/consent', { authorization: `Bearer ${th.key}` })).text(), /not paired/);
    const response = await agent.post(`/consent/${pending!.id}`, { csrf: 'x', decision: 'allow' }, { headers: { authorization: `Bearer ${th.key}` } });
    assert.equal(response.status, 403);
    assert.equal(th.gatehouse.consent.pending().length, 1, 'the sign-in is still waiting for the human');
  });

  it('keeps pairing secrets out of GATEHOUSE_HOME, where an agent could read them', async function () {
    const link = th.gatehouse.createPairingLink();
    const token = link.split('/pair/')[1]!;
    const browser = new TestBrowser(base);
    await browser.open(th.gatehouse.createPairingLink());
    const session = browser.cookie!.split('=')[1]!;
    const csrf = await browser.csrfFrom(`/approvals/${requestId}`);
    const files = fs.readdirSync(th.home, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(files.length > 0);
    for (const file of files) {
      const content = fs.readFileSync(path.join(file.parentPath ?? (file as unknown as { path: string }).path, file.name), 'utf8');
      for (const secret of [token, session, csrf]) assert.ok(!content.includes(secret), `a pairing secret in ${file.name}`);
    }
  });
});
