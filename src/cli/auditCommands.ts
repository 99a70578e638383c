import { Option } from 'commander';
import type { Command } from 'commander';
import { toCsv } from '../core/approvals/auditCsv';
import { auditDir, type AuditEntry } from '../core/approvals/auditFiles';
import { followAudit, readAudit, tailAudit } from '../core/approvals/auditReader';
import { writeFileAtomic } from '../core/store/files';

export interface AuditCommandContext {
  /** The Gatehouse home (GATEHOUSE_HOME). */
  readonly home: string;
  readonly out: (line: string) => void;
}

const DURATION = /^(\d+)([mhdw])$/;
const DURATION_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A point in time from the command line: a UTC day (`2026-11-22`), an ISO time, or a duration
 * back from now (`90m`, `12h`, `7d`, `2w`). A bare day means its start, or its end for `--until`.
 */
export function parseAuditTime(option: string, value: string, edge: 'start' | 'end', now = new Date()): Date {
  const duration = DURATION.exec(value.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * DURATION_MS[duration[2]]);
  const text = value.trim();
  const parsed = DAY_ONLY.test(text) ? new Date(`${text}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z`) : new Date(text);
  // Date.parse accepts many loose forms; demand something that starts like an ISO date.
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(parsed.getTime())) {
    throw new Error(`${option} "${value}" is not a date. Use a UTC day (2026-11-22), an ISO time (2026-11-22T10:00:00Z) or a duration back from now (90m, 12h, 7d, 2w).`);
  }
  return parsed;
}

/** One readable line: time, event, client, tool, decision and the details that apply. */
export function formatAuditEntry(entry: AuditEntry): string {
  const parts = [entry.ts, entry.event.padEnd(8), entry.client ?? '-', entry.tool ?? '-'];
  if (entry.decision) parts.push(entry.decision);
  if (entry.rule) parts.push(`rule ${entry.rule}`);
  if (entry.channel) parts.push(`via ${entry.channel}`);
  if (entry.resultStatus) parts.push(`result ${entry.resultStatus}`);
  if (entry.latencyMs !== undefined) parts.push(`${Math.round(entry.latencyMs)} ms`);
  if (entry.requestId) parts.push(entry.requestId);
  if (entry.reason) parts.push(`(${entry.reason})`);
  return parts.join('  ');
}

/** Registers `gatehouse audit tail|export`. */
export function registerAuditCommands(program: Command, ctx: AuditCommandContext): void {
  const audit = program.command('audit').description(`Read the audit log of calls and decisions (${auditDir(ctx.home)})`);

  audit
    .command('tail')
    .description('Show the latest audit entries; --follow keeps printing new ones until Ctrl-C')
    .option('-n, --lines <count>', 'how many entries to show', '20')
    .option('-f, --follow', 'keep watching the log and print entries as they are written')
    .option('--json', 'print the raw JSON lines')
    .action(async (options: { lines: string; follow?: boolean; json?: boolean }) => {
      const count = Number(options.lines);
      if (!Number.isInteger(count) || count < 0) throw new Error(`-n "${options.lines}" is not a count: give a whole number, such as -n 50.`);
      const print = (entry: AuditEntry): void => ctx.out(options.json ? JSON.stringify(entry) : formatAuditEntry(entry));
      if (!options.follow) {
        const entries = tailAudit(ctx.home, count);
        if (entries.length === 0) ctx.out(`The audit log in ${auditDir(ctx.home)} is empty.`);
        entries.forEach(print);
        return;
      }
      const follower = followAudit(ctx.home, print, { backlog: count });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          follower.close();
          process.off('SIGTERM', stop);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  audit
    .command('export')
    .description('Write the audit entries of a time range as JSON lines or CSV')
    .requiredOption('--since <date>', 'first moment to include: a UTC day (2026-11-22), an ISO time, or a duration back from now (7d, 12h)')
    .option('--until <date>', 'last moment to include (a bare day includes the whole day); default now')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--tool <glob>', 'only this tool, or a glob over <server>__<tool>')
    .option('--decision <decision>', 'only what happened: approved, denied (policy blocks and human denials), allowed, or an event (held, decided, executed, expired) or decision (allow, ask, deny, approve) as logged')
    .option('--client <name>', 'only this client (its name or id)')
    .option('-o, --output <file>', 'write to this file (mode 0600) instead of standard output')
    .action((options: { since: string; until?: string; format: 'jsonl' | 'csv'; tool?: string; decision?: string; client?: string; output?: string }) => {
      const since = parseAuditTime('--since', options.since, 'start');
      const until = options.until === undefined ? undefined : parseAuditTime('--until', options.until, 'end');
      if (until && until < since) throw new Error(`--until (${until.toISOString()}) is before --since (${since.toISOString()}); swap them.`);
      const entries = readAudit(ctx.home, { since, until, tool: options.tool, decision: options.decision, client: options.client });
      const text = options.format === 'csv' ? toCsv(entries) : entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
      if (options.output) {
        // The log holds call arguments, so the export is as private as the log itself.
        writeFileAtomic(options.output, text, 0o600);
        ctx.out(`Wrote ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} to ${options.output}.`);
      } else if (text) {
        ctx.out(text.replace(/\r?\n$/, ''));
      }
    });
}
