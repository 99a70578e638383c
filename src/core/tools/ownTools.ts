import type { GatewayTool } from '../calls/callPath';
import type { UpstreamManager } from '../upstreams/upstreamManager';
import { createAwaitApprovalTool, type AwaitApprovalDeps } from './awaitApproval';
import { createListIntegrationsTool } from './listIntegrations';

export interface OwnToolsDeps {
  readonly upstreams: UpstreamManager;
  /** Without an approval queue (a bare gateway) there is nothing to await. */
  readonly approvals?: AwaitApprovalDeps;
}

/**
 * Every tool the gateway answers itself. Their names contain no "__", so they can never collide
 * with an upstream's `<server>__<tool>`.
 */
export function ownTools(deps: OwnToolsDeps): GatewayTool[] {
  return [createListIntegrationsTool(deps.upstreams), ...(deps.approvals ? [createAwaitApprovalTool(deps.approvals)] : [])];
}
