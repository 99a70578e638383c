import * as path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../store/files';

const stringMap = z.record(z.string(), z.string());

/**
 * Which MCP revision Gatehouse speaks to a server. `auto` (the default) opens with 2025-11-25 and
 * moves to 2026-07-28 when the server refuses that (an unsupported-protocol-version answer);
 * the two dates pin one era.
 */
export const UPSTREAM_PROTOCOLS = ['auto', '2025-11-25', '2026-07-28'] as const;
export type UpstreamProtocol = (typeof UPSTREAM_PROTOCOLS)[number];
const ProtocolSchema = z.enum(UPSTREAM_PROTOCOLS, { error: () => `protocol must be one of ${UPSTREAM_PROTOCOLS.map((p) => `"${p}"`).join(', ')}` });

/** Roots this server sees instead of the connected clients' roots (MCP "Roots"). */
const RootsSchema = z.array(z.object({ uri: z.string().min(1), name: z.string().optional() }).strict());

const StdioServerSchema = z
  .object({
    type: z.literal('stdio').optional(),
    command: z.string().min(1, 'command must not be empty'),
    args: z.array(z.string()).default([]),
    env: stringMap.default({}),
    cwd: z.string().optional(),
    roots: RootsSchema.optional(),
    protocol: ProtocolSchema.optional(),
  })
  .loose();

/**
 * How Gatehouse identifies itself when it signs in to an upstream. Without it Gatehouse uses
 * dynamic client registration; some providers (GitHub, …) need an OAuth app of the user's own.
 */
const UpstreamOAuthSchema = z
  .object({
    clientId: z.string().min(1, 'oauth.clientId must not be empty').optional(),
    /** May be written as ${env:NAME}, so the secret itself stays out of the file. */
    clientSecret: z.string().min(1, 'oauth.clientSecret must not be empty').optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'each of oauth.scopes is one scope, without spaces or quotes')).optional(),
    clientMetadataUrl: z
      .url({ message: 'oauth.clientMetadataUrl must be an absolute URL' })
      .refine((u) => /^https:/i.test(u) && new URL(u).pathname !== '/', 'oauth.clientMetadataUrl must be an https URL with a path (a Client ID Metadata Document)')
      .optional(),
    /**
     * "authorization_code" (the default) is the human's sign-in. The others get tokens from
     * configured credentials with no one signing in: for service accounts, not people.
     */
    grant: z.enum(['authorization_code', 'client_credentials', 'jwt_bearer', 'enterprise']).optional(),
    /** client_credentials with private_key_jwt: a PKCS#8 PEM, normally as ${env:NAME}. */
    privateKey: z.string().min(1).optional(),
    privateKeyAlgorithm: z.string().regex(/^(RS|PS|ES)(256|384|512)$/, 'oauth.privateKeyAlgorithm is one of RS256, PS256, ES256 (or the 384/512 forms)').optional(),
    /** jwt_bearer: the workload's JWT, as ${env:NAME}, or a file that is read at each token request. */
    assertion: z.string().min(1).optional(),
    assertionFile: z.string().min(1).optional(),
    /** enterprise: the identity provider that trades the user's ID token for an ID-JAG. */
    idp: z
      .object({
        tokenEndpoint: z.url({ message: 'oauth.idp.tokenEndpoint must be an absolute URL' }),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).optional(),
        idToken: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => !(o.clientSecret && !o.clientId), { message: 'oauth.clientSecret needs oauth.clientId' })
  .refine((o) => !o.grant || o.grant === 'authorization_code' || o.clientId, { message: 'oauth.grant other than "authorization_code" needs oauth.clientId' })
  .refine((o) => o.grant !== 'client_credentials' || Boolean(o.clientSecret) !== Boolean(o.privateKey), { message: 'oauth.grant "client_credentials" needs exactly one of oauth.clientSecret and oauth.privateKey' })
  .refine((o) => o.grant !== 'jwt_bearer' || Boolean(o.assertion) !== Boolean(o.assertionFile), { message: 'oauth.grant "jwt_bearer" needs exactly one of oauth.assertion and oauth.assertionFile' })
  .refine((o) => o.grant !== 'enterprise' || Boolean(o.idp), { message: 'oauth.grant "enterprise" needs oauth.idp' });

const HttpServerSchema = z
  .object({
    type: z.enum(['http', 'streamable-http', 'streamableHttp']),
    url: z.url({ message: 'url must be an absolute http(s) URL' }).refine((u) => /^https?:/i.test(u), 'url must use http or https'),
    headers: stringMap.default({}),
    roots: RootsSchema.optional(),
    oauth: UpstreamOAuthSchema.optional(),
    protocol: ProtocolSchema.optional(),
  })
  .loose();

/** One upstream entry, in the shape of VS Code's mcp.json. `type` may be omitted for stdio, as Claude Code and Cursor do. */
const ServerEntrySchema = z.union([HttpServerSchema, StdioServerSchema], {
  // An entry that plainly means one kind (it has a url, or a command) is told what is wrong with
  // it as that kind, rather than that it is neither.
  error: (issue) => {
    const entry = (issue.input ?? {}) as Record<string, unknown>;
    const branch = 'url' in entry ? 0 : 'command' in entry ? 1 : -1;
    const issues = branch >= 0 && 'errors' in issue ? (issue.errors as { path: PropertyKey[]; message: string }[][])[branch] : undefined;
    if (!issues?.length) return 'expected {"type":"stdio","command":…} or {"type":"http","url":…}';
    return issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  },
});

const serverName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'server names use letters, digits, "_", "." and "-"');

