import type { PanelState } from './protocol';

export interface PanelHtmlInputs {
  /** `webview.cspSource`: the origin the webview serves extension resources from. */
  readonly cspSource: string;
  readonly scriptUri: string;
  readonly styleUri: string;
  /** Fresh for every page load; only the script carrying it runs. */
  readonly nonce: string;
  readonly state: PanelState;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The panel's page. The webview renders text from agents (arguments, additional_info), so the
 * policy admits no inline script or style, and resources only from the extension itself.
 */
export function panelHtml(inputs: PanelHtmlInputs): string {
  const csp = [
    "default-src 'none'",
    `style-src ${inputs.cspSource}`,
    `font-src ${inputs.cspSource}`,
    `img-src ${inputs.cspSource}`,
    `script-src 'nonce-${inputs.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(inputs.styleUri)}">
<title>Gatehouse</title>
</head>
<body>
<div id="app" data-initial-state="${escapeAttribute(JSON.stringify(inputs.state))}"><p class="loading">Loading Gatehouse…</p></div>
<script nonce="${escapeAttribute(inputs.nonce)}" src="${escapeAttribute(inputs.scriptUri)}"></script>
</body>
</html>`;
}
