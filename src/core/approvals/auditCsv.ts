import type { AuditEntry } from './auditFiles';

/** The audit log as CSV for spreadsheets: `gatehouse audit export --format csv` and the panel's export. */

export const AUDIT_CSV_COLUMNS = [
  'ts',
  'event',
  'client',
  'clientId',
  'sessionId',
  'server',
  'tool',
  'requestId',
  'rule',
  'decision',
  'channel',
  'reason',
  'latencyMs',
  'resultStatus',
  'argumentsHash',
  'arguments',
  'editedArgumentsHash',
  'editedArguments',
] as const;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  // Arguments and reasons come from agents; a cell starting with = + - @ would run as a formula in a spreadsheet (OWASP "CSV injection").
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV (CRLF line ends, quoted where needed) with a header row; arguments as JSON. */
export function toCsv(entries: readonly AuditEntry[]): string {
  const rows = [AUDIT_CSV_COLUMNS.join(',')];
  for (const entry of entries) {
    const record = entry as Record<string, unknown>;
    rows.push(AUDIT_CSV_COLUMNS.map((column) => csvCell(record[column])).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
