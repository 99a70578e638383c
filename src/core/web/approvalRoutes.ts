import * as crypto from 'node:crypto';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ApprovalQueue, DecideResult } from '../approvals/approvalQueue';
import { decisionFor, editedDecisionFor, isDecisionChoice, type DecisionChoice, type HumanDecision } from '../approvals/humanDecision';
import { SESSION_COOKIE, type BrowserPairing, type PairedSession } from '../approvals/pairing';
import type { ConsentBroker } from '../auth/consent';
import type { GatewayEnv } from '../gateway/gateway';
import { HOW_TO_DECIDE, approvalPage, approvalPageCsp, consentListPage, markup, messagePage, notPairedPage, pairingCompletePage, pendingListPage } from './approvalPages';

export interface ApprovalRoutesDeps {
  readonly pairing: BrowserPairing;
  readonly approvals: ApprovalQueue;
  readonly consent: ConsentBroker;
  /** The in-process human channel (`Gatehouse.decide`). */
  readonly decide: (id: string, decision: HumanDecision) => DecideResult;
}

type Status = 200 | 403 | 404 | 409;

const REPAIR_HINT = markup`Get a fresh pairing link: in VS Code run <strong>Gatehouse: Pair Browser</strong>, or press <kbd>p</kbd> in the terminal running <code>gatehouse serve</code>.`;

/**
 * The paired-browser human channel: the approval page, the pending list, OAuth consent
 * for a headless sign-in, and the pairing link that makes a browser able to decide. Only the
 * paired session cookie, with the decision key only that origin's storage holds and a same-origin
 * `Origin`, leads to a decision; API
 * keys and OAuth tokens are never looked at here, so nothing an agent holds counts.
 */
export function createApprovalRoutes(deps: ApprovalRoutesDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();

  app.get('/pair/:token', (c) => {
    const result = deps.pairing.redeem(c.req.param('token'));
    if (!result.ok) {
      const why = result.reason === 'expired' ? 'This pairing link has expired (links work for 2 minutes).' : 'This pairing link is not valid or was already used (each link works once).';
      return html(c, messagePage('Pairing link not valid', markup`${why} ${REPAIR_HINT}`), 403);
    }
    // No Max-Age: a session cookie that browsers keep in memory rather than in their cookie file.
    setCookie(c, SESSION_COOKIE, result.session.id, { httpOnly: true, sameSite: 'Strict', path: '/' });
    const nonce = crypto.randomBytes(16).toString('base64');
    return html(c, pairingCompletePage(result.session.csrfToken, nonce), 200, nonce);
  });

  app.get('/approvals', (c) => {
    const session = pairedSession(c, deps.pairing);
    if (!session) return html(c, notPairedPage(), 200);
    return html(c, pendingListPage(deps.approvals.pending(), deps.consent.pending().length), 200);
  });

  app.get('/approvals/:id', (c) => {
    const request = deps.approvals.get(c.req.param('id'));
    if (!request) return html(c, messagePage('Approval request not found', 'There is no such request: it was never made, or it was decided or expired a while ago. The agent can issue its call again if it still needs it.'), 404);
    const session = pairedSession(c, deps.pairing);
    const nonce = crypto.randomBytes(16).toString('base64');
    return html(c, approvalPage(request, { nonce, paired: session !== undefined }), 200, nonce);
  });

  app.post('/approvals/:id/decide', async (c) => {
    const checked = await checkDecisionRequest(c, deps.pairing);
    if ('refusal' in checked) return checked.refusal;
    const id = c.req.param('id');
    const edit = editedDecisionFrom(checked.form);
    if (edit && 'problem' in edit) return html(c, messagePage('Not decided', markup`${edit.problem} Nothing was decided. <a href="/approvals/${encodeURIComponent(id)}">Back to the request</a>`), 409);
    const decision = edit ? edit.decision : decisionFrom(checked.form);
    if (!decision) return html(c, messagePage('Unknown decision', 'The form sent a decision Gatehouse does not know. Reload the approval page and try again.'), 409);
    const result = deps.decide(id, decision);
    if (!result.ok) return html(c, messagePage('Not decided', markup`${result.message} <a href="/approvals/${encodeURIComponent(id)}">Back to the request</a>`), 409);
    return redirect(c, `/approvals/${encodeURIComponent(id)}`);
  });

  app.get('/consent', (c) => {
    const session = pairedSession(c, deps.pairing);
    if (!session) return html(c, notPairedPage(), 200);
    const nonce = crypto.randomBytes(16).toString('base64');
    return html(c, consentListPage(deps.consent.pending(), nonce), 200, nonce);
  });

  app.post('/consent/:id', async (c) => {
    const checked = await checkDecisionRequest(c, deps.pairing);
    if ('refusal' in checked) return checked.refusal;
    const choice = checked.form.decision;
    if (choice !== 'allow' && choice !== 'deny') return html(c, messagePage('Unknown decision', 'Choose Allow or Deny on the sign-in requests page.'), 409);
    if (!deps.consent.decide(c.req.param('id'), choice)) {
      return html(c, messagePage('Not decided', markup`This sign-in request was already decided or has expired. <a href="/consent">Back to sign-in requests</a>`), 409);
    }
    return redirect(c, '/consent');
  });

  return app;
}

