import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamManager } from '../upstreams/upstreamManager';
import type { GatewayTool } from '../calls/callPath';

export const LIST_INTEGRATIONS = 'list_integrations';

/** Lists every upstream with its status and the tools it contributes, under their gateway names. */
export function createListIntegrationsTool(upstreams: UpstreamManager): GatewayTool {
  return {
    definition: {
      name: LIST_INTEGRATIONS,
      title: 'List integrations',
      description:
        'Lists the integrations (upstream MCP servers) behind Gatehouse: each one\'s status (ready, connecting, error, or needs-sign-in: only the human can sign in, so ask them to) and the tools it offers, named <server>__<tool>. Call this first to discover what you can do.',
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      outputSchema: {
        type: 'object',
        properties: {
          integrations: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                status: { type: 'string', enum: ['connecting', 'ready', 'error', 'needs-sign-in', 'stopped'] },
                error: { type: 'string' },
                toolCount: { type: 'integer' },
                tools: { type: 'array', items: { type: 'string' } },
                skipped: {
                  type: 'array',
                  description: 'Tools the server lists that Gatehouse cannot serve (a malformed schema), with why.',
                  items: { type: 'object', properties: { name: { type: 'string' }, reason: { type: 'string' } }, required: ['name', 'reason'], additionalProperties: false },
                },
              },
              required: ['name', 'status', 'toolCount', 'tools'],
              additionalProperties: false,
            },
          },
        },
        required: ['integrations'],
        additionalProperties: false,
      },
      annotations: { title: 'List integrations', readOnlyHint: true, openWorldHint: false },
    },
    async call(): Promise<CallToolResult> {
      const byServer = new Map<string, string[]>();
      for (const entry of upstreams.catalog.values()) {
        const names = byServer.get(entry.server) ?? [];
        names.push(entry.name);
        byServer.set(entry.server, names);
      }
      const integrations = upstreams.states().map((state) => {
        const tools = (byServer.get(state.name) ?? []).sort();
        return { name: state.name, status: state.status, ...(state.error ? { error: state.error } : {}), toolCount: tools.length, tools, ...(state.skipped?.length ? { skipped: state.skipped } : {}) };
      });
      const lines = integrations.map(
        (i) =>
          `- ${i.name} (${i.status}${i.error ? `: ${i.error}` : ''}): ${i.toolCount} tools${i.tools.length ? ` — ${i.tools.join(', ')}` : ''}` +
          (i.skipped ? `; skipped (cannot be served): ${i.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` : ''),
      );
      const text = integrations.length ? `Integrations behind Gatehouse:\n${lines.join('\n')}` : 'No integrations are configured in Gatehouse yet.';
      return { content: [{ type: 'text', text }], structuredContent: { integrations } };
    },
  };
}
