import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PanelBackend } from '../../src/editor/panel/panelBackend';
import { FieldValidationError, parseWebviewMessage, type HostToWebview } from '../../src/editor/panel/protocol';
import { connectClient, REPO_ROOT, startTestGatehouse, tempDir, type TestGatehouse } from '../helpers/gatewayHarness';
import { callTool, structuredOf } from '../helpers/pairedBrowser';

const CHROMIUM = '/usr/bin/chromium';
const READ_ONLY = new Set(['tryCall', 'history', 'importPreview', 'exportHistory', 'copy']);

/**
 * The panel's built webview (dist/webview.js) in Chromium, talking to the real PanelBackend over
 * the real core. VS Code itself is the one part left out: its webview host is stood in for by a
 * page that relays messages the way PolicyPanel does (ready → snapshot, request → reply, and a
 * snapshot after every change). The VS Code suite covers the real host.
 */
async function openPanel(context: BrowserContext, backend: PanelBackend): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const toWebview = (message: HostToWebview): Promise<void> => page.evaluate((m) => (globalThis as unknown as { postMessage(data: unknown, origin: string): void }).postMessage(m, '*'), message as never);
  await page.exposeFunction('gatehouseHost', async (raw: unknown) => {
    const message = parseWebviewMessage(raw);
    if (!message) return;
    if (message.type === 'ready') return toWebview({ type: 'notification', method: 'snapshot', params: backend.snapshot() });
    try {
      const result = await backend.handle(message.method, message.params as never);
      await toWebview({ type: 'reply', id: message.id, ok: true, result });
    } catch (error) {
      await toWebview(
        error instanceof FieldValidationError ? { type: 'reply', id: message.id, ok: false, error: error.message, fieldErrors: error.fieldErrors } : { type: 'reply', id: message.id, ok: false, error: String(error) },
      );
    }
    if (!READ_ONLY.has(message.method)) await toWebview({ type: 'notification', method: 'snapshot', params: backend.snapshot() });
  });
  const script = fs.readFileSync(path.join(REPO_ROOT, 'dist/webview.js'), 'utf8');
  // The panel's own stylesheet, so layout (the sticky toolbar, the folded arguments) is the real one.
  const css = fs.readFileSync(path.join(REPO_ROOT, 'dist/panel.css'), 'utf8');
  await page.setContent(`<!doctype html><html><head><style>${css.replace(/<\/style/gi, '<\\/style')}</style></head><body><div id="app"></div><script>
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.gatehouseHost(m), getState: () => undefined, setState: () => undefined });
  </script><script>${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`);
  (page as Page & { errors: string[] }).errors = errors;
  return page;
}

