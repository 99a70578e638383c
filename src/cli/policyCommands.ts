import * as fs from 'node:fs';
import * as path from 'node:path';
import { Argument } from 'commander';
import type { Command } from 'commander';
import { z } from 'zod';
import { addRule, defaultPolicy, describeGrantArguments, describeLoosening, parsePolicy, PolicyFileSchema, removeGrant, removeRule, type Decision, type PolicyFile } from '../core/approvals/policy';
import { neutralizeText } from '../core/displayText';
import { describeIssues, readJsonFile, writeFileAtomic } from '../core/store/files';

export interface PolicyCommandContext {
  /** The Gatehouse home (GATEHOUSE_HOME). */
  readonly home: string;
  readonly out: (line: string) => void;
}

const DECISIONS: readonly Decision[] = ['allow', 'ask', 'deny'];
const DEFAULT_KINDS = ['readOnly', 'destructive', 'other'] as const;

function policyFile(home: string): string {
  return path.join(home, 'policy.json');
}

function readPolicy(home: string): PolicyFile {
  return readJsonFile(policyFile(home), PolicyFileSchema) ?? defaultPolicy();
}

function zodMessage(error: unknown): string {
  return error instanceof z.ZodError ? describeIssues(error.issues) : error instanceof Error ? error.message : String(error);
}

/**
 * Writes policy.json the way the gateway's own PolicyStore does (atomic, 0600, ids made explicit).
 * This is deliberately an edit from outside the human channel: an agent can run this CLI too, so
 * a running gateway sees a loosening as an external edit and holds it until the human confirms it
 * through the human channel. There is intentionally no `policy confirm` command.
 */
function editPolicy(ctx: PolicyCommandContext, edit: (policy: PolicyFile) => PolicyFile, done: (after: PolicyFile) => string): void {
  const before = readPolicy(ctx.home);
  let after: PolicyFile;
  try {
    after = parsePolicy(edit(before));
  } catch (error) {
    throw new Error(`The change does not fit the policy format: ${zodMessage(error)}. policy.json was not changed.`, { cause: error });
  }
  writeFileAtomic(policyFile(ctx.home), `${JSON.stringify(after, null, 2)}\n`, 0o600);
  ctx.out(done(after));
  const loosening = describeLoosening(before, after);
  if (loosening.length === 0) {
    ctx.out('This tightens or keeps the policy: a running gateway applies it at once.');
    return;
  }
  ctx.out('This loosens the policy:');
  for (const line of loosening) ctx.out(`  - ${line}`);
  ctx.out(
    'Gatehouse will ask you to confirm this change in the editor or in the `gatehouse serve` terminal (also when it next starts, if none is running); until you do, every call gets the stricter of the old and the new policy. Nothing on the command line can confirm it, so an agent running this command cannot grant itself permission.',
  );
}

function describeWhen(when: Record<string, unknown> | undefined): string {
  return when && Object.keys(when).length > 0 ? ` when ${JSON.stringify(when)}` : '';
}

