import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { RESOURCE_READ, SAMPLING_REQUEST } from './approvalGate';
import { argumentsHash, canonicalJson } from './canonical';
import type { PolicyTool, PolicyVerdict } from './policy';

/**
 * "Approve with changes": the human rewrites a held call's arguments before approving it. The
 * edited arguments must be a call the tool accepts (its input schema, checked with ajv) and a
 * call the policy does not deny, so an edit never becomes a way past a deny rule: a human who
 * wants to run what a rule denies changes the rule first, where the change is plain to see.
 */

export type EditCheck = { readonly ok: true; readonly arguments: Record<string, unknown>; readonly argumentsHash: string } | { readonly ok: false; readonly message: string };

export interface EditContext {
  /** The tool as the upstream lists it now (not the gateway's decorated copy). */
  readonly tool: Tool;
  readonly policyTool: PolicyTool;
  readonly evaluate: (tool: PolicyTool, args: Record<string, unknown>) => PolicyVerdict;
  /** The largest canonical JSON Gatehouse holds for a call, in bytes. */
  readonly maxBytes: number;
  /** True when the tool declares its own `additional_info`; otherwise that name is Gatehouse's. */
  readonly ownsAdditionalInfo: boolean;
}

const draft07 = addFormats(new Ajv({ allErrors: true, strict: false }));
const draft2020 = addFormats(new Ajv2020({ allErrors: true, strict: false }));
/** Compiled validators per tool object: the catalog keeps one object per listed tool version. */
const compiled = new WeakMap<Tool, ValidateFunction>();

/** Only tool calls are edited: a server's sampling request and a resource read are approved as they are. */
export function canEditArguments(request: { readonly originalName: string }): boolean {
  return request.originalName !== SAMPLING_REQUEST && request.originalName !== RESOURCE_READ;
}

/** Checks edited arguments for the tool; returns them canonical, or why they cannot run. */
export function checkEditedArguments(edited: unknown, context: EditContext): EditCheck {
  if (edited === null || typeof edited !== 'object' || Array.isArray(edited)) {
    return { ok: false, message: 'The edited arguments must be a JSON object, like {"name": "value"}.' };
  }
  const canonical = canonicalJson(edited);
  if (Buffer.byteLength(canonical, 'utf8') > context.maxBytes) {
    return { ok: false, message: `The edited arguments are ${Math.ceil(Buffer.byteLength(canonical, 'utf8') / 1024)} KiB; a held call may carry at most ${context.maxBytes / 1024} KiB.` };
  }
  const args = JSON.parse(canonical) as Record<string, unknown>;
  if (!context.ownsAdditionalInfo && 'additional_info' in args) {
    return { ok: false, message: 'additional_info is the agent\'s note to you, not an argument of the tool: remove it from the edited arguments.' };
  }
  let validate: ValidateFunction;
  try {
    validate = validatorFor(context.tool);
  } catch (error) {
    return { ok: false, message: `Gatehouse cannot check edited arguments against ${context.tool.name}'s input schema (${error instanceof Error ? error.message : String(error)}), so it will not run them. Approve the call as it is, or deny it.` };
  }
  if (!validate(args)) return { ok: false, message: `${context.tool.name} does not accept these arguments: ${describeErrors(validate.errors ?? [])}.` };
  const verdict = context.evaluate(context.policyTool, args);
  if (verdict.decision === 'deny') {
    const why = verdict.rule ? `rule "${verdict.rule.id}"${verdict.rule.reason ? ` (${verdict.rule.reason})` : ''}` : (verdict.reason ?? 'the defaults');
    return { ok: false, message: `Your policy denies ${context.policyTool.exposedName ?? context.tool.name} with these arguments (${why}), and an edit cannot run what the policy denies. Change the arguments, or change that rule first.` };
  }
  return { ok: true, arguments: args, argumentsHash: argumentsHash(args) };
}

function validatorFor(tool: Tool): ValidateFunction {
  let validate = compiled.get(tool);
  if (!validate) {
    const schema = tool.inputSchema as Record<string, unknown>;
    const ajv = typeof schema.$schema === 'string' && /2020-12|2019-09/.test(schema.$schema) ? draft2020 : draft07;
    // Compiled without caching by $id: two upstreams may reuse an $id for different schemas.
    const { $id: _ignored, ...withoutId } = schema;
    validate = ajv.compile(withoutId);
    compiled.set(tool, validate);
  }
  return validate;
}

/** "name must be string; /content is required" — ajv's errors as one line a person can act on. */
function describeErrors(errors: readonly ErrorObject[]): string {
  const lines = errors.slice(0, 5).map((error) => {
    const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'the arguments';
    if (error.keyword === 'required') return `${where === 'the arguments' ? '' : `${where}.`}${String((error.params as { missingProperty?: string }).missingProperty)} is required`;
    if (error.keyword === 'additionalProperties') return `"${String((error.params as { additionalProperty?: string }).additionalProperty)}" is not an argument of this tool`;
    return `${where} ${error.message ?? 'is not valid'}`;
  });
  return `${[...new Set(lines)].join('; ')}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}`;
}
