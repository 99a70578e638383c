import * as assert from 'node:assert/strict';
import { mcpEndpoints } from '../../src/core/gateway/endpoints';

describe('the MCP endpoints an editor offers its own MCP client', () => {
  const url = 'http://127.0.0.1:7337/mcp';

  it('offers the aggregate endpoint alone by default', () => {
    assert.deepEqual(mcpEndpoints(url, ['github', 'files'], 'aggregate'), [{ label: 'Gatehouse', url }]);
  });

  it('offers one endpoint per server, in name order, each on /mcp/<server>', () => {
    assert.deepEqual(mcpEndpoints(url, ['github', 'files'], 'perServer'), [
      { label: 'files (via Gatehouse)', url: `${url}/files`, server: 'files' },
      { label: 'github (via Gatehouse)', url: `${url}/github`, server: 'github' },
    ]);
  });

  it('offers both when asked, the aggregate first', () => {
    const endpoints = mcpEndpoints(url, ['team.alpha'], 'both');
    assert.deepEqual(
      endpoints.map((e) => e.url),
      [url, `${url}/team.alpha`],
    );
  });
});
