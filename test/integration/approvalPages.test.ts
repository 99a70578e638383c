import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, startTestGatehouse, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { pkcePair } from '../helpers/oauthTestKit';
import { TestBrowser, callTool, structuredOf, toolText } from '../helpers/pairedBrowser';

describe('approval pages: a paired browser decides', function () {
  let th: TestGatehouse;
  let client: Client;
  let base: string;

  beforeEach(async function () {
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'codex-test');
    base = `http://127.0.0.1:${th.gatehouse.gateway.port}`;
  });
  afterEach(async function () {
    await client.close();
    await th.close();
  });

  async function pairedBrowser(): Promise<TestBrowser> {
    const browser = new TestBrowser(base);
    const response = await browser.open(th.gatehouse.createPairingLink());
    assert.equal(response.status, 200);
    assert.ok(browser.decisionKey, 'the pairing page hands the decision key to localStorage');
    return browser;
  }

  it('pairs with a one-time link that sets an HttpOnly, SameSite=Strict session cookie', async function () {
    const link = th.gatehouse.createPairingLink();
    assert.match(link, new RegExp(`^${base}/pair/[A-Za-z0-9_-]{43}$`));
    const response = await fetch(link, { redirect: 'manual' });
    assert.equal(response.status, 200);
    const page = await response.text();
    assert.match(page, /localStorage\.setItem\("gatehouse\.decisionKey","[A-Za-z0-9_-]{43}"\);location\.replace\('\/approvals'\)/);
    assert.match(String(response.headers.get('content-security-policy')), /script-src 'nonce-/);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='))!;
    assert.ok(cookie, 'a session cookie is set');
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/i, 'loopback http: a Secure cookie would never come back');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('referrer-policy'), 'same-origin');
  });

  it('approve once from a paired browser: await_approval returns the real result and the note holds exactly the approved content', async function () {
    const browser = await pairedBrowser();
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'browser.txt', content: 'approved in a browser', additional_info: 'Saving what you asked for' }));
    const id = String(held.request_id);
    const approvalUrl = new URL(String(held.approval_url));
    const waiting = callTool(client, 'await_approval', { request_id: id });

    const list = await (await browser.get('/approvals')).text();
    assert.match(list, new RegExp(`href="/approvals/${id}"`));
    const page = await browser.get(approvalUrl.pathname);
    assert.equal(page.status, 200);
    const body = await page.text();
    assert.match(body, /test wants to run demo › write_note/, 'who asks (the API key label) and what');
    assert.match(body, /Saving what you asked for/);
    assert.match(body, /&quot;content&quot;: &quot;approved in a browser&quot;/, 'pretty-printed, escaped arguments');
    assert.match(body, /Approve once/);
    assert.match(body, /id="countdown"/);

    assert.match(body, /name="csrf" value=""/, 'the form field is filled by the page script from localStorage');
    const csrf = browser.decisionKey!;
    await until(() => th.gatehouse.approvals.waitingCount() > 0);
    const decided = await browser.post(`/approvals/${id}/decide`, { csrf, decision: 'once' });
    assert.equal(decided.status, 303);
    assert.equal(decided.headers.get('location'), `/approvals/${id}`);

    const result = await waiting;
    const s = structuredOf(result);
    assert.equal(s.status, 'approved');
    assert.equal(s.channel, 'browser');
    assert.match(toolText(result), /\(browser\)/);
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'browser.txt'), 'utf8'), 'approved in a browser');

    const after = await (await browser.get(`/approvals/${id}`)).text();
    assert.match(after, /class="status approved"/);
    assert.match(after, /Approved \(once\) via browser/);
    assert.doesNotMatch(after, /Approve once/, 'no forms once decided');
  });

  it('deny with a reason from a paired browser reaches the agent', async function () {
    const browser = await pairedBrowser();
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'no.txt', content: 'x' }));
    const id = String(held.request_id);
    const csrf = await browser.csrfFrom(`/approvals/${id}`);
    const decided = await browser.post(`/approvals/${id}/decide`, { csrf, decision: 'deny_reason', reason: 'use the staging notes' });
    assert.equal(decided.status, 303);
    const s = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
    assert.equal(s.status, 'denied');
    assert.equal(s.reason, 'use the staging notes');
    assert.equal(fs.existsSync(path.join(th.home, 'demo', 'no.txt')), false);
  });

  it('approve with changes from a paired browser: bad JSON and a schema error decide nothing, then the edited call runs and the agent is told', async function () {
    const browser = await pairedBrowser();
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'page-draft.txt', content: 'agent text' }));
    const id = String(held.request_id);
    const page = await (await browser.get(`/approvals/${id}`)).text();
    assert.match(page, /<textarea id="edited-arguments" name="arguments"[^>]*>\{\n {2}&quot;content&quot;: &quot;agent text&quot;/, 'the editor starts from the agent\'s arguments, escaped');
    assert.doesNotMatch(await (await fetch(`${th.url.replace(/\/mcp$/, '')}/approvals/${id}`)).text(), /edited-arguments/, 'an unpaired browser gets no editor');
    const csrf = await browser.csrfFrom(`/approvals/${id}`);
    const badJson = await browser.post(`/approvals/${id}/decide`, { csrf, decision: 'edit', arguments: '{"name": ' });
    assert.equal(badJson.status, 409);
    assert.match(await badJson.text(), /not valid JSON.*Nothing was decided/s);
    const badSchema = await browser.post(`/approvals/${id}/decide`, { csrf, decision: 'edit', arguments: '{"name": "page.txt", "content": 1}' });
    assert.equal(badSchema.status, 409);
    assert.match(await badSchema.text(), /write_note does not accept these arguments: content must be string/);
    assert.equal(th.gatehouse.approvals.get(id)?.status, 'pending');
    const decided = await browser.post(`/approvals/${id}/decide`, { csrf, decision: 'edit', arguments: '{"name": "page-final.txt", "content": "human text"}' });
    assert.equal(decided.status, 303);
    const s = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
    assert.equal(s.arguments_changed, true);
    assert.equal(s.channel, 'browser');
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'page-final.txt'), 'utf8'), 'human text');
    assert.equal(fs.existsSync(path.join(th.home, 'demo', 'page-draft.txt')), false);
    assert.match(await (await browser.get(`/approvals/${id}`)).text(), /with changed arguments/);
  });

  it('"always allow this tool" from the browser writes a rule, so the next call runs at once', async function () {
    const browser = await pairedBrowser();
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'a.txt', content: 'a' }));
    const csrf = await browser.csrfFrom(`/approvals/${held.request_id}`);
    assert.equal((await browser.post(`/approvals/${held.request_id}/decide`, { csrf, decision: 'tool' })).status, 303);
    assert.equal(structuredOf(await callTool(client, 'await_approval', { request_id: held.request_id })).status, 'approved');
    const next = await callTool(client, 'demo__write_note', { name: 'b.txt', content: 'b' });
    assert.notEqual(structuredOf(next).status, 'approval_required');
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'b.txt'), 'utf8'), 'b');
  });

  it('escapes hostile arguments and sends a strict CSP, no framing, no caching, no referrer', async function () {
    const hostile = '</pre><script>alert(1)</script><img src=x onerror=alert(2)>';
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'x"><script>.txt', content: hostile, additional_info: '<b>trust me</b>' }));
    for (const browser of [new TestBrowser(base), await pairedBrowser()]) {
      const response = await browser.get(`/approvals/${held.request_id}`);
      assert.equal(response.status, 200);
      const body = await response.text();
      assert.doesNotMatch(body, /<script>alert/);
      assert.doesNotMatch(body, /<img src=x/);
      assert.doesNotMatch(body, /<b>trust me/);
      assert.match(body, /&lt;\/pre&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'shown as text');
      const scripts = body.match(/<script[^>]*>/g) ?? [];
      assert.equal(scripts.length, 1, 'only the countdown script');
      const csp = response.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, `a nonce'd script-src in ${csp}`);
      assert.equal(scripts[0], `<script nonce="${nonce}">`);
      for (const directive of ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
      assert.doesNotMatch(csp, /https?:|\*/, 'no external sources');
      assert.doesNotMatch(body, /(src|href)="(https?:)?\/\//, 'no external assets');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('referrer-policy'), 'same-origin');
    }
  });

  it('shows an unpaired browser a read-only page that explains how to decide', async function () {
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'ro.txt', content: 'x' }));
    const body = await (await new TestBrowser(base).get(`/approvals/${held.request_id}`)).text();
    assert.match(body, /demo › write_note/);
    assert.doesNotMatch(body, /<form/);
    assert.doesNotMatch(body, /name="csrf"/);
    assert.match(body, /<dt>Expires<\/dt><dd><time datetime="\d{4}-\d\d-\d\dT[^"]+Z">/, 'times are marked up for the script that shows them in local time');
    assert.match(body, /Approve in your editor's notification, in the <code>gatehouse serve<\/code> terminal, or pair this browser from the editor with <strong>Gatehouse: Pair Browser<\/strong>/);
    const list = await (await new TestBrowser(base).get('/approvals')).text();
    assert.match(list, /not paired/);
    assert.doesNotMatch(list, new RegExp(String(held.request_id)), 'an unpaired browser learns nothing about pending requests');
  });

  it('answers an unknown request id with a 404 page', async function () {
    const response = await new TestBrowser(base).get('/approvals/apr_nothing');
    assert.equal(response.status, 404);
    assert.match(await response.text(), /not found/);
  });

  it('lets a paired browser allow an OAuth sign-in, which unblocks /authorize', async function () {
    const browser = await pairedBrowser();
    const redirect = 'http://127.0.0.1:40123/callback';
    const registered = await fetch(`${base}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Headless Codex', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }),
    });
    assert.equal(registered.status, 201);
    const { client_id } = (await registered.json()) as { client_id: string };
    const { challenge } = pkcePair();
    const params = new URLSearchParams({ response_type: 'code', client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 'st-9', resource: `${base}/mcp` });
    const authorize = await fetch(`${base}/authorize?${params}`, { redirect: 'manual' });
    assert.equal(authorize.status, 200);
    const waitUrl = /http-equiv="refresh" content="\d+;url=([^"]+)"/.exec(await authorize.text())![1]!.replace(/&amp;/g, '&');

    assert.equal(th.gatehouse.consent.pending().length, 1);
    const consentPage = await browser.get('/consent');
    const consentBody = await consentPage.text();
    assert.match(consentBody, /Headless Codex/);
    assert.match(consentBody, /127\.0\.0\.1:40123/);
    const [consentRequest] = th.gatehouse.consent.pending();
    assert.match(consentBody, /name="csrf" value=""/);
    const csrf = browser.decisionKey!;
    assert.ok(consentBody.includes(`action="/consent/${consentRequest!.id}"`));
    const decided = await browser.post(`/consent/${consentRequest!.id}`, { csrf, decision: 'allow' });
    assert.equal(decided.status, 303);
    assert.equal(decided.headers.get('location'), '/consent');

    let callback: URL | undefined;
    await until(async () => {
      const response = await fetch(base + waitUrl, { redirect: 'manual' });
      if (response.status === 302) callback = new URL(response.headers.get('location')!);
      return response.status !== 200;
    });
    assert.equal(`${callback!.origin}${callback!.pathname}`, redirect);
    assert.ok(callback!.searchParams.get('code'), 'the sign-in continues with an authorization code');
    assert.equal(callback!.searchParams.get('state'), 'st-9');
    const secondCsrfPage = await (await browser.get('/consent')).text();
    assert.match(secondCsrfPage, /No client is asking to connect/);
  });
});
