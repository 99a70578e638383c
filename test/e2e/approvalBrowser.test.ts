import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { chromium, type BrowserContext } from 'playwright-core';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, until, type TestGatehouse } from '../helpers/gatewayHarness';
import { callTool, structuredOf } from '../helpers/pairedBrowser';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

describe('approval page in a real browser (Debian Chromium)', function () {
  this.timeout(120_000);
  let th: TestGatehouse;
  let client: Client;
  let context: BrowserContext;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) execFileSync('bash', [path.join(REPO_ROOT, 'scripts/install-tools.sh'), 'chromium'], { stdio: 'inherit' });
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'codex');
    context = await chromium.launchPersistentContext(tempDir('chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async function () {
    await context?.close();
    await client?.close();
    await th?.close();
  });

  it('pairs from a one-time link, then approves a held call with a click, and the agent gets the result', async function () {
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'browser.txt', content: 'clicked in Chromium', additional_info: 'Writing the note you asked for' }));
    const page = await context.newPage();
    await page.goto(String(held.approval_url), { timeout: 15_000 });
    assert.match(await page.content(), /This page is read-only/, 'unpaired, the page only explains how to decide');
    // Times in the reader's own zone, as the browser formats them, with the ISO text in the tooltip.
    const expires = await page.locator('time').last().evaluate((el) => ({ shown: el.textContent ?? '', iso: el.getAttribute('datetime') ?? '' }));
    assert.equal(expires.shown, await page.evaluate((iso) => new Date(iso).toLocaleString(), expires.iso));
    assert.notEqual(expires.shown, expires.iso);

    await page.goto(th.gatehouse.createPairingLink(), { timeout: 15_000 });
    await page.waitForURL(/\/approvals$/, { timeout: 15_000 });
    await page.goto(String(held.approval_url), { timeout: 15_000 });
    assert.match(await page.textContent('body', { timeout: 5_000 }) ?? '', /codex|test/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'approval-page.png'), fullPage: true });

    const waiting = callTool(client, 'await_approval', { request_id: held.request_id });
    await until(() => th.gatehouse.approvals.waitingCount() > 0);
    await page.click('button[value="once"]', { timeout: 10_000 });
    await page.waitForLoadState('load', { timeout: 10_000 });
    const after = (await page.textContent('body', { timeout: 5_000 })) ?? '';
    assert.match(after, /Approved/, after);
    const result = structuredOf(await waiting);
    assert.equal(result.status, 'approved');
    assert.equal(result.channel, 'browser');
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'browser.txt'), 'utf8'), 'clicked in Chromium');
  });

  it('keeps the decision key away from a page on another loopback port', async function () {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${th.gatehouse.gateway.port}/approvals`, { timeout: 15_000 });
    const key = await page.evaluate("localStorage.getItem('gatehouse.decisionKey')");
    assert.ok(key, 'the Gatehouse origin holds the key');
    const other = await context.newPage();
    await other.goto(`http://localhost:${th.gatehouse.gateway.port}/approvals`, { timeout: 15_000 });
    assert.equal(await other.evaluate("localStorage.getItem('gatehouse.decisionKey')"), null, 'another origin sees no key');
  });
});
