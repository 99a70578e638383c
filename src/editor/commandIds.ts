/** Every command the manifest contributes; `contributes.commands` must list exactly these. */
export const CommandId = {
  openPanel: 'gatehouse.openPanel',
  showPending: 'gatehouse.showPending',
  copyMcpUrl: 'gatehouse.copyMcpUrl',
  pairBrowser: 'gatehouse.pairBrowser',
  createApiKey: 'gatehouse.createApiKey',
  restartGateway: 'gatehouse.restartGateway',
  showLogs: 'gatehouse.showLogs',
  connectCodex: 'gatehouse.connectCodex',
  installSkills: 'gatehouse.installSkills',
  uninstallSkills: 'gatehouse.uninstallSkills',
  connectClaude: 'gatehouse.connectClaude',
  connectCursor: 'gatehouse.connectCursor',
  connectGemini: 'gatehouse.connectGemini',
  moveCodexServers: 'gatehouse.moveCodexServers',
  restoreCodexServers: 'gatehouse.restoreCodexServers',
  disconnectClient: 'gatehouse.disconnectClient',
  signInServer: 'gatehouse.signInServer',
} as const;

export type CommandIdValue = (typeof CommandId)[keyof typeof CommandId];
