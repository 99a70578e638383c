import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';
import { readServersFileForEdit } from '../upstreams/serversConfig';
import type { ClientName } from './clientWriters';
import { planCodexEnableServers } from './codex';
import type { ConfigPlan } from './plan';
import { readCodexServers } from './readers';

/**
 * Which servers were imported from which client, shared by the CLI and the editor so that
 * `gatehouse restore codex` undoes what the editor's "Move Codex Servers" did, and back.
 */

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
