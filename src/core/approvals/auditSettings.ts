import type { AuditLogOptions } from './auditLog';

/**
 * Settings from the environment, for the headless CLI and the editor alike:
 * `GATEHOUSE_AUDIT_ARGUMENTS` (secrets | full | redacted | none), `GATEHOUSE_AUDIT_RETENTION_DAYS`,
 * `GATEHOUSE_AUDIT_MAX_FILE_MB`. A value that makes no sense is reported and the default kept.
 */
export function auditLogOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = (message) => void process.stderr.write(`${message}\n`)): AuditLogOptions {
  const options: { -readonly [K in keyof AuditLogOptions]: AuditLogOptions[K] } = {};
  const mode = env.GATEHOUSE_AUDIT_ARGUMENTS?.trim();
  if (mode) {
    if (mode === 'secrets' || mode === 'full' || mode === 'redacted' || mode === 'none') options.arguments = mode;
    else warn(`GATEHOUSE_AUDIT_ARGUMENTS="${mode}" is not one of secrets, full, redacted, none; the audit log keeps arguments with secrets redacted.`);
  }
  const positive = (name: string, apply: (value: number) => void): void => {
    const raw = env[name]?.trim();
    if (!raw) return;
    const value = Number(raw);
    if (Number.isFinite(value) && value > 0) apply(value);
    else warn(`${name}="${raw}" is not a positive number; the default is used.`);
  };
  positive('GATEHOUSE_AUDIT_RETENTION_DAYS', (days) => (options.retentionDays = days));
  positive('GATEHOUSE_AUDIT_MAX_FILE_MB', (mb) => (options.maxFileBytes = Math.round(mb * 1024 * 1024)));
  return options;
}
