import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';
import { readServersFileForEdit } from '../upstreams/serversConfig';
import { claudeConfigPath, planClaudeConnect, planClaudeDisconnect } from './claude';
import { codexConfigPath, planCodexConnect, planCodexDisconnect, planCodexEnableServers } from './codex';
import { cursorConfigPath, planCursorConnect, planCursorDisconnect } from './cursor';
import { geminiSettingsPath, planGeminiConnect, planGeminiDisconnect } from './gemini';
import type { ClientAuthMode } from './jsonConfig';
import type { ConfigPlan } from './plan';
import { readCodexServers } from './readers';
import { planVsCodeConnect, planVsCodeDisconnect, vscodeUserMcpPath } from './vscodeMcp';

/**
 * The client table and the import bookkeeping that the CLI and the editor share, so
 * `gatehouse restore codex` undoes what the editor's "Move Codex Servers" did, and back.
 */
export const CLIENTS = ['codex', 'claude', 'cursor', 'gemini', 'vscode'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface ClientWriter {
  readonly file: string;
  readonly connect: (text: string | undefined, options: { url: string; auth: ClientAuthMode; apiKey?: string; force?: boolean; label: string }) => ConfigPlan;
  readonly disconnect: (text: string | undefined, options: { force?: boolean; label: string }) => ConfigPlan;
}

/** The config file of `client` (CODEX_HOME is read from `env`) and its planners. */
export function clientWriter(client: ClientName, env: NodeJS.ProcessEnv, home: string): ClientWriter {
  switch (client) {
    case 'codex':
      return { file: codexConfigPath(env, home), connect: planCodexConnect, disconnect: planCodexDisconnect };
    case 'claude':
      return { file: claudeConfigPath(home), connect: planClaudeConnect, disconnect: planClaudeDisconnect };
    case 'cursor':
      return { file: cursorConfigPath(home), connect: planCursorConnect, disconnect: planCursorDisconnect };
    case 'gemini':
      return { file: geminiSettingsPath(home), connect: planGeminiConnect, disconnect: planGeminiDisconnect };
    case 'vscode':
      return { file: vscodeUserMcpPath(home, process.platform, env), connect: planVsCodeConnect, disconnect: planVsCodeDisconnect };
  }
}

const ImportRecordSchema = z.record(z.string(), z.object({ servers: z.array(z.string()), moved: z.array(z.string()).default([]) }));
export type ImportRecords = z.infer<typeof ImportRecordSchema>;
export type ImportRecord = ImportRecords[string];

/** `<gatehouse home>/imports.json`: which servers came from which client, and which were disabled there. */
export function importsFilePath(gatehouseHome: string): string {
  return path.join(gatehouseHome, 'imports.json');
}

export function readImportRecords(gatehouseHome: string): ImportRecords {
  return readJsonFile(importsFilePath(gatehouseHome), ImportRecordSchema) ?? {};
}

/** Adds `servers` (and the `moved` among them) to the client's record, keeping earlier imports. */
export function recordImport(gatehouseHome: string, client: ClientName, servers: readonly string[], moved: readonly string[]): void {
  const records = readImportRecords(gatehouseHome);
  const previous = records[client] ?? { servers: [], moved: [] };
  const next: ImportRecord = { servers: [...new Set([...previous.servers, ...servers])], moved: [...new Set([...previous.moved, ...moved])] };
  writeJsonFile(importsFilePath(gatehouseHome), { ...records, [client]: next });
}

/** Drops the client's record; the file goes once no client is left in it. */
export function forgetImport(gatehouseHome: string, client: ClientName): void {
  const rest = { ...readImportRecords(gatehouseHome) };
  delete rest[client];
  if (Object.keys(rest).length) writeJsonFile(importsFilePath(gatehouseHome), rest);
  else fs.rmSync(importsFilePath(gatehouseHome), { force: true });
}

/** Names already in servers.json: importing them would overwrite the user's entry, so callers refuse. */
export function takenServerNames(gatehouseHome: string, names: readonly string[]): string[] {
  const existing = readServersFileForEdit(gatehouseHome).servers;
  return names.filter((name) => name in existing);
}

/** Re-enables the moved servers that are still in config.toml (the user may have deleted some since). */
export function planCodexRestore(text: string | undefined, moved: readonly string[], label: string): ConfigPlan {
  const read = readCodexServers(text);
  const present = moved.filter((name) => name in read.servers || read.skipped.some((skipped) => skipped.name === name));
  return planCodexEnableServers(text, present, label);
}
