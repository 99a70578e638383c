import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * An approval link that another gateway put into an upstream's result: a hosted
 * AgentPort's `…/approve/<id>`, a chained Gatehouse's `…/approvals/<id>`, or any structured
 * `approval_url`. The human has to open it; Gatehouse only points at it.
 */
export interface ForeignApprovalLink {
  readonly url: string;
  /** Where it was found: the structured `approval_url`, or a URL in the text. */
  readonly source: 'structured' | 'text';
}

const MAX_LINKS = 3;
/** `/approve/<id>`, `/approval/<id>`, `/approvals/<id>`, with an id of at least 4 URL-safe characters. */
const APPROVAL_PATH = /\/approv(?:e|als?)\/[A-Za-z0-9_.~-]{4,}/;
const URL_IN_TEXT = /https?:\/\/[^\s"'<>`()[\]{}]+/g;

/**
 * Finds approval links in an upstream tool result. Only http(s) URLs qualify: an upstream is not
 * trusted, and the editor opens what this returns with the system's URL handler, so `command:`,
 * `file:` or `vscode:` links must never get through.
 */
export function findForeignApprovalLinks(result: CallToolResult): ForeignApprovalLink[] {
  const links: ForeignApprovalLink[] = [];
  const add = (candidate: unknown, source: ForeignApprovalLink['source']): void => {
    const url = httpUrl(candidate);
    if (url && links.length < MAX_LINKS && !links.some((link) => link.url === url)) links.push({ url, source });
  };
  const structured = result.structuredContent;
  if (structured && typeof structured === 'object') {
    add((structured as Record<string, unknown>).approval_url, 'structured');
    add((structured as Record<string, unknown>).approvalUrl, 'structured');
  }
  for (const item of result.content ?? []) {
    if (item.type !== 'text') continue;
    for (const match of item.text.matchAll(URL_IN_TEXT)) {
      const url = httpUrl(match[0].replace(/[.,;:!?]+$/, ''));
      if (url && APPROVAL_PATH.test(new URL(url).pathname)) add(url, 'text');
    }
  }
  return links;
}

function httpUrl(candidate: unknown): string | undefined {
  if (typeof candidate !== 'string' || candidate.length > 2048) return undefined;
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