describe('the policy panel webview in Chromium, against the real panel backend', function () {
  this.timeout(120_000);
  let th: TestGatehouse;
  let client: Client;
  let context: BrowserContext;
  let backend: PanelBackend;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) execFileSync('bash', [path.join(REPO_ROOT, 'scripts/install-tools.sh'), 'chromium'], { stdio: 'inherit' });
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'esbuild.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
    th = await startTestGatehouse();
    client = await connectClient(th.url, th.key, 'codex');
    // The clipboard, the save dialog and the sign-in command belong to VS Code; this test uses none of them.
    backend = new PanelBackend({ home: th.home, gatehouse: () => th.gatehouse, gatewayMessage: () => 'running', editor: { copy: async () => undefined, saveFile: async () => undefined, signIn: async () => undefined }, userHome: tempDir(), env: {} });
    context = await chromium.launchPersistentContext(tempDir('chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async function () {
    await context?.close();
    await client?.close();
    await th?.close();
  });

  it('draws every tab from the snapshot without a script error', async function () {
    const page = await openPanel(context, backend);
    await page.locator('#tabpanel-pending').waitFor();
    for (const [tab, text] of [
      ['servers', 'write_note'],
      ['rules', 'Rules'],
      ['history', 'What happened'],
      ['clients', 'API keys'],
      ['pending', 'No calls are waiting'],
    ] as const) {
      await page.click(`#tab-${tab}`);
      await page.locator(`#tabpanel-${tab}`, { hasText: text }).waitFor({ timeout: 10_000 });
    }
    await page.keyboard.press('ArrowRight');
    await page.locator('#tab-servers[aria-selected="true"]').waitFor();
    assert.deepEqual((page as Page & { errors: string[] }).errors, []);
  });

  it('denies a held call with a reason typed in the Pending tab, capped at 500 characters, and the agent reads it', async function () {
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'panel.txt', content: 'x' }));
    const id = String(held.request_id);
    const page = await openPanel(context, backend);
    const card = page.locator(`li[data-request-id="${id}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: /More decisions/ }).click();
    await card.getByRole('menuitem', { name: /Deny with reason/ }).click();
    const input = page.locator(`#deny-reason-${id}`);
    assert.equal(await input.getAttribute('maxlength'), '500');
    await input.fill('use the staging notes instead');
    await page.getByRole('button', { name: 'Deny with this reason' }).click();
    const result = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
    assert.equal(result.status, 'denied');
    assert.equal(result.channel, 'editor');
    assert.match(JSON.stringify(result), /use the staging notes instead/);
    await page.locator('#tabpanel-pending', { hasText: 'No calls are waiting' }).waitFor({ timeout: 10_000 });
  });

  it('shows a compact card: one primary Approve, Deny, Approve with changes, and every other decision in a menu with the Details words', async function () {
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'compact.txt', content: 'x' }));
    const page = await openPanel(context, backend);
    const card = page.locator(`li[data-request-id="${String(held.request_id)}"]`);
    await card.waitFor();
    const actions = card.locator('.actions');
    assert.deepEqual((await actions.getByRole('button').allTextContents()).map((t) => t.trim()), ['Approve once', 'Deny', 'Approve with changes…', 'More']);
    assert.equal(await card.locator('pre.arguments').isVisible(), false, 'the arguments are folded to one summary line');
    const height = (await card.boundingBox())?.height ?? Infinity;
    assert.ok(height < 140, `a card without additional_info is at most a few lines high (${height} px; six equal buttons made it about 260)`);
    assert.match(await card.locator('summary').first().innerText(), /Arguments: .*compact\.txt/);
    await card.getByRole('button', { name: /More decisions/ }).click();
    assert.deepEqual((await card.getByRole('menuitem').allTextContents()).map((t) => t.trim()), [
      'Approve for this session',
      'Always allow these arguments',
      'Always allow this tool',
      'Approve with changes…',
      'Deny with reason…',
      'Always deny this tool',
    ]);
    await page.keyboard.press('Escape');
    await card.getByRole('menu').waitFor({ state: 'detached' });
    th.gatehouse.decide(String(held.request_id), { kind: 'deny', channel: 'test' });
  });

  it('approves with changes: a schema error shows under the JSON and decides nothing, then the edited call runs once and the agent is told', async function () {
    const held = structuredOf(await callTool(client, 'demo__write_note', { name: 'edit-me.txt', content: 'the agent wrote this' }));
    const id = String(held.request_id);
    const page = await openPanel(context, backend);
    const card = page.locator(`li[data-request-id="${id}"]`);
    await card.getByRole('button', { name: 'Approve with changes…' }).click();
    const editor = page.locator(`#edit-arguments-${id}`);
    assert.deepEqual(JSON.parse(await editor.inputValue()), { content: 'the agent wrote this', name: 'edit-me.txt' });
    await editor.fill('{"name": "edit-me.txt", "content": 5}');
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await page.locator(`#edit-arguments-${id}-error`, { hasText: 'content must be string' }).waitFor({ timeout: 10_000 });
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    assert.equal(th.gatehouse.approvals.get(id)?.status, 'pending');
    await editor.fill('{"name": "edit-me.txt", "content": "the human wrote this"}');
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    const result = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
    assert.equal(result.status, 'approved');
    assert.equal(result.arguments_changed, true);
    assert.deepEqual(result.arguments, { content: 'the human wrote this', name: 'edit-me.txt' });
    assert.equal(fs.readFileSync(path.join(th.home, 'demo', 'edit-me.txt'), 'utf8'), 'the human wrote this');
    await page.locator('.banner', { hasText: /with your changes/ }).waitFor({ timeout: 10_000 });
  });

  it('keeps the batch toolbar in view while the list scrolls, and denies the selected calls with one reason the agent reads', async function () {
    const ids: string[] = [];
    for (let index = 0; index < 8; index++) ids.push(String(structuredOf(await callTool(client, 'demo__write_note', { name: `batch-${index}.txt`, content: String(index) })).request_id));
    const page = await openPanel(context, backend);
    await page.setViewportSize({ width: 900, height: 500 });
    await page.locator(`li[data-request-id="${ids[7]}"]`).scrollIntoViewIfNeeded();
    assert.ok(await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY > 0), 'the list is longer than the window');
    const toolbar = page.getByRole('toolbar', { name: 'Decide the selected calls' });
    const box = await toolbar.boundingBox();
    assert.ok(box && box.y >= 0 && box.y < 5, `the toolbar sticks to the top (y = ${box?.y})`);
    await toolbar.getByLabel(/Select all/).check();
    await toolbar.getByRole('button', { name: /Deny 8 with reason/ }).click();
    await page.locator('#batch-deny-reason').fill('one batch too many');
    await toolbar.getByRole('button', { name: 'Deny 8 with this reason' }).click();
    for (const id of ids) {
      const result = structuredOf(await callTool(client, 'await_approval', { request_id: id }));
      assert.equal(result.status, 'denied');
      assert.equal(result.reason, 'one batch too many');
    }
  });

  it('saves a rule from the Rules form: a field error first, shown next to the field, then the rule in policy.json', async function () {
    const page = await openPanel(context, backend);
    await page.click('#tab-rules');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.fill('#rule-tool', '');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.locator('#rule-tool-error').waitFor();
    assert.equal(await page.getAttribute('#rule-tool', 'aria-invalid'), 'true');
    await page.fill('#rule-tool', 'demo__echo');
    await page.selectOption('#rule-decision', 'deny');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.locator('.banner', { hasText: /Saved rule/ }).waitFor({ timeout: 10_000 });
    const policy = JSON.parse(fs.readFileSync(path.join(th.home, 'policy.json'), 'utf8')) as { rules: { tool: string; decision: string }[] };
    assert.deepEqual(policy.rules.map((rule) => [rule.tool, rule.decision]), [['demo__echo', 'deny']]);
  });
});
