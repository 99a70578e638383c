import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * Plays a browser against the approval pages with plain fetch: keeps the session cookie, sends
 * the `Origin` a same-origin form would send, and never follows redirects by itself.
 */
export class TestBrowser {
  cookie: string | undefined;
  /** What the pairing page put in this origin's localStorage. */
  decisionKey: string | undefined;

  constructor(readonly base: string) {}

  /** Opens a pairing link; on success the browser keeps the session cookie it sets. */
  async open(link: string): Promise<Response> {
    const response = await fetch(link, { redirect: 'manual' });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
    if (setCookie) this.cookie = setCookie.split(';')[0];
    if (response.status === 200) {
      const body = await response.clone().text();
      const stored = /localStorage\.setItem\("gatehouse\.decisionKey","([^"]+)"\)/.exec(body);
      if (stored) this.decisionKey = stored[1];
    }
    return response;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.base + path, { redirect: 'manual', headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...headers } });
  }

  /**
   * What a page's script puts in its forms' `csrf` field: the decision key from localStorage. The
   * page itself must offer the field and must not carry the key.
   */
  async csrfFrom(path: string): Promise<string> {
    const body = await (await this.get(path)).text();
    if (!/name="csrf" value=""/.test(body)) throw new Error(`no decision form on ${path}: ${body.slice(0, 300)}`);
    if (this.decisionKey && body.includes(this.decisionKey)) throw new Error(`${path} leaks the decision key`);
    if (!this.decisionKey) throw new Error('this browser was never paired');
    return this.decisionKey;
  }

  /** A form POST; `origin: null` sends no Origin header at all. */
  post(path: string, form: Record<string, string>, options: { origin?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
    const origin = options.origin === undefined ? this.base : options.origin;
    return fetch(this.base + path, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin === null ? {} : { origin }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...options.headers,
      },
      body: new URLSearchParams(form).toString(),
    });
  }
}

export function toolText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as CallToolResult;
}

export function structuredOf(result: CallToolResult): Record<string, unknown> {
  return (result.structuredContent ?? {}) as Record<string, unknown>;
}
