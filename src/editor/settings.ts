import * as vscode from 'vscode';
import type { EndpointChoice } from '../core/gateway/endpoints';

/** Every setting key the extension reads; the manifest's `contributes.configuration` must match. */
export const Setting = {
  port: 'gatehouse.port',
  awaitWindowSeconds: 'gatehouse.approval.awaitWindowSeconds',
  expiryMinutes: 'gatehouse.approval.expiryMinutes',
  notificationsMode: 'gatehouse.notifications.mode',
  mcpProviderEndpoints: 'gatehouse.mcpProvider.endpoints',
} as const;

export type NotificationsMode = 'each' | 'summary' | 'off';

export interface GatehouseSettings {
  readonly port: number;
  readonly awaitWindowSeconds: number;
  readonly expiryMinutes: number;
  readonly notificationsMode: NotificationsMode;
  readonly mcpProviderEndpoints: EndpointChoice;
}

export const DEFAULT_PORT = 7337;

/**
 * Reads the security-relevant settings from their global value only. The manifest already gives
 * them application/machine scope; reading `globalValue` as well means a workspace file that sets
 * them anyway (VS Code only warns) still cannot loosen policy.
 */
export function readSettings(): GatehouseSettings {
  const config = vscode.workspace.getConfiguration();
  const globalOrDefault = <T>(key: string, fallback: T): T => {
    const inspected = config.inspect<T>(key);
    return inspected?.globalValue ?? inspected?.defaultValue ?? fallback;
  };
  return {
    port: globalOrDefault(Setting.port, DEFAULT_PORT),
    awaitWindowSeconds: globalOrDefault(Setting.awaitWindowSeconds, 50),
    expiryMinutes: globalOrDefault(Setting.expiryMinutes, 10),
    notificationsMode: globalOrDefault<NotificationsMode>(Setting.notificationsMode, 'each'),
    mcpProviderEndpoints: globalOrDefault<EndpointChoice>(Setting.mcpProviderEndpoints, 'aggregate'),
  };
}
