import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { findForeignApprovalLinks } from '../../src/core/upstreams/foreignApprovals';
import type { UpstreamResult } from '../../src/core/gateway/gateway';
import { connectClient, everythingServer, startTestGateway } from '../helpers/gatewayHarness';

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

describe('approval links from other gateways in upstream results', () => {
  it("finds a structured approval_url, as a hosted gateway's held call carries it", () => {
    const links = findForeignApprovalLinks({
      content: [{ type: 'text', text: 'needs approval' }],
      structuredContent: { status: 'approval_required', approval_url: 'https://agentport.example.com/approve/req_123' },
    });
    assert.deepEqual(links, [{ url: 'https://agentport.example.com/approve/req_123', source: 'structured' }]);
  });

  it('finds /approve/<id> and /approvals/<id> links in plain text, without trailing punctuation', () => {
    const links = findForeignApprovalLinks(text('Open https://gw.example/approve/abcd1234. Or http://127.0.0.1:9000/approvals/apr_xyz_987, then wait.'));
    assert.deepEqual(
      links.map((link) => link.url),
      ['https://gw.example/approve/abcd1234', 'http://127.0.0.1:9000/approvals/apr_xyz_987'],
    );
  });

  it('ignores ordinary URLs in text', () => {
    assert.deepEqual(findForeignApprovalLinks(text('See https://example.com/docs/approve and https://example.com/approved/x')), []);
  });

  it('refuses links that are not http(s), so an upstream cannot make the editor open command: or file: URLs', () => {
    const links = findForeignApprovalLinks({
      content: [{ type: 'text', text: 'file:///etc/approve/abcd vscode://x/approve/abcd' }],
      structuredContent: { approval_url: 'command:workbench.action.terminal.sendSequence?%7B%7D' },
    });
    assert.deepEqual(links, []);
  });

  it('reports each link once and at most three', () => {
    const many = Array.from({ length: 6 }, (_, i) => `https://gw.example/approve/req_${i}000`).join(' ');
    const links = findForeignApprovalLinks({ ...text(`${many} https://gw.example/approve/req_0000`), structuredContent: { approval_url: 'https://gw.example/approve/req_0000' } });
    assert.equal(links.length, 3);
    assert.equal(new Set(links.map((link) => link.url)).size, 3);
  });

  it('announces every upstream result on the gateway, so the editor can show the link', async function () {
    this.timeout(30_000);
    const gw = await startTestGateway({ servers: { everything: everythingServer() } });
    const seen: UpstreamResult[] = [];
    gw.gateway.on('upstreamResult', (event) => seen.push(event));
    const client = await connectClient(gw.url, gw.key);
    try {
      await client.callTool({ name: 'everything__echo', arguments: { message: 'approve at https://hosted.example/approve/req_42abc' } });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.server, 'everything');
      assert.equal(seen[0]!.tool, 'echo');
      assert.deepEqual(findForeignApprovalLinks(seen[0]!.result), [{ url: 'https://hosted.example/approve/req_42abc', source: 'text' }]);
    } finally {
      await client.close();
      await gw.close();
      fs.rmSync(gw.home, { recursive: true, force: true });
    }
  });
});
