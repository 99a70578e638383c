// The start-up baseline: a bare process with the MCP SDK starting the same stdio servers as a
// servers.json, connecting and listing each one's tools (what "ready" means in Gatehouse), then
// printing "ready" and exiting.   node bench/bareStartup.mjs <servers.json>
import * as fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const { servers } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const clients = await Promise.all(
  Object.values(servers).map(async ({ command, args, env }) => {
    const client = new Client({ name: 'bare', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command, args, env: { ...process.env, ...env }, stderr: 'ignore' }));
    let cursor;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      cursor = page.nextCursor;
    } while (cursor);
    return client;
  }),
);
process.stdout.write('ready\n');
await Promise.all(clients.map((client) => client.close()));
process.exit(0);
