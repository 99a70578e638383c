import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { canEditArguments } from '../approvals/editedArguments';
import type { ApprovalRequest } from '../approvals/approvalQueue';
import type { ConsentRequest } from '../auth/consent';
import { neutralizeText } from '../displayText';

/** Markup that `hono/html` has escaped (or that is ours); pages are built only from these. */
export type Html = HtmlEscapedString;

/** `hono/html` returns a promise only for async children, which these pages never have. */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return html(strings, ...values) as Html;
}

/** Agent-written text as the human must read it: escaped by the template, invisible characters shown. */
export function shown(text: string | undefined): string {
  return neutralizeText(text ?? '', { keepLineBreaks: true });
}

/**
 * The approval pages' policy. Unlike the sign-in pages these carry forms (to our own origin only)
 * and, on the request page, one nonce'd script for the expiry countdown; nothing else may load.
 */
export function approvalPageCsp(nonce?: string): string {
  const script = nonce ? `; script-src 'nonce-${nonce}'` : '';
  return `default-src 'none'; style-src 'unsafe-inline'${script}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

export const HOW_TO_DECIDE = markup`Approve in your editor's notification, in the <code>gatehouse serve</code> terminal, or pair this browser from the editor with <strong>Gatehouse: Pair Browser</strong> (or press <kbd>p</kbd> in the <code>gatehouse serve</code> terminal).`;

interface LayoutOptions {
  readonly nonce?: string;
  readonly script?: string;
  readonly refreshSeconds?: number;
}

const STYLE = raw(`body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:2.5em auto;padding:0 1em;color:#222}
h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.6em}dt{font-weight:600;margin-top:.5em}dd{margin-left:1em}
pre{background:#f4f4f4;padding:.8em;overflow:auto;white-space:pre-wrap;word-break:break-word}
.status{display:inline-block;padding:.1em .6em;border-radius:.8em;background:#eee}.pending{background:#fff3c4}.approved{background:#d7f5dd}.denied,.expired{background:#fbd9d9}
.muted{color:#666}form{display:inline-block;margin:.3em .3em .3em 0}button{font:inherit;padding:.35em .9em;cursor:pointer}
.deny button{color:#a00}input[type=text]{font:inherit;padding:.3em;width:22em}textarea{display:block;width:100%;font:13px/1.4 ui-monospace,monospace;margin:.3em 0}summary{cursor:pointer;margin-top:.8em}nav{margin-bottom:1em}table{border-collapse:collapse}td,th{padding:.3em .8em .3em 0;text-align:left;vertical-align:top}`);

export function layout(title: string, body: Html, options: LayoutOptions = {}): string {
  const refresh = options.refreshSeconds ? markup`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  // Our own constant scripts; `raw` because a template would escape their quotes.
  const script = options.script && options.nonce ? markup`<script nonce="${options.nonce}">${raw(options.script)}</script>` : '';
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="same-origin">${refresh}
<title>${shown(title)} · Gatehouse</title>
<style>${STYLE}</style>
</head><body>${body}${script}</body></html>`.toString();
}

/** Where the paired browser keeps its decision key: per origin, so no other loopback port can read it. */
export const DECISION_KEY_STORAGE = 'gatehouse.decisionKey';

/**
 * The decision key reaches a browser exactly once, in the pairing response, and from then on lives
 * only in that origin's localStorage. Pages carry empty fields that this script fills. Cookies for
 * 127.0.0.1 are sent to every port, so a page an agent serves on another loopback port would get
 * the session cookie, and could read any secret a page rendered; it can never read this storage.
 * Only the forms this render made (marked with this page's nonce, which no stored text can know)
 * get the key, so a field smuggled into the page by request data would stay empty.
 */
const FILL_DECISION_KEY_SCRIPT = `(function(){var k=null;try{k=localStorage.getItem(${JSON.stringify(DECISION_KEY_STORAGE)});}catch(e){}
var own=document.currentScript&&document.currentScript.nonce;if(!own)return;
var forms=document.querySelectorAll('form[data-decision-form]');var n=0;for(var i=0;i<forms.length;i++){if(forms[i].getAttribute('data-decision-form')!==own)continue;
var f=forms[i].querySelector('input[name=csrf]');if(f&&f.parentNode===forms[i]){f.value=k||'';n++;}}
if(!k&&n){var m=document.getElementById('key-missing');if(m)m.hidden=false;}})();`;

const KEY_MISSING_NOTICE = markup`<p id="key-missing" hidden><strong>This browser profile has lost its pairing key</strong> (site data was cleared, or the link was opened in another profile). Pair it again to decide here.</p>`;

function decisionButton(nonce: string, action: string, value: string, label: string, className = ''): Html {
  return markup`<form method="post" action="${action}" data-decision-form="${nonce}"${className ? markup` class="${className}"` : ''}><input type="hidden" name="csrf" value=""><button type="submit" name="decision" value="${value}">${label}</button></form>`;
}

/** The answer to a good pairing link: stores the decision key, then goes to the pending list. */
export function pairingCompletePage(decisionKey: string, nonce: string): string {
  const script = `try{localStorage.setItem(${JSON.stringify(DECISION_KEY_STORAGE)},${JSON.stringify(decisionKey)});location.replace('/approvals');}catch(e){document.getElementById('failed').hidden=false;}`;
  return layout(
    'Browser paired',
    markup`<h1>This browser is now paired with Gatehouse</h1><p>Opening the pending approvals…</p><p id="failed" hidden>This browser blocks site storage for 127.0.0.1, so it cannot keep its pairing key. Allow site data for it, then pair again.</p><noscript><p>Decisions need JavaScript: the pairing key is kept in this site's storage, out of reach of other local servers.</p></noscript>`,
    { nonce, script },
  );
}

const SCOPE_WORDS: Readonly<Record<string, string>> = { once: 'once', session: 'for this session', tool: 'always, for this tool', arguments: 'always, for these arguments', always: 'always, for this tool' };

function describeDecision(request: ApprovalRequest): Html | string {
  const decision = request.decision;
  if (!decision) return '';
  const how = decision.scope ? ` (${SCOPE_WORDS[decision.scope] ?? shown(decision.scope)})` : '';
  const reason = decision.reason ? ` Reason: “${shown(decision.reason)}”.` : '';
  const who = decision.by ? ` by ${shown(decision.by)}` : '';
  const edited = decision.kind === 'approve' && decision.arguments ? markup` <strong>with changed arguments</strong>` : '';
  const ran = edited ? markup`<p>What runs instead of the agent's arguments:</p><pre>${neutralizeText(JSON.stringify(decision.arguments, null, 2), { keepLineBreaks: true })}</pre>` : '';
  return markup`<p>${decision.kind === 'approve' ? 'Approved' : 'Denied'}${how}${edited}${who} via ${shown(decision.channel)} at ${decision.at}.${reason}</p>${ran}`;
}


/** An ISO time that the page's script shows in the reader's own time zone (the ISO text stays in the tooltip). */
function timeOf(iso: string): Html {
  return markup`<time datetime="${iso}">${iso}</time>`;
}

const LOCAL_TIMES_SCRIPT = `(function(){document.querySelectorAll('time[datetime]').forEach(function(t){var iso=t.getAttribute('datetime');var d=new Date(iso);if(isNaN(d.getTime()))return;t.textContent=d.toLocaleString();t.title=iso;});})();`;

const COUNTDOWN_SCRIPT = `(function(){var el=document.getElementById('countdown');if(!el)return;var end=Date.parse(el.getAttribute('data-expires'));
function tick(){var s=Math.max(0,Math.round((end-Date.now())/1000));el.textContent=s>0?'('+Math.floor(s/60)+':'+String(s%60).padStart(2,'0')+' left)':'(expired: reload the page)';if(s>0)setTimeout(tick,1000);}tick();})();`;

/** `GET /approvals/:id`. Only a paired browser gets the forms; its script fills in the decision key. */
export function approvalPage(request: ApprovalRequest, view: { readonly paired: boolean; readonly nonce: string }): string {
  const action = `/approvals/${encodeURIComponent(request.id)}/decide`;
  const pending = request.status === 'pending';
  const { nonce } = view;
  const details: Html[] = [
    markup`<dt>Client</dt><dd>${shown(request.clientName)} <span class="muted">(${shown(request.clientId)})</span></dd>`,
    markup`<dt>Server</dt><dd>${shown(request.server)}</dd>`,
    markup`<dt>Tool</dt><dd>${shown(request.originalName)} <span class="muted">(called as ${shown(request.tool)})</span></dd>`,
  ];
  if (request.reopened) details.push(markup`<dt>Asked again</dt><dd><strong>${shown(request.reopened)}</strong></dd>`);
  if (request.additionalInfo) details.push(markup`<dt>Why, according to the agent</dt><dd>${shown(request.additionalInfo)}</dd>`);
  if (request.rule) {
    const rule = request.rule;
    details.push(markup`<dt>Matched rule</dt><dd>${shown(rule.decision)} ${shown(rule.tool)} <span class="muted">(${shown(rule.id)})</span>${rule.reason ? `: ${shown(rule.reason)}` : ''}</dd>`);
  }
  if (request.reason) details.push(markup`<dt>Why it was held</dt><dd>${shown(request.reason)}</dd>`);
  details.push(markup`<dt>Requested</dt><dd>${timeOf(request.createdAt)}</dd>`);
  details.push(markup`<dt>Expires</dt><dd>${timeOf(request.expiresAt)}${pending ? markup` <span id="countdown" data-expires="${request.expiresAt}"></span>` : ''}</dd>`);
  details.push(markup`<dt>Request id</dt><dd><code>${shown(request.id)}</code></dd>`);

  let decide: Html | string = '';
  if (pending && view.paired) {
    decide = markup`<h2>Decide</h2>${KEY_MISSING_NOTICE}
<div>${decisionButton(nonce, action, 'once', 'Approve once')}${decisionButton(nonce, action, 'session', 'Approve for this session')}${decisionButton(nonce, action, 'tool', 'Always allow this tool')}${decisionButton(nonce, action, 'arguments', 'Always allow these arguments')}</div>
<div>${decisionButton(nonce, action, 'deny', 'Deny', 'deny')}${decisionButton(nonce, action, 'always_deny', 'Always deny this tool', 'deny')}</div>
<form method="post" action="${action}" class="deny" data-decision-form="${nonce}"><input type="hidden" name="csrf" value=""><input type="text" name="reason" maxlength="500" required placeholder="Reason the agent will see"> <button type="submit" name="decision" value="deny_reason">Deny with reason</button></form>
${canEditArguments(request) ? markup`<details><summary>Approve with changes…</summary><form method="post" action="${action}" data-decision-form="${nonce}"><input type="hidden" name="csrf" value=""><label for="edited-arguments">Arguments to run instead (JSON); the agent is told what you changed</label><textarea id="edited-arguments" name="arguments" rows="8" spellcheck="false">${JSON.stringify(request.arguments, null, 2)}</textarea><button type="submit" name="decision" value="edit">Approve once with these arguments</button></form></details>` : ''}`;
  } else if (pending) {
    decide = markup`<h2>How to decide</h2><p>This page is read-only: the approval link alone grants nothing. ${HOW_TO_DECIDE}</p>`;
  }

  const nav = view.paired ? markup`<nav><a href="/approvals">All pending requests</a> · <a href="/consent">Sign-in requests</a></nav>` : '';
  const body = markup`${nav}<h1>${shown(request.clientName)} wants to run ${shown(request.server)} › ${shown(request.originalName)}</h1>
<p>Status: <span class="status ${request.status}">${request.status}</span></p>${describeDecision(request)}
<dl>${details}</dl>
<h2>Arguments</h2>
<pre>${neutralizeText(JSON.stringify(request.arguments, null, 2), { keepLineBreaks: true })}</pre>
${decide}`;
  const script = LOCAL_TIMES_SCRIPT + (pending ? COUNTDOWN_SCRIPT + (view.paired ? FILL_DECISION_KEY_SCRIPT : '') : '');
  return layout(`${request.server} › ${request.originalName}`, body, { nonce, script });
}

/** `GET /approvals` for a paired browser. */
export function pendingListPage(requests: readonly ApprovalRequest[], consentCount: number): string {
  const rows = requests.map(
    (r) =>
      markup`<tr><td><a href="/approvals/${encodeURIComponent(r.id)}">${shown(r.server)} › ${shown(r.originalName)}</a></td><td>${shown(r.clientName)}</td><td>${shown(r.additionalInfo)}</td><td class="muted">expires ${r.expiresAt}</td></tr>`,
  );
  const list = requests.length ? markup`<table><tr><th>Call</th><th>Client</th><th>Why</th><th></th></tr>${rows}</table>` : markup`<p>No calls are waiting for approval.</p>`;
  const consent = consentCount ? markup`<p><a href="/consent">${consentCount} sign-in request${consentCount === 1 ? '' : 's'} waiting</a></p>` : '';
  return layout('Pending approvals', markup`<h1>Pending approvals</h1><p class="muted">This browser is paired with Gatehouse. The list refreshes every 5 seconds.</p>${consent}${list}`, { refreshSeconds: 5 });
}

/** What an unpaired browser sees on `/approvals` and `/consent`: nothing about what is pending. */
export function notPairedPage(): string {
  return layout('Browser not paired', markup`<h1>This browser is not paired with Gatehouse</h1><p>Approval links show what an agent wants to do, but grant nothing by themselves. ${HOW_TO_DECIDE}</p>`);
}

/** `GET /consent` for a paired browser: OAuth clients asking to connect. */
export function consentListPage(requests: readonly ConsentRequest[], nonce: string): string {
  const items = requests.map((r) => {
    const action = `/consent/${encodeURIComponent(r.id)}`;
    const scopes = r.scopes.length ? r.scopes.map(shown).join(', ') : 'none';
    return markup`<li><p><strong>${shown(r.clientName)}</strong> asks to connect to Gatehouse. It will be sent back to <code>${shown(r.redirectHost)}</code>; scopes: ${scopes}. <span class="muted">Expires ${r.expiresAt}.</span></p>${decisionButton(nonce, action, 'allow', 'Allow')}${decisionButton(nonce, action, 'deny', 'Deny', 'deny')}</li>`;
  });
  const list = requests.length ? markup`<ul>${items}</ul>` : markup`<p>No client is asking to connect.</p>`;
  return layout('Sign-in requests', markup`<nav><a href="/approvals">Pending approvals</a></nav><h1>Sign-in requests</h1><p class="muted">The list refreshes every 5 seconds.</p>${KEY_MISSING_NOTICE}${list}`, {
    refreshSeconds: 5,
    nonce,
    script: FILL_DECISION_KEY_SCRIPT,
  });
}

/** A refusal or an error, with what to do next. */
export function messagePage(title: string, detail: Html | string): string {
  return layout(title, markup`<h1>${title}</h1><p>${detail}</p>`);
}
