import * as assert from 'node:assert/strict';
import { panelHtml } from '../../src/editor/panel/panelHtml';

const inputs = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/panel.css',
  nonce: 'bm9uY2Utdmx1ZQ==',
  state: { tab: 'rules' as const, toolFilter: '"><script>alert(1)</script>' },
};

function contentSecurityPolicy(html: string): string {
  return /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? assert.fail('no CSP meta tag');
}

describe('the policy panel page', () => {
  it('runs only the script that carries this load\'s nonce, and loads nothing from outside the extension', () => {
    const html = panelHtml(inputs);
    const csp = contentSecurityPolicy(html);
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /script-src 'nonce-bm9uY2Utdmx1ZQ=='/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    for (const directive of ['style-src', 'font-src', 'img-src']) assert.match(csp, new RegExp(`${directive} https://file\\+\\.vscode-resource\\.vscode-cdn\\.net(;|$)`));
    assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script element');
    assert.match(html, /<script nonce="bm9uY2Utdmx1ZQ==" src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/ext\/dist\/webview\.js"><\/script>/);
    assert.doesNotMatch(html, /style="/, 'no inline styles');
  });

  it('carries the saved state as an attribute that markup in it cannot break out of', () => {
    const html = panelHtml(inputs);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    const attribute = /data-initial-state="([^"]*)"/.exec(html)?.[1] ?? assert.fail('no initial state');
    const decoded = attribute.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    assert.deepEqual(JSON.parse(decoded), inputs.state);
  });
});
