// A stdio upstream serving BENCH_TOOLS generated tools (default 250) with realistic descriptions
// and schemas, so that the catalog benchmark measures listing, not the upstream.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const count = Number(process.env.BENCH_TOOLS ?? process.argv[2] ?? 250);
const server = new McpServer({ name: 'bench-many', version: '1.0.0' });
for (let i = 0; i < count; i++) {
  server.registerTool(
    `tool_${String(i).padStart(3, '0')}`,
    {
      description: `Generated tool ${i}: reads record ${i} of the bench store at the given path.`,
      inputSchema: { path: z.string(), limit: z.number().int().optional() },
      annotations: { readOnlyHint: i % 2 === 0 },
    },
    async ({ path }) => ({ content: [{ type: 'text', text: `tool ${i}: ${path}` }] }),
  );
}
await server.connect(new StdioServerTransport());
