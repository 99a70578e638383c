import { raw } from 'hono/html';
import { markup, shown, type Html } from './approvalPages';

/**
 * Server-rendered pages for the browser tab that started a sign-in. No external assets and no
 * script: the waiting page refreshes itself, so `default-src 'none'` holds.
 */
export const CONSENT_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = raw('body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}.muted{color:#666}');

function page(title: string, body: Html, refreshUrl?: string): string {
  const refresh = refreshUrl === undefined ? '' : markup`<meta http-equiv="refresh" content="1;url=${refreshUrl}">`;
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${title} · Gatehouse</title>
<style>${STYLE}</style>
</head><body>${body}</body></html>`.toString();
}

export function waitingPage(clientName: string, continueUrl: string): string {
  return page(
    'Waiting for approval',
    markup`<h1>Waiting for approval in your editor…</h1>
<p><strong>${shown(clientName)}</strong> asks to connect to Gatehouse. Approve or deny it in VS Code (or in the terminal running <code>gatehouse serve</code>).</p>
<p class="muted">This page continues by itself once you have decided. <a href="${continueUrl}">Check now</a></p>`,
    continueUrl,
  );
}

export function errorPage(title: string, detail: string): string {
  return page(title, markup`<h1>${shown(title)}</h1><p>${shown(detail)}</p>`);
}
