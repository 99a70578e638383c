import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * Plays a browser against the approval pages with plain fetch: keeps the session cookie, sends
 * the `Origin` a same-origin form would send, and never follows redirects by itself.
 */
export class TestBrowser {
  cookie: string | undefined;

  constructor(readonly base: string) {}

  /** Opens a pairing link; on success the browser keeps the session cookie it sets. */
  async open(link: string): Promise<Response> {
    const response = await fetch(link, { redirect: 'manual' });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
    if (setCookie) this.cookie = setCookie.split(';')[0];
    return response;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.base + path, { redirect: 'manual', headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...headers } });
  }

  /** The CSRF token embedded in a page's forms. */
  async csrfFrom(path: string): Promise<string> {
    const body = await (await this.get(path)).text();
    const match = /name="csrf" value="([^"]+)"/.exec(body);
    if (!match) throw new Error(`no CSRF field on ${path}: ${body.slice(0, 300)}`);
    return match[1]!;
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
