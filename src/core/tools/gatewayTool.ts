import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';

/** Who is calling, on which MCP session. */
export interface CallContext {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly signal?: AbortSignal;
}

/** A tool the gateway answers itself, rather than an upstream. One per file under src/core/tools. */
export interface GatewayTool {
  readonly definition: Tool;
  call(args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
}
