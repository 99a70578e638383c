import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadServers, saveServer } from '../../src/core/upstreams/serversConfig';
import { refusesLegacy } from '../../src/core/upstreams/upstreamClient';
import { tempDir } from '../helpers/gatewayHarness';

function write(home: string, servers: Record<string, unknown>): void {
  fs.writeFileSync(path.join(home, 'servers.json'), JSON.stringify({ servers }));
}

describe('servers.json "protocol": which MCP revision Gatehouse speaks to a server', () => {
  it('accepts auto, 2025-11-25 and 2026-07-28 on stdio and http servers, and leaves it out when absent', () => {
    const home = tempDir();
    write(home, {
      a: { command: 'x', protocol: '2026-07-28' },
      b: { type: 'http', url: 'http://127.0.0.1:1/mcp', protocol: '2025-11-25' },
      c: { type: 'http', url: 'http://127.0.0.1:1/mcp', protocol: 'auto' },
      d: { command: 'y' },
    });
    const servers = loadServers(home);
    assert.equal((servers.get('a') as { protocol?: string }).protocol, '2026-07-28');
    assert.equal((servers.get('b') as { protocol?: string }).protocol, '2025-11-25');
    assert.equal((servers.get('c') as { protocol?: string }).protocol, 'auto');
    assert.equal('protocol' in servers.get('d')!, false, 'an entry without it is unchanged, so confirmed baselines still match');
  });

  it('refuses another value with an error that names the server, the field and the allowed values', () => {
    const home = tempDir();
    write(home, { web: { type: 'http', url: 'http://127.0.0.1:1/mcp', protocol: '2026' } });
    assert.throws(() => loadServers(home), /servers\.web: protocol: protocol must be one of "auto", "2025-11-25", "2026-07-28"/);
    assert.throws(() => saveServer(home, 'other', { command: 'x', protocol: 'latest' }), /Server "other" is not valid: protocol: protocol must be one of/);
  });
});

describe('recognising a server that refuses 2025-11-25', () => {
  it('takes the unsupported-protocol-version answer over stdio and over HTTP, and the 2026-07-28 header demand', () => {
    assert.equal(refusesLegacy(new McpError(-32022, 'Unsupported protocol version: 2025-11-25')), true);
    assert.equal(refusesLegacy(new StreamableHTTPError(400, 'Error POSTing to endpoint: {"jsonrpc":"2.0","error":{"code":-32022}}')), true);
    assert.equal(refusesLegacy(new StreamableHTTPError(400, 'Error POSTing to endpoint: Missing MCP-Protocol-Version header')), true);
  });

  it('does not take a sign-in demand, another HTTP failure or a crash for one', () => {
    assert.equal(refusesLegacy(new StreamableHTTPError(401, 'Unauthorized')), false);
    assert.equal(refusesLegacy(new StreamableHTTPError(400, 'Bad Request: invalid JSON')), false);
    assert.equal(refusesLegacy(new McpError(-32000, 'Connection closed')), false);
    assert.equal(refusesLegacy(new Error('spawn x ENOENT')), false);
  });
});
