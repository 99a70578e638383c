import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectModern, type UpstreamClient } from '../../src/core/upstreams/upstreamClient';
import { coalesceStdinWrites, stdinOf } from '../../src/core/upstreams/stdioWrites';

// A real upstream over stdio: the SDK 2.x McpServer fixture, which serves both eras.
const SERVER = path.resolve(__dirname, '../fixtures/upstreams/modernServer.mjs');

/** Counts the writes the stream hands to its pipe: one per `_write`, one per `_writev` (a corked batch). */
function countWrites(stdin: Writable): { writes: number; chunks: number } {
  const counts = { writes: 0, chunks: 0 };
  const stream = stdin as Writable & { _write: (...args: unknown[]) => void; _writev?: (chunks: unknown[], cb: unknown) => void };
  const write = stream._write.bind(stream);
  stream._write = (...args: unknown[]): void => {
    counts.writes++;
    counts.chunks++;
    write(...args);
  };
  const writev = stream._writev?.bind(stream);
  if (writev) {
    stream._writev = (chunks: unknown[], cb: unknown): void => {
      counts.writes++;
      counts.chunks += chunks.length;
      writev(chunks, cb);
    };
  }
  return counts;
}

const echoed = (result: CallToolResult): unknown => (result.structuredContent as { echoed?: unknown } | undefined)?.echoed;

describe('stdio upstreams: the messages of one turn leave as one write', () => {
  it('sends three calls made together to a 2025-era upstream in one write, each answered with its own result', async () => {
    const transport = coalesceStdinWrites(new StdioClientTransport({ command: process.execPath, args: [SERVER], stderr: 'ignore' }));
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    // `notifications/initialized` went in this turn's write; the counting starts after it.
    await new Promise(setImmediate);
    try {
      const stdin = stdinOf(transport);
      assert.ok(stdin, 'the SDK transport no longer keeps its child as `_process`: coalesceStdinWrites has nothing to cork');
      const counts = countWrites(stdin);
      const results = await Promise.all(['a', 'b', 'c'].map((text) => client.request({ method: 'tools/call', params: { name: 'echo', arguments: { text } } }, CallToolResultSchema)));
      assert.deepEqual(results.map(echoed), ['a', 'b', 'c']);
      assert.deepEqual(counts, { writes: 1, chunks: 3 });

      // Calls in separate turns are written as they come, one write each.
      for (const text of ['d', 'e']) {
        const result = await client.request({ method: 'tools/call', params: { name: 'echo', arguments: { text } } }, CallToolResultSchema);
        assert.equal(echoed(result), text);
      }
      assert.deepEqual(counts, { writes: 3, chunks: 5 });
    } finally {
      await client.close();
    }
  });

  it('does the same on the 2026-07-28 connection Gatehouse opens', async () => {
    const { client, transport } = (await connectModern({ kind: 'stdio', command: process.execPath, args: [SERVER], env: {}, onStderr: () => undefined }, { capabilities: {}, timeoutMs: 10_000 })) as { client: UpstreamClient; transport: object };
    try {
      const stdin = stdinOf(transport);
      assert.ok(stdin, 'the SDK 2.x transport no longer keeps its child as `_process`: coalesceStdinWrites has nothing to cork');
      const counts = countWrites(stdin);
      const results = await Promise.all(['x', 'y'].map((text) => client.request({ method: 'tools/call', params: { name: 'echo', arguments: { text } } }, CallToolResultSchema, { timeout: 10_000 })));
      assert.deepEqual(results.map(echoed), ['x', 'y']);
      assert.deepEqual(counts, { writes: 1, chunks: 2 });
    } finally {
      await client.close();
    }
  });

  it('leaves a transport that has no child yet as the SDK made it', async () => {
    const transport = coalesceStdinWrites(new StdioClientTransport({ command: process.execPath, args: [SERVER], stderr: 'ignore' }));
    assert.equal(stdinOf(transport), undefined);
    await assert.rejects(transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' }), /Not connected/);
  });
});