function pairedSession(c: Context, pairing: BrowserPairing): PairedSession | undefined {
  return pairing.session(getCookie(c, SESSION_COOKIE));
}

/**
 * A decision POST must come from a paired browser (cookie), from a page of this very origin
 * (`Origin` equal to the validated one; a missing `Origin` is refused, since every browser sends it
 * on POST), and carry that session's CSRF token.
 */
async function checkDecisionRequest(c: Context<GatewayEnv>, pairing: BrowserPairing): Promise<{ form: Record<string, string> } | { refusal: Response }> {
  const session = pairedSession(c, pairing);
  if (!session) return { refusal: html(c, messagePage('This browser is not paired', markup`Nothing was decided. ${HOW_TO_DECIDE}`), 403) };
  const origin = c.req.header('origin');
  if (!origin || origin !== c.get('origin')) {
    return { refusal: html(c, messagePage('Cross-origin request refused', 'Nothing was decided: decisions are accepted only from Gatehouse’s own pages. Open the approval page and use its buttons.'), 403) };
  }
  const form: Record<string, string> = {};
  const type = c.req.header('content-type') ?? '';
  if (type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(await c.req.text())) if (!(key in form)) form[key] = value;
  }
  if (!pairing.checkCsrf(session, form.csrf)) {
    return { refusal: html(c, messagePage('Form expired', 'Nothing was decided: the form’s security token does not match this browser’s pairing. Reload the page and decide again.'), 403) };
  }
  return { form };
}

/** The page's buttons are the decision choices; "deny with reason" is a denial that must carry one. */
const FORM_CHOICES: ReadonlyMap<string, DecisionChoice> = new Map([
  ['deny_reason', 'deny'],
  ['always_deny', 'denyAlways'],
]);

function decisionFrom(form: Record<string, string>): HumanDecision | undefined {
  const choice = isDecisionChoice(form.decision) ? form.decision : FORM_CHOICES.get(form.decision ?? '');
  if (!choice) return undefined;
  const decision = decisionFor(choice, 'browser', form.reason);
  return form.decision === 'deny_reason' && !('reason' in decision && decision.reason) ? undefined : decision;
}

/** "Approve with changes" from the page's JSON field; `Gatehouse.decide` then checks the arguments against the tool and the policy. */
function editedDecisionFrom(form: Record<string, string>): { decision: HumanDecision } | { problem: string } | undefined {
  if (form.decision !== 'edit') return undefined;
  try {
    return { decision: editedDecisionFor('once', 'browser', JSON.parse(form.arguments ?? '') as Record<string, unknown>) };
  } catch (error) {
    return { problem: `The arguments are not valid JSON (${error instanceof Error ? error.message : String(error)}).` };
  }
}

function securityHeaders(nonce?: string): Record<string, string> {
  return {
    'Content-Security-Policy': approvalPageCsp(nonce),
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
    // Not no-referrer: under it browsers send `Origin: null` on form POSTs (Fetch spec, "serializing
    // a request origin"), and the same-origin check would refuse every real decision.
    'Referrer-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
  };
}

function html(c: Context, body: string, status: Status, nonce?: string): Response {
  return c.html(body, status, securityHeaders(nonce));
}

function redirect(c: Context, location: string): Response {
  for (const [name, value] of Object.entries(securityHeaders())) c.header(name, value);
  return c.redirect(location, 303);
}
