import * as vscode from 'vscode';
import type { Gateway, UpstreamResult } from '../core/gateway/gateway';
import { findForeignApprovalLinks } from '../core/upstreams/foreignApprovals';

/**
 * Approval links from another gateway in an upstream's result, for users who chain
 * Gatehouse in front of a hosted gateway: the other gateway needs its own human decision, so the
 * link is offered with an Open button. Returns the unsubscribe function.
 */
export function watchExternalApprovalLinks(gateway: Gateway, log: vscode.LogOutputChannel): () => void {
  const onResult = (event: UpstreamResult): void => {
    for (const link of findForeignApprovalLinks(event.result)) void offerLink(event, link.url, log);
  };
  gateway.on('upstreamResult', onResult);
  return () => gateway.off('upstreamResult', onResult);
}

export function externalApprovalText(event: Pick<UpstreamResult, 'server' | 'tool'>, url: string): string {
  return `${event.server} › ${event.tool} needs approval on ${new URL(url).host} as well. Open its approval page?`;
}

async function offerLink(event: UpstreamResult, url: string, log: vscode.LogOutputChannel): Promise<void> {
  log.info(`Upstream ${event.server} returned an approval link: ${url}`);
  const open = 'Open';
  const choice = await vscode.window.showInformationMessage(externalApprovalText(event, url), open);
  if (choice === open) await vscode.env.openExternal(vscode.Uri.parse(url, true));
}