// `mcpServers` is accepted because users paste from Claude Code, Cursor and Gemini configs.
export const ServersFileSchema = z
  .object({
    servers: z.record(serverName, ServerEntrySchema).optional(),
    mcpServers: z.record(serverName, ServerEntrySchema).optional(),
    inputs: z.unknown().optional(),
  })
  .loose()
  .refine((file) => !(file.servers && file.mcpServers), { message: 'use either "servers" or "mcpServers", not both' });

export type ServerRoots = z.infer<typeof RootsSchema>;
export type StdioServerConfig = { type: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string; roots?: ServerRoots; protocol?: UpstreamProtocol };
export type UpstreamOAuthConfig = {
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  clientMetadataUrl?: string;
  grant?: 'authorization_code' | 'client_credentials' | 'jwt_bearer' | 'enterprise';
  privateKey?: string;
  privateKeyAlgorithm?: string;
  assertion?: string;
  assertionFile?: string;
  idp?: { tokenEndpoint: string; clientId: string; clientSecret?: string; idToken: string };
};
export type HttpServerConfig = { type: 'http'; url: string; headers: Record<string, string>; roots?: ServerRoots; oauth?: UpstreamOAuthConfig; protocol?: UpstreamProtocol };
/** The built-in demo upstream, used when there is no servers.json. */
export type BuiltinServerConfig = { type: 'builtin'; module: 'demo' };
export type ServerConfig = StdioServerConfig | HttpServerConfig | BuiltinServerConfig;

export const DEMO_SERVER_NAME = 'demo';

export function serversFilePath(home: string): string {
  return path.join(home, 'servers.json');
}

/** What the gateway runs with no servers.json: the harmless built-in demo upstream. */
export function defaultServers(): Map<string, ServerConfig> {
  return new Map([[DEMO_SERVER_NAME, { type: 'builtin', module: 'demo' }]]);
}

function normalise(entry: z.infer<typeof ServerEntrySchema>): ServerConfig {
  if ('url' in entry && entry.type !== undefined && entry.type !== 'stdio') {
    const http = entry as z.infer<typeof HttpServerSchema>;
    return { type: 'http', url: http.url, headers: http.headers, ...(http.roots ? { roots: http.roots } : {}), ...(http.oauth ? { oauth: http.oauth } : {}), ...(http.protocol ? { protocol: http.protocol } : {}) };
  }
  const stdio = entry as z.infer<typeof StdioServerSchema>;
  return { type: 'stdio', command: stdio.command, args: stdio.args, env: stdio.env, ...(stdio.cwd ? { cwd: stdio.cwd } : {}), ...(stdio.roots ? { roots: stdio.roots } : {}), ...(stdio.protocol ? { protocol: stdio.protocol } : {}) };
}

/**
 * Reads servers.json. A missing file means the built-in demo; an invalid one throws a
 * ConfigFileError naming the file, the line or field, and the problem.
 */
export function loadServers(home: string): Map<string, ServerConfig> {
  const file = serversFilePath(home);
  const parsed = readJsonFile(file, ServersFileSchema);
  if (!parsed) return defaultServers();
  const entries = parsed.servers ?? parsed.mcpServers ?? {};
  return new Map(Object.entries(entries).map(([name, entry]) => [name, normalise(entry)]));
}

/** The servers.json entries exactly as written, for editing (add/remove) without losing unknown keys. */
export function readServersFileForEdit(home: string): { servers: Record<string, unknown>; key: 'servers' | 'mcpServers'; rest: Record<string, unknown> } {
  const parsed = readJsonFile(serversFilePath(home), ServersFileSchema);
  if (!parsed) return { servers: {}, key: 'servers', rest: {} };
  const key = parsed.mcpServers ? 'mcpServers' : 'servers';
  const { servers, mcpServers, ...rest } = parsed;
  return { servers: { ...(servers ?? mcpServers ?? {}) }, key, rest };
}

/** Adds or replaces one server, validating the entry first so nothing invalid is saved. */
export function saveServer(home: string, name: string, entry: unknown): void {
  serverName.parse(name);
  const checked = ServerEntrySchema.safeParse(entry);
  if (!checked.success) throw new Error(`Server "${name}" is not valid: ${checked.error.issues.map((i) => i.message).join('; ')}`);
  const current = readServersFileForEdit(home);
  current.servers[name] = entry;
  writeJsonFile(serversFilePath(home), { ...current.rest, [current.key]: current.servers }, holdsSecret(current.servers) ? 0o600 : undefined);
}

/**
 * True when some entry carries an environment value or header written out rather than referenced
 * as `${env:NAME}`: such a file is a secret and is written 0600 (an existing mode is kept otherwise).
 */
export function holdsSecret(servers: Record<string, unknown>): boolean {
  const literal = (value: unknown): boolean => typeof value === 'string' && value.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]*\}/g, '').trim() !== '';
  return Object.values(servers).some((entry) => {
    const { env, headers } = (entry ?? {}) as { env?: Record<string, unknown>; headers?: Record<string, unknown> };
    return Object.values(env ?? {}).some(literal) || Object.values(headers ?? {}).some(literal);
  });
}

/** Removes one server. Returns false when it was not there. */
export function removeServer(home: string, name: string): boolean {
  const current = readServersFileForEdit(home);
  if (!(name in current.servers)) return false;
  delete current.servers[name];
  writeJsonFile(serversFilePath(home), { ...current.rest, [current.key]: current.servers });
  return true;
}

/** Expands `${env:NAME}` references (VS Code's mcp.json syntax) from the gateway's environment. */
export function expandEnvReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => env[name] ?? '');
}

export function sameServerConfig(a: ServerConfig, b: ServerConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
