/**
 * The "marker line" protocol between a test running in the extension host and the runner that
 * drives the browser. The extension host cannot touch the workbench DOM, so a test prints one
 * console line `MARKER + JSON(request)`; the runner sees it in the page console, performs the
 * action with Playwright, and writes `<ackDir>/<id>.json` (a `BrowserActionAck`), which the test
 * polls. Both sides run on this machine, so a file is the simplest reliable reply channel.
 */
export const MARKER = '@@gatehouse-harness ';

/**
 * Prefix of the suite's own output. The workbench relays extension-host console lines through
 * its log service without applying printf-style formatting and without saying where they came
 * from, so the suite formats each line itself and tags it for the runner to print.
 */
export const OUTPUT_MARKER = '@@gatehouse-out ';

export type BrowserAction =
  /** Click the button or link labelled `button` on the notification whose text contains `message`. */
  | { readonly kind: 'clickNotificationButton'; readonly message: string; readonly button: string }
  /** Read the text of every notification in the notification centre, top first (a JSON array). */
  | { readonly kind: 'notificationTexts' }
  /** Open another workbench tab on the same folder (another window, with its own extension host); acks its window number. */
  | { readonly kind: 'openWindow' }
  /** Wait until a notification whose text contains `message` is in the notification centre; reads its text. */
  | { readonly kind: 'findNotification'; readonly message: string }
  /** Save a PNG under `test-artifacts/vscode/<name>.png`; `part` limits it to one workbench part. */
  | { readonly kind: 'screenshot'; readonly name: string; readonly part?: WorkbenchPart }
  /** Type `text` into the open quick pick's filter and accept the first match with Enter. */
  | { readonly kind: 'quickPick'; readonly text: string }
  /** Read the text of the status bar item whose text contains `contains`. */
  | { readonly kind: 'statusBarText'; readonly contains: string }
  /** Read the accessible label (what a screen reader says) of the status bar item whose text contains `contains`. */
  | { readonly kind: 'statusBarLabel'; readonly contains: string }
  /**
   * Act inside the open webview (`iframe.webview.ready` › `#active-frame`) on the first element
   * that `selector` (a Playwright selector) matches, optionally only one containing `hasText`:
   * click it, fill it with `value`, press the key `value`, select the option `value`, or read its text.
   */
  /** Read every visible piece of text inside `selector` in the open webview (a JSON array of PaintedText). */
  | { readonly kind: 'webviewColours'; readonly selector: string }
  | { readonly kind: 'webview'; readonly action: 'click' | 'fill' | 'press' | 'select' | 'text'; readonly selector: string; readonly value?: string; readonly hasText?: string };

/**
 * One piece of text in the open webview as the browser paints it, for contrast checks: the
 * computed `color`, and from the element up to the root each element's computed
 * `background-color` and `opacity`, innermost first. `large` is WCAG's large text (24 px, or
 * 18.66 px bold); `inactive` marks disabled controls, which WCAG exempts.
 */
export interface PaintedText {
  readonly text: string;
  readonly selector: string;
  readonly color: string;
  readonly layers: ReadonlyArray<{ readonly background: string; readonly opacity: number }>;
  readonly large: boolean;
  readonly inactive: boolean;
}

export type WorkbenchPart = 'statusbar' | 'notifications' | 'workbench';

/** `window`: which workbench tab acts (0, the default, is the one running the suite). */
export type BrowserActionRequest = BrowserAction & { readonly id: string; readonly window?: number };

/** `value`: the screenshot's path, or the text read. */
export type BrowserActionAck = { readonly ok: true; readonly value?: string } | { readonly ok: false; readonly error: string };

/** The environment variable that carries the ack directory into the extension host. */
export const ACK_DIR_ENV = 'GATEHOUSE_HARNESS_ACK_DIR';
