import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import * as assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import { ApiKeyStore } from '../../../src/core/auth/apiKeys';
import type { GatehouseApi } from '../../../src/extension';
import { ACK_DIR_ENV, MARKER, OUTPUT_MARKER } from '../protocol';
import type { BrowserAction, BrowserActionAck, PaintedText, WorkbenchPart } from '../protocol';

let sequence = 0;

/** Asks the runner to act in the browser and waits for its acknowledgement. */
export async function requestBrowserAction(action: BrowserAction & { readonly window?: number }, timeoutMs = 20_000): Promise<string | undefined> {
  const ackDir = process.env[ACK_DIR_ENV];
  if (!ackDir) throw new Error(`${ACK_DIR_ENV} is not set: run this suite through test/vscode/run.ts`);
  const id = `${process.pid}-${++sequence}`;
  const ackFile = path.join(ackDir, `${id}.json`);
  console.log(MARKER + JSON.stringify({ ...action, id }));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(ackFile)) {
      const ack = JSON.parse(fs.readFileSync(ackFile, 'utf8')) as BrowserActionAck;
      if (!ack.ok) throw new Error(`The runner could not ${action.kind}: ${ack.error}`);
      return ack.value;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`The runner did not acknowledge ${action.kind} within ${timeoutMs} ms`);
}

/** Clicks a button on the notification whose text contains `message`, in the notification centre. */
export async function clickNotificationButton(message: string, button: string, window?: number): Promise<void> {
  await requestBrowserAction({ kind: 'clickNotificationButton', message, button, window });
}

/** The text of every notification in the notification centre, top first. */
export async function notificationTexts(window?: number): Promise<string[]> {
  return JSON.parse((await requestBrowserAction({ kind: 'notificationTexts', window })) ?? '[]') as string[];
}

/** Opens another VS Code window (a second workbench tab) and returns its number for `window` arguments. */
export async function openWindow(): Promise<number> {
  return Number(await requestBrowserAction({ kind: 'openWindow' }, 90_000));
}

/** Waits for a notification whose text contains `message` and returns its text. */
export async function findNotification(message: string, window?: number): Promise<string> {
  return (await requestBrowserAction({ kind: 'findNotification', message, window })) ?? '';
}

/** Filters the open quick pick by `text` and accepts the first match. */
export async function pickQuickPickItem(text: string): Promise<void> {
  await requestBrowserAction({ kind: 'quickPick', text });
}

/** The text of the status bar item that contains `contains` (codicons read as nothing). */
export async function readStatusBarText(contains: string, window?: number): Promise<string> {
  return (await requestBrowserAction({ kind: 'statusBarText', contains, window })) ?? '';
}

/** What a screen reader says for the status bar item that contains `contains`. */
export async function readStatusBarLabel(contains: string): Promise<string> {
  return (await requestBrowserAction({ kind: 'statusBarLabel', contains })) ?? '';
}

/** Saves `test-artifacts/vscode/<name>.png` and returns its path. */
export async function takeScreenshot(name: string, part?: WorkbenchPart): Promise<string> {
  const file = await requestBrowserAction({ kind: 'screenshot', name, part });
  return file ?? '';
}

/** Prints a line in the runner's output (plain console.log only reaches the workbench log). */
export function report(...args: unknown[]): void {
  console.log(OUTPUT_MARKER + format(...args));
}

/** Acts inside the open webview; see the `webview` action in protocol.ts. Returns the text read. */
export async function inWebview(action: 'click' | 'fill' | 'press' | 'select' | 'text', selector: string, options: { value?: string; hasText?: string } = {}): Promise<string> {
  return (await requestBrowserAction({ kind: 'webview', action, selector, ...options })) ?? '';
}

/** Activates the extension and waits for its gateway; the runner gives the host a temporary GATEHOUSE_HOME. */
export async function runningGateway(): Promise<{ readonly url: string; readonly home: string }> {
  const api = await vscode.extensions.getExtension<GatehouseApi>('gatehouse.gatehouse')!.activate();
  const gateway = await api.gatewayReady;
  assert.equal(gateway.kind, 'running');
  const home = process.env.GATEHOUSE_HOME ?? assert.fail('GATEHOUSE_HOME is not set');
  return { url: gateway.url, home };
}

/** A real SDK client on the gateway, with an API key of its own (its label is what notifications show). */
export async function connectWithKey(url: string, key: string, name: string): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

export function createKey(home: string, label: string): string {
  return new ApiKeyStore(home).create(label);
}

/** Status bar updates cross from the extension host to the workbench; give them a moment. */
export async function statusBarEventually(pattern: RegExp): Promise<string> {
  let text = '';
  for (let attempt = 0; attempt < 25; attempt++) {
    text = await readStatusBarText('Gatehouse');
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`status bar reads "${text}", expected ${pattern}`);
}

/** Every visible piece of text inside `selector` in the open webview, with the colours it is painted in. */
export async function webviewPaintedText(selector = 'body'): Promise<PaintedText[]> {
  return JSON.parse((await requestBrowserAction({ kind: 'webviewColours', selector })) ?? '[]') as PaintedText[];
}

type Rgba = readonly [number, number, number, number];

function parseColour(css: string): Rgba {
  if (css === 'transparent') return [0, 0, 0, 0];
  const match = /^rgba?\(([^)]+)\)$/.exec(css.trim());
  if (!match) throw new Error(`cannot read the colour "${css}"`);
  const parts = match[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return [parts[0], parts[1], parts[2], parts[3] ?? 1];
}

/** `top` painted over the opaque `bottom` with alpha `alpha`. */
function over(top: Rgba, alpha: number, bottom: Rgba): Rgba {
  return [0, 1, 2].map((i) => top[i] * alpha + bottom[i] * (1 - alpha)).concat(1) as unknown as Rgba;
}

function luminance([r, g, b]: Rgba): number {
  const channel = (value: number): number => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/**
 * The WCAG 2 contrast ratio of painted text: the backgrounds from the page down to the text's
 * element composited in order (each with its alpha and the opacity of it and its ancestors),
 * then the text colour over that.
 */
export function contrastRatio(painted: PaintedText): number {
  const opacityFrom = (index: number): number => painted.layers.slice(index).reduce((product, layer) => product * layer.opacity, 1);
  let background: Rgba = [255, 255, 255, 1];
  for (let index = painted.layers.length - 1; index >= 0; index--) {
    const layer = parseColour(painted.layers[index].background);
    background = over(layer, layer[3] * opacityFrom(index), background);
  }
  const text = parseColour(painted.color);
  const foreground = over(text, text[3] * opacityFrom(0), background);
  const [lighter, darker] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
  return (lighter + 0.05) / (darker + 0.05);
}
