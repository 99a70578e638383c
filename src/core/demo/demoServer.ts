import * as fs from 'node:fs';
import * as path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { writeFileAtomic } from '../store/files';

/**
 * The built-in demo upstream: a real MCP server whose tools are harmless, so a new user (and the
 * approvals flow) has something real to allow and to hold. `write_note` only writes under
 * `<home>/demo/`.
 */
export function createDemoServer(home: string, version: string): McpServer {
  const server = new McpServer({ name: 'gatehouse-demo', version });
  const notesDir = path.join(home, 'demo');

  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the given text unchanged. Useful to check that the gateway works.',
      inputSchema: { text: z.string().describe('The text to echo back') },
      outputSchema: { text: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
  );

  server.registerTool(
    'get_time',
    {
      title: 'Get time',
      description: 'Returns the current time of the machine running Gatehouse, in ISO 8601 (UTC).',
      inputSchema: {},
      outputSchema: { iso: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => {
      const iso = new Date().toISOString();
      return { content: [{ type: 'text', text: iso }], structuredContent: { iso } };
    },
  );

  server.registerTool(
    'write_note',
    {
      title: 'Write note',
      description: 'Writes a text note to a file in the Gatehouse demo folder, replacing a note with the same name.',
      inputSchema: {
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." and "-"; no slashes')
          .describe('File name of the note, without folders'),
        content: z.string().max(100_000).describe('The full text of the note'),
      },
      outputSchema: { path: z.string(), bytes: z.number() },
      annotations: { destructiveHint: true, readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    },
    async ({ name, content }) => {
      fs.mkdirSync(notesDir, { recursive: true });
      const file = path.join(notesDir, name);
      writeFileAtomic(file, content, 0o644);
      const bytes = Buffer.byteLength(content);
      return { content: [{ type: 'text', text: `Wrote ${bytes} bytes to ${file}` }], structuredContent: { path: file, bytes } };
    },
  );

  return server;
}
