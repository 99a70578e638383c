import { RuleSchema } from '../../core/approvals/policy';
import type { PolicyRuleInput } from '../../core/approvals/policy';
import type { FieldErrors, RuleForm, ServerForm } from './protocol';

/** What a valid server form becomes: an entry in servers.json's shape. */
export type ServerEntry =
  | { type: 'stdio'; command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { type: 'http'; url: string; headers?: Record<string, string> };

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/**
 * Checks a server form field by field, so the panel can show each problem next to its field.
 * servers.json's own schema checks the result again before anything is written.
 */
export function parseServerForm(name: string, form: ServerForm, takenNames: ReadonlySet<string> = new Set()): { entry: ServerEntry } | { errors: FieldErrors } {
  const errors: Record<string, string> = {};
  const trimmedName = name.trim();
  if (!trimmedName) errors.name = 'Give the server a name, for example "github".';
  else if (!SERVER_NAME.test(trimmedName)) errors.name = 'Use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit.';
  else if (takenNames.has(trimmedName)) errors.name = `A server named "${trimmedName}" already exists; choose another name or edit that one.`;

  if (form.type === 'http') {
    const url = form.url.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!url) errors.url = 'Enter the server\'s URL, for example https://example.com/mcp.';
    else if (!parsed || !/^https?:$/.test(parsed.protocol)) errors.url = `"${url}" is not an absolute http:// or https:// URL.`;
    const headers: Record<string, string> = {};
    for (const line of lines(form.headers)) {
      const colon = line.indexOf(':');
      const header = colon > 0 ? line.slice(0, colon).trim() : '';
      if (!HEADER_NAME.test(header)) {
        errors.headers = `"${line}" is not "Name: value".`;
        break;
      }
      headers[header] = line.slice(colon + 1).trim();
    }
    if (Object.keys(errors).length > 0) return { errors };
    return { entry: { type: 'http', url, ...(Object.keys(headers).length ? { headers } : {}) } };
  }

  const command = form.command.trim();
  if (!command) errors.command = 'Enter the command that starts the server, for example npx.';
  const args = form.args.split(/\r?\n/).map((arg) => arg.trim()).filter((arg) => arg.length > 0);
  const env: Record<string, string> = {};
  for (const line of lines(form.env)) {
    const equals = line.indexOf('=');
    const variable = equals > 0 ? line.slice(0, equals).trim() : '';
    if (!ENV_NAME.test(variable)) {
      errors.env = `"${line}" is not NAME=value (a name is letters, digits and "_").`;
      break;
    }
    env[variable] = line.slice(equals + 1);
  }
  const cwd = form.cwd.trim();
  if (cwd && !cwd.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(cwd) && !cwd.startsWith('${')) errors.cwd = 'The working directory must be an absolute path.';
  if (Object.keys(errors).length > 0) return { errors };
  return { entry: { type: 'stdio', command, ...(args.length ? { args } : {}), ...(Object.keys(env).length ? { env } : {}), ...(cwd ? { cwd } : {}) } };
}

function asStringRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).filter((pair): pair is [string, string] => typeof pair[1] === 'string'));
}

/** The form that edits an existing servers.json entry. */
export function serverFormFromEntry(entry: unknown): ServerForm {
  const record = (entry ?? {}) as Record<string, unknown>;
  const empty: ServerForm = { type: 'stdio', command: '', args: '', env: '', cwd: '', url: '', headers: '' };
  if (typeof record.url === 'string') {
    const headers = Object.entries(asStringRecord(record.headers)).map(([key, value]) => `${key}: ${value}`).join('\n');
    return { ...empty, type: 'http', url: record.url, headers };
  }
  return {
    ...empty,
    command: typeof record.command === 'string' ? record.command : '',
    args: Array.isArray(record.args) ? record.args.filter((arg): arg is string => typeof arg === 'string').join('\n') : '',
    env: Object.entries(asStringRecord(record.env)).map(([key, value]) => `${key}=${value}`).join('\n'),
    cwd: typeof record.cwd === 'string' ? record.cwd : '',
  };
}

/** One line that says what a server runs, for lists and import previews. */
export function describeServerEntry(entry: unknown): string {
  const record = (entry ?? {}) as Record<string, unknown>;
  if (typeof record.url === 'string') return record.url;
  const args = Array.isArray(record.args) ? record.args.filter((arg): arg is string => typeof arg === 'string') : [];
  return [typeof record.command === 'string' ? record.command : '?', ...args].join(' ');
}

/** Checks a rule form against the policy's own rule schema, naming the field at fault. */
export function parseRuleForm(form: RuleForm): { rule: PolicyRuleInput } | { errors: FieldErrors } {
  const errors: Record<string, string> = {};
  const tool = form.tool.trim();
  if (!tool) errors.tool = 'Enter a tool name such as github__create_issue, or a glob such as github__*.';
  let when: unknown;
  const whenText = form.when.trim();
  if (whenText) {
    try {
      when = JSON.parse(whenText);
    } catch (error) {
      errors.when = `Not valid JSON: ${(error as Error).message}. Example: {"path": {"glob": "/tmp/**"}}`;
    }
    if (!errors.when && (when === null || typeof when !== 'object' || Array.isArray(when))) {
      errors.when = 'Conditions are a JSON object of argument path → matcher, for example {"path": {"prefix": "/tmp/"}}.';
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  const rule: PolicyRuleInput = {
    tool,
    ...(when !== undefined && Object.keys(when as object).length > 0 ? { when: when as PolicyRuleInput['when'] } : {}),
    decision: form.decision,
    ...(form.reason.trim() ? { reason: form.reason.trim() } : {}),
  };
  const checked = RuleSchema.safeParse(rule);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      const field = issue.path[0] === 'when' ? 'when' : issue.path[0] === 'tool' ? 'tool' : issue.path[0] === 'decision' ? 'decision' : 'when';
      const where = issue.path.length > 1 ? ` (at ${issue.path.slice(1).join('.')})` : '';
      errors[field] ??= `${issue.message}${where}`;
    }
    return { errors };
  }
  return { rule };
}