/** Registers `gatehouse policy list|allow|ask|deny|revoke|default`. */
export function registerPolicyCommands(program: Command, ctx: PolicyCommandContext): void {
  const policy = program
    .command('policy')
    .description('Show and edit the approval policy (policy.json). A running gateway holds loosening edits until you confirm them in the editor.');

  policy
    .command('list')
    .description('Show the defaults, the rules and the remembered grants, with their ids')
    .action(() => {
      const file = policyFile(ctx.home);
      const current = readPolicy(ctx.home);
      ctx.out(fs.existsSync(file) ? `Policy: ${file}` : `Policy: built-in defaults (${file} does not exist yet)`);
      ctx.out('Defaults (when no rule matches):');
      for (const kind of DEFAULT_KINDS) ctx.out(`  ${kind.padEnd(12)} ${current.defaults[kind]}`);
      for (const [server, decision] of Object.entries(current.defaults.servers)) ctx.out(`  server ${server}: ${decision}`);
      ctx.out(current.rules.length === 0 ? 'Rules: none' : 'Rules (deny beats ask, ask beats allow):');
      const idWidth = Math.max(0, ...current.rules.map((rule) => rule.id.length));
      for (const rule of current.rules) {
        const extra = [rule.reason ? `(${rule.reason})` : '', rule.fingerprint ? `[tool version ${rule.fingerprint.slice(0, 12)}]` : ''].filter(Boolean).join(' ');
        ctx.out(`  ${rule.id.padEnd(idWidth)}  ${rule.decision.padEnd(5)}  ${rule.tool}${describeWhen(rule.when)}${extra ? `  ${extra}` : ''}`);
      }
      ctx.out(current.grants.length === 0 ? 'Grants: none' : 'Grants (exact arguments the human approved for always):');
      for (const grant of current.grants) {
        ctx.out(`  ${grant.id}  ${grant.tool}  ${neutralizeText(describeGrantArguments(grant))}${grant.createdAt ? `  since ${grant.createdAt}` : ''}${grant.note ? `  (${grant.note})` : ''}`);
      }
      ctx.out('');
      ctx.out(
        'This is policy.json as written. If it was edited in a way that loosens it, a running gateway keeps enforcing the stricter policy until you confirm the edit in the editor (Gatehouse panel).',
      );
    });

  for (const decision of DECISIONS) {
    policy
      .command(`${decision} <tool-glob>`)
      .description(`Add a rule: ${decision} calls of tools matching <tool-glob> over <server>__<tool> (e.g. "github__*", "files__write_file")`)
      .option('--when <json>', 'argument conditions as JSON, e.g. \'{"path": {"glob": "src/**"}}\'')
      .option('--reason <text>', 'why; shown to the agent and the human')
      .option('--id <id>', 'an id for the rule (default rule-<n>)')
      .action((toolGlob: string, options: { when?: string; reason?: string; id?: string }) => {
        let when: unknown;
        if (options.when !== undefined) {
          try {
            when = JSON.parse(options.when);
          } catch (error) {
            throw new Error(`--when is not valid JSON (${(error as Error).message}). Quote it for the shell, e.g. --when '{"path": {"prefix": "src/"}}'.`, { cause: error });
          }
        }
        if (!toolGlob.includes('__') && !toolGlob.includes('*')) {
          ctx.out(`Note: rules match "<server>__<tool>" (e.g. demo__${toolGlob}); "${toolGlob}" has no "__" and no "*", so it matches no tool.`);
        }
        editPolicy(
          ctx,
          (current) =>
            addRule(current, {
              tool: toolGlob,
              decision,
              ...(when !== undefined ? { when } : {}),
              ...(options.reason !== undefined ? { reason: options.reason } : {}),
              ...(options.id !== undefined ? { id: options.id } : {}),
            }),
          (after) => {
            const rule = after.rules[after.rules.length - 1];
            return `Added rule ${rule.id}: ${decision} ${rule.tool}${describeWhen(rule.when)}.`;
          },
        );
      });
  }

  policy
    .command('revoke <id>')
    .description('Remove a rule or a grant by its id (see `gatehouse policy list`)')
    .action((id: string) => {
      const current = readPolicy(ctx.home);
      if (current.rules.some((rule) => rule.id === id)) {
        editPolicy(ctx, (p) => removeRule(p, id), () => `Removed rule ${id}.`);
      } else if (current.grants.some((grant) => grant.id === id)) {
        editPolicy(ctx, (p) => removeGrant(p, id), () => `Removed grant ${id}.`);
      } else {
        throw new Error(`There is no rule or grant with id "${id}" in ${policyFile(ctx.home)}. Run \`gatehouse policy list\` to see the ids.`);
      }
    });

  policy
    .command('default')
    .description('Set what happens when no rule matches: for read-only tools, destructive tools, or all others')
    .addArgument(new Argument('<kind>', 'which default').choices(DEFAULT_KINDS))
    .addArgument(new Argument('<decision>', 'the decision').choices(DECISIONS))
    .action((kind: (typeof DEFAULT_KINDS)[number], decision: Decision) => {
      editPolicy(ctx, (p) => ({ ...p, defaults: { ...p.defaults, [kind]: decision } }), () => `defaults.${kind} is now "${decision}".`);
    });
}
