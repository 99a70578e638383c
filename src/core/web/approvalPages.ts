import type { ApprovalRequest } from '../approvals/approvalQueue';
import type { ConsentRequest } from '../auth/consent';
import { escapeHtml } from '../auth/consentPage';

/**
 * The approval pages' policy. Unlike the sign-in pages these carry forms (to our own origin only)
 * and, on the request page, one nonce'd script for the expiry countdown; nothing else may load.
 */
export function approvalPageCsp(nonce?: string): string {
  const script = nonce ? `; script-src 'nonce-${nonce}'` : '';
  return `default-src 'none'; style-src 'unsafe-inline'${script}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

export const HOW_TO_DECIDE =
  "Approve in your editor's notification, in the <code>gatehouse serve</code> terminal, or pair this browser from the editor with <strong>Gatehouse: Pair Browser</strong> (or press <kbd>p</kbd> in the <code>gatehouse serve</code> terminal).";

export interface Page {
  readonly html: string;
  /** Set when the page carries the countdown script. */
  readonly nonce?: string;
}

interface LayoutOptions {
  readonly nonce?: string;
  readonly script?: string;
  readonly refreshSeconds?: number;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:2.5em auto;padding:0 1em;color:#222}
h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.6em}dt{font-weight:600;margin-top:.5em}dd{margin-left:1em}
pre{background:#f4f4f4;padding:.8em;overflow:auto;white-space:pre-wrap;word-break:break-word}
.status{display:inline-block;padding:.1em .6em;border-radius:.8em;background:#eee}.pending{background:#fff3c4}.approved{background:#d7f5dd}.denied,.expired{background:#fbd9d9}
.muted{color:#666}form{display:inline-block;margin:.3em .3em .3em 0}button{font:inherit;padding:.35em .9em;cursor:pointer}
.deny button{color:#a00}input[type=text]{font:inherit;padding:.3em;width:22em}nav{margin-bottom:1em}table{border-collapse:collapse}td,th{padding:.3em .8em .3em 0;text-align:left;vertical-align:top}`;

export function layout(title: string, body: string, options: LayoutOptions = {}): string {
  const refresh = options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  const script = options.script && options.nonce ? `<script nonce="${options.nonce}">${options.script}</script>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="same-origin">${refresh}
<title>${escapeHtml(title)} · Gatehouse</title>
<style>${STYLE}</style>
</head><body>${body}${script}</body></html>`;
}

/** Where the paired browser keeps its decision key: per origin, so no other loopback port can read it. */
export const DECISION_KEY_STORAGE = 'gatehouse.decisionKey';

/**
 * The decision key reaches a browser exactly once, in the pairing response, and from then on lives
 * only in that origin's localStorage. Pages carry empty fields that this script fills. Cookies for
 * 127.0.0.1 are sent to every port, so a page an agent serves on another loopback port would get
 * the session cookie, and could read any secret a page rendered; it can never read this storage.
 */
const FILL_DECISION_KEY_SCRIPT = `(function(){var k=null;try{k=localStorage.getItem(${JSON.stringify(DECISION_KEY_STORAGE)});}catch(e){}
var fields=document.querySelectorAll('input[name=csrf]');for(var i=0;i<fields.length;i++)fields[i].value=k||'';
if(!k&&fields.length){var n=document.getElementById('key-missing');if(n)n.hidden=false;}})();`;

const KEY_MISSING_NOTICE =
  '<p id="key-missing" hidden><strong>This browser profile has lost its pairing key</strong> (site data was cleared, or the link was opened in another profile). Pair it again to decide here.</p>';

function csrfField(): string {
  return '<input type="hidden" name="csrf" value="">';
}

function decisionButton(action: string, value: string, label: string, className = ''): string {
  return `<form method="post" action="${escapeHtml(action)}"${className ? ` class="${className}"` : ''}>${csrfField()}<button type="submit" name="decision" value="${value}">${escapeHtml(label)}</button></form>`;
}

/** The answer to a good pairing link: stores the decision key, then goes to the pending list. */
export function pairingCompletePage(decisionKey: string, nonce: string): string {
  const script = `try{localStorage.setItem(${JSON.stringify(DECISION_KEY_STORAGE)},${JSON.stringify(decisionKey)});location.replace('/approvals');}catch(e){document.getElementById('failed').hidden=false;}`;
  return layout(
    'Browser paired',
    '<h1>This browser is now paired with Gatehouse</h1><p>Opening the pending approvals…</p><p id="failed" hidden>This browser blocks site storage for 127.0.0.1, so it cannot keep its pairing key. Allow site data for it, then pair again.</p><noscript><p>Decisions need JavaScript: the pairing key is kept in this site\'s storage, out of reach of other local servers.</p></noscript>',
    { nonce, script },
  );
}

function describeDecision(request: ApprovalRequest): string {
  const decision = request.decision;
  if (!decision) return '';
  const scope: Record<string, string> = { once: 'once', session: 'for this session', tool: 'always, for this tool', arguments: 'always, for these arguments', always: 'always, for this tool' };
  const how = decision.scope ? ` (${scope[decision.scope] ?? decision.scope})` : '';
  const reason = decision.reason ? ` Reason: “${escapeHtml(decision.reason)}”.` : '';
  const who = decision.by ? ` by ${escapeHtml(decision.by)}` : '';
  return `<p>${decision.kind === 'approve' ? 'Approved' : 'Denied'}${how}${who} via ${escapeHtml(decision.channel)} at ${escapeHtml(decision.at)}.${reason}</p>`;
}

const COUNTDOWN_SCRIPT = `(function(){var el=document.getElementById('countdown');if(!el)return;var end=Date.parse(el.getAttribute('data-expires'));
function tick(){var s=Math.max(0,Math.round((end-Date.now())/1000));el.textContent=s>0?'('+Math.floor(s/60)+':'+String(s%60).padStart(2,'0')+' left)':'(expired: reload the page)';if(s>0)setTimeout(tick,1000);}tick();})();`;

/** `GET /approvals/:id`. Only a paired browser gets the forms; its script fills in the decision key. */
export function approvalPage(request: ApprovalRequest, view: { readonly paired: boolean; readonly nonce: string }): string {
  const action = `/approvals/${encodeURIComponent(request.id)}/decide`;
  const pending = request.status === 'pending';
  const details: string[] = [
    `<dt>Client</dt><dd>${escapeHtml(request.clientName)} <span class="muted">(${escapeHtml(request.clientId)})</span></dd>`,
    `<dt>Server</dt><dd>${escapeHtml(request.server)}</dd>`,
    `<dt>Tool</dt><dd>${escapeHtml(request.originalName)} <span class="muted">(called as ${escapeHtml(request.tool)})</span></dd>`,
  ];
  if (request.additionalInfo) details.push(`<dt>Why, according to the agent</dt><dd>${escapeHtml(request.additionalInfo)}</dd>`);
  if (request.rule) {
    const ruleReason = request.rule.reason ? `: ${escapeHtml(request.rule.reason)}` : '';
    details.push(`<dt>Matched rule</dt><dd>${escapeHtml(request.rule.decision)} ${escapeHtml(request.rule.tool)} <span class="muted">(${escapeHtml(request.rule.id)})</span>${ruleReason}</dd>`);
  }
  if (request.reason) details.push(`<dt>Why it was held</dt><dd>${escapeHtml(request.reason)}</dd>`);
  details.push(`<dt>Requested</dt><dd>${escapeHtml(request.createdAt)}</dd>`);
  details.push(
    `<dt>Expires</dt><dd>${escapeHtml(request.expiresAt)}${pending ? ` <span id="countdown" data-expires="${escapeHtml(request.expiresAt)}"></span>` : ''}</dd>`,
  );
  details.push(`<dt>Request id</dt><dd><code>${escapeHtml(request.id)}</code></dd>`);

  let decide = '';
  if (pending && view.paired) {
    decide = `<h2>Decide</h2>${KEY_MISSING_NOTICE}
<div>${decisionButton(action, 'once', 'Approve once')}${decisionButton(action, 'session', 'Approve for this session')}${decisionButton(action, 'tool', 'Always allow this tool')}${decisionButton(action, 'arguments', 'Always allow these arguments')}</div>
<div>${decisionButton(action, 'deny', 'Deny', 'deny')}${decisionButton(action, 'always_deny', 'Always deny this tool', 'deny')}</div>
<form method="post" action="${escapeHtml(action)}" class="deny">${csrfField()}<input type="text" name="reason" maxlength="500" required placeholder="Reason the agent will see"> <button type="submit" name="decision" value="deny_reason">Deny with reason</button></form>`;
  } else if (pending) {
    decide = `<h2>How to decide</h2><p>This page is read-only: the approval link alone grants nothing. ${HOW_TO_DECIDE}</p>`;
  }

  const nav = view.paired ? '<nav><a href="/approvals">All pending requests</a> · <a href="/consent">Sign-in requests</a></nav>' : '';
  const body = `${nav}<h1>${escapeHtml(request.clientName)} wants to run ${escapeHtml(request.server)} › ${escapeHtml(request.originalName)}</h1>
<p>Status: <span class="status ${request.status}">${request.status}</span></p>${describeDecision(request)}
<dl>${details.join('\n')}</dl>
<h2>Arguments</h2>
<pre>${escapeHtml(JSON.stringify(request.arguments, null, 2))}</pre>
${decide}`;
  const script = pending ? COUNTDOWN_SCRIPT + (view.paired ? FILL_DECISION_KEY_SCRIPT : '') : undefined;
  return layout(`${request.server} › ${request.originalName}`, body, script ? { nonce: view.nonce, script } : {});
}

/** `GET /approvals` for a paired browser. */
export function pendingListPage(requests: readonly ApprovalRequest[], consentCount: number): string {
  const rows = requests
    .map(
      (r) =>
        `<tr><td><a href="/approvals/${encodeURIComponent(r.id)}">${escapeHtml(r.server)} › ${escapeHtml(r.originalName)}</a></td><td>${escapeHtml(r.clientName)}</td><td>${escapeHtml(r.additionalInfo ?? '')}</td><td class="muted">expires ${escapeHtml(r.expiresAt)}</td></tr>`,
    )
    .join('\n');
  const list = requests.length ? `<table><tr><th>Call</th><th>Client</th><th>Why</th><th></th></tr>${rows}</table>` : '<p>No calls are waiting for approval.</p>';
  const consent = consentCount ? `<p><a href="/consent">${consentCount} sign-in request${consentCount === 1 ? '' : 's'} waiting</a></p>` : '';
  return layout('Pending approvals', `<h1>Pending approvals</h1><p class="muted">This browser is paired with Gatehouse. The list refreshes every 5 seconds.</p>${consent}${list}`, { refreshSeconds: 5 });
}

/** What an unpaired browser sees on `/approvals` and `/consent`: nothing about what is pending. */
export function notPairedPage(): string {
  return layout('Browser not paired', `<h1>This browser is not paired with Gatehouse</h1><p>Approval links show what an agent wants to do, but grant nothing by themselves. ${HOW_TO_DECIDE}</p>`);
}

/** `GET /consent` for a paired browser: OAuth clients asking to connect. */
export function consentListPage(requests: readonly ConsentRequest[], nonce: string): string {
  const items = requests
    .map((r) => {
      const action = `/consent/${encodeURIComponent(r.id)}`;
      const scopes = r.scopes.length ? r.scopes.map(escapeHtml).join(', ') : 'none';
      return `<li><p><strong>${escapeHtml(r.clientName)}</strong> asks to connect to Gatehouse. It will be sent back to <code>${escapeHtml(r.redirectHost)}</code>; scopes: ${scopes}. <span class="muted">Expires ${escapeHtml(r.expiresAt)}.</span></p>${decisionButton(action, 'allow', 'Allow')}${decisionButton(action, 'deny', 'Deny', 'deny')}</li>`;
    })
    .join('\n');
  const list = requests.length ? `<ul>${items}</ul>` : '<p>No client is asking to connect.</p>';
  return layout('Sign-in requests', `<nav><a href="/approvals">Pending approvals</a></nav><h1>Sign-in requests</h1><p class="muted">The list refreshes every 5 seconds.</p>${KEY_MISSING_NOTICE}${list}`, {
    refreshSeconds: 5,
    nonce,
    script: FILL_DECISION_KEY_SCRIPT,
  });
}

/** A refusal or an error, with what to do next. */
export function messagePage(title: string, detailHtml: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${detailHtml}</p>`);
}
