import * as path from 'node:path';
import { z } from 'zod';
import { argumentsHash, canonicalJson } from './canonical';

export type Decision = 'allow' | 'ask' | 'deny';

const DECISION_RANK: Record<Decision, number> = { allow: 0, ask: 1, deny: 2 };

/** The stricter of two decisions: deny > ask > allow. */
export function stricter(a: Decision, b: Decision): Decision {
  return DECISION_RANK[a] >= DECISION_RANK[b] ? a : b;
}

/** The tool name that rules and grants match: `<server>__<tool>`, as the gateway exposes it. */
export function qualifiedToolName(server: string, toolName: string): string {
  return `${server}__${toolName}`;
}

// ---------------------------------------------------------------------------------------------
// Schema of policy.json
// ---------------------------------------------------------------------------------------------

export const DecisionSchema = z.enum(['allow', 'ask', 'deny']);

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

const MATCHER_KEYS = ['equals', 'in', 'glob', 'prefix', 'regex', 'lt', 'lte', 'gt', 'gte', 'exists'] as const;

export const MatcherObjectSchema = z
  .object({
    equals: z.unknown().optional(),
    in: z.array(z.unknown()).optional(),
    glob: z.string().optional(),
    prefix: z.string().optional(),
    regex: z
      .string()
      .refine(isValidRegex, { message: 'not a valid regular expression (JavaScript syntax, u flag)' })
      .optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    exists: z.boolean().optional(),
  })
  .strict()
  // An empty matcher would hold for every value: almost certainly a mistake in an allow rule.
  .refine((matcher) => MATCHER_KEYS.some((key) => key in matcher), {
    message: `a matcher needs at least one of ${MATCHER_KEYS.join(', ')}`,
  });

/** A bare JSON primitive is shorthand for `{ "equals": value }`. */
export const MatcherSchema = z.union([z.string(), z.number(), z.boolean(), z.null(), MatcherObjectSchema]);

export const WhenSchema = z
  .unknown()
  .superRefine((raw, ctx) => {
    // zod drops a `__proto__` key while copying a record, which would silently remove a condition.
    if (raw !== null && typeof raw === 'object' && Object.hasOwn(raw, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: '"__proto__" cannot be used as an argument path' });
    }
  })
  .pipe(
    z.record(
      z.string().refine((key) => key.length > 0 && key.split('.').every((segment) => segment.length > 0), {
        message: 'an argument path is dot-separated names, with no empty segment',
      }),
      MatcherSchema,
    ),
  );

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256');

export const RuleSchema = z
  .object({
    id: z.string().min(1).optional(),
    tool: z.string().min(1),
    when: WhenSchema.optional(),
    decision: DecisionSchema,
    reason: z.string().optional(),
    fingerprint: Sha256Schema.optional(),
  })
  .strict();

export const GrantSchema = z
  .object({
    id: z.string().min(1).optional(),
    tool: z.string().min(1),
    argumentsHash: Sha256Schema,
    /**
     * The arguments the human approved, kept so the panel can show what the grant covers. Only
     * `argumentsHash` decides: the file is writable by agents, so a reader shows these only
     * when they hash to `argumentsHash` (`grantArguments`).
     */
    arguments: z.record(z.string(), z.unknown()).optional(),
    fingerprint: Sha256Schema.optional(),
    createdAt: z.string().optional(),
    note: z.string().optional(),
  })
  .strict();

/** Arguments longer than this (as canonical JSON) are not copied into policy.json; the hash still binds the grant. */
export const MAX_GRANT_ARGUMENTS_CHARS = 4096;

/** The arguments to record with a new grant, or nothing when they are too long to keep. */
export function recordedGrantArguments(args: Record<string, unknown>): { arguments: Record<string, unknown> } | Record<string, never> {
  return canonicalJson(args).length <= MAX_GRANT_ARGUMENTS_CHARS ? { arguments: args } : {};
}

/**
 * What a grant covers, for display: its recorded arguments when they are the ones its hash
 * binds, `mismatch` when the file says otherwise (edited by hand or by an agent), `unknown`
 * when none were recorded (grants from before, or arguments too long to keep).
 */
export function grantArguments(grant: { readonly argumentsHash: string; readonly arguments?: Record<string, unknown> }): { readonly kind: 'shown'; readonly arguments: Record<string, unknown> } | { readonly kind: 'mismatch' | 'unknown' } {
  if (grant.arguments === undefined) return { kind: 'unknown' };
  return argumentsHash(grant.arguments) === grant.argumentsHash ? { kind: 'shown', arguments: grant.arguments } : { kind: 'mismatch' };
}

/** `name: "notes.txt", content: "hi"` for a grant; the hash when the arguments cannot be shown, saying why. */
export function describeGrantArguments(grant: { readonly argumentsHash: string; readonly arguments?: Record<string, unknown> }): string {
  const covered = grantArguments(grant);
  if (covered.kind === 'shown') {
    const entries = Object.entries(covered.arguments);
    return entries.length === 0 ? 'no arguments' : entries.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(', ');
  }
  const hash = `${grant.argumentsHash.slice(0, 12)}…`;
  return covered.kind === 'mismatch' ? `arguments written in policy.json do not match this grant (it covers the arguments with hash ${hash})` : `arguments not recorded (hash ${hash})`;
}

export const DefaultsSchema = z
  .object({
    readOnly: DecisionSchema.default('allow'),
    destructive: DecisionSchema.default('ask'),
    other: DecisionSchema.default('ask'),
    servers: z.record(z.string(), DecisionSchema).default({}),
  })
  .strict();

function assignIds<T extends { id?: string }>(items: readonly T[], prefix: string): Array<T & { id: string }> {
  const taken = new Set(items.flatMap((item) => (item.id === undefined ? [] : [item.id])));
  return items.map((item, index) => {
    if (item.id !== undefined) return { ...item, id: item.id };
    let id = `${prefix}-${index + 1}`;
    for (let n = 2; taken.has(id); n++) id = `${prefix}-${index + 1}-${n}`;
    taken.add(id);
    return { ...item, id };
  });
}

function duplicateIds(items: ReadonlyArray<{ id?: string }>): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { id } of items) {
    if (id === undefined) continue;
    if (seen.has(id)) duplicates.add(id);
    seen.add(id);
  }
  return [...duplicates];
}

/**
 * `<GATEHOUSE_HOME>/policy.json`. Every field is optional; rules and grants without an `id`
 * get a stable positional one (`rule-3`, `grant-1`) so the UI and the audit log can name them.
 */
export const PolicyFileSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    defaults: DefaultsSchema.prefault({}),
    rules: z.array(RuleSchema).default([]),
    grants: z.array(GrantSchema).default([]),
  })
  .strict()
  .superRefine((policy, ctx) => {
    for (const id of duplicateIds(policy.rules)) ctx.addIssue({ code: 'custom', path: ['rules'], message: `rule id "${id}" is used twice` });
    for (const id of duplicateIds(policy.grants)) ctx.addIssue({ code: 'custom', path: ['grants'], message: `grant id "${id}" is used twice` });
  })
  .transform((policy) => ({ ...policy, rules: assignIds(policy.rules, 'rule'), grants: assignIds(policy.grants, 'grant') }));

export type PolicyFile = z.output<typeof PolicyFileSchema>;
export type PolicyFileInput = z.input<typeof PolicyFileSchema>;
export type PolicyRule = PolicyFile['rules'][number];
export type PolicyRuleInput = z.input<typeof RuleSchema>;
export type PolicyGrant = PolicyFile['grants'][number];
export type PolicyGrantInput = z.input<typeof GrantSchema>;
export type Matcher = z.output<typeof MatcherSchema>;
export type MatcherObject = z.output<typeof MatcherObjectSchema>;

/** What applies when policy.json does not exist. */
export function defaultPolicy(): PolicyFile {
  return PolicyFileSchema.parse({});
}

/** Validates and normalises a policy object (ids assigned); throws a zod error when invalid. */
export function parsePolicy(raw: unknown): PolicyFile {
  return PolicyFileSchema.parse(raw);
}

// ---------------------------------------------------------------------------------------------
// Glob
// ---------------------------------------------------------------------------------------------

const globCache = new Map<string, RegExp>();

/**
 * A glob as an anchored regex. For paths, `*` and `?` never cross `/`; `**` crosses anything,
 * and `**` followed by `/` also matches zero directories. Tool names are not paths, so there (`forPaths`
 * false) `*` matches any run of characters: a deny rule must not be dodged by a `/` in a name.
 * Every other character is literal (no classes, no braces).
 */
export function globToRegExp(glob: string, forPaths = true): RegExp {
  const key = `${forPaths ? 'p' : 'n'}:${glob}`;
  const cached = globCache.get(key);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          source += '(?:.*/)?';
        } else {
          source += '.*';
        }
      } else {
        source += forPaths ? '[^/]*' : '.*';
      }
    } else if (char === '?') {
      source += forPaths ? '[^/]' : '.';
    } else {
      source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^${source}$`, 'su');
  if (globCache.size > 1000) globCache.clear();
  globCache.set(key, regex);
  return regex;
}

export function globMatches(glob: string, value: string): boolean {
  return globToRegExp(glob.normalize('NFC')).test(value.normalize('NFC'));
}

/** Matches a rule's `tool` glob against `<server>__<tool>`. */
export function toolGlobMatches(glob: string, qualifiedName: string): boolean {
  return globToRegExp(glob.normalize('NFC'), false).test(qualifiedName.normalize('NFC'));
}

/**
 * Each rule's compiled globs, held as long as the parsed policy that owns them. `globCache` is
 * bounded and cleared when full, so a policy with more globs than that bound would recompile
 * every one of them on every call.
 */
const ruleToolRegex = new WeakMap<PolicyRule, RegExp>();
const matcherGlobRegex = new WeakMap<MatcherObject, RegExp>();

function ruleToolMatches(rule: PolicyRule, nfcQualifiedName: string): boolean {
  let regex = ruleToolRegex.get(rule);
  if (!regex) {
    regex = globToRegExp(rule.tool.normalize('NFC'), false);
    ruleToolRegex.set(rule, regex);
  }
  return regex.test(nfcQualifiedName);
}

function matcherGlob(matcher: MatcherObject, glob: string): RegExp {
  let regex = matcherGlobRegex.get(matcher);
  if (!regex) {
    regex = globToRegExp(glob.normalize('NFC'));
    matcherGlobRegex.set(matcher, regex);
  }
  return regex;
}

const restrictGlobRegexes = new WeakMap<MatcherObject, RegExp[]>();
const restrictPrefixes = new WeakMap<MatcherObject, string[]>();

/** A restricting matcher's glob as written and lower-cased, compiled once per parsed matcher. */
function restrictGlobs(matcher: MatcherObject, glob: string): RegExp[] {
  let regexes = restrictGlobRegexes.get(matcher);
  if (!regexes) {
    regexes = [...new Set([glob, glob.toLowerCase()].map((variant) => variant.normalize('NFC')))].map((variant) => globToRegExp(variant));
    restrictGlobRegexes.set(matcher, regexes);
  }
  return regexes;
}

function restrictPrefixVariants(matcher: MatcherObject, prefix: string): string[] {
  let variants = restrictPrefixes.get(matcher);
  if (!variants) {
    variants = [...new Set([prefix.normalize('NFC'), foldText(prefix), normalisePosixPath(prefix)])];
    restrictPrefixes.set(matcher, variants);
  }
  return variants;
}

/**
 * Which rules' tool globs match a name, per parsed rule list: the list is replaced, never
 * mutated, when the policy changes, so a name's candidates are computed once instead of testing
 * every rule's glob on every call. Bounded, because agents choose the names they call.
 */
const candidatesByRules = new WeakMap<readonly PolicyRule[], Map<string, PolicyRule[]>>();
const MAX_MEMO_NAMES = 10_000;

function rulesNaming(rules: readonly PolicyRule[], nfcQualifiedName: string): PolicyRule[] {
  let byName = candidatesByRules.get(rules);
  if (!byName) {
    byName = new Map();
    candidatesByRules.set(rules, byName);
  }
  let candidates = byName.get(nfcQualifiedName);
  if (!candidates) {
    candidates = rules.filter((rule) => ruleToolMatches(rule, nfcQualifiedName));
    if (byName.size >= MAX_MEMO_NAMES) byName.clear();
    byName.set(nfcQualifiedName, candidates);
  }
  return candidates;
}

// ---------------------------------------------------------------------------------------------
// Matching arguments
// ---------------------------------------------------------------------------------------------

/**
 * Which way a rule errs. Allow rules must be sure: a value matches only in the one shape and
 * reading the matcher names (`every` element of a `*`, unsafe paths never match, a string where
 * a number is expected only when it is a plain decimal). Ask and deny rules must be eager: they
 * match when any plausible reading of the value could match (`any` element, arrays and nested
 * arrays looked into, case, width and whitespace folded, numbers read the way lenient parsers do),
 * and a value of a shape the matcher cannot judge counts as a match. Either way a doubtful value
 * ends in the stricter decision.
 */
type MatchMode = 'allow' | 'restrict';

const MISSING = Symbol('missing');
type Leaf = unknown | typeof MISSING;

function ownMember(container: unknown, segment: string, mode: MatchMode): Leaf[] {
  if (Array.isArray(container)) {
    if (/^(?:0|[1-9]\d*)$/.test(segment)) {
      const index = Number(segment);
      return [index < container.length ? container[index] : MISSING];
    }
    // `items.path` over an array of items: an upstream may well read each one.
    if (mode === 'restrict' && container.length > 0) return container.flatMap((element) => ownMember(element, segment, mode));
    return [MISSING];
  }
  if (container !== null && typeof container === 'object' && Object.hasOwn(container, segment)) {
    return [(container as Record<string, unknown>)[segment]];
  }
  return [MISSING];
}

/** Every value a dotted path reaches; `*` fans out over array elements. An empty fan-out is MISSING. */
function resolvePath(root: unknown, segments: readonly string[], mode: MatchMode): Leaf[] {
  let current: Leaf[] = [root];
  for (const segment of segments) {
    const next: Leaf[] = [];
    for (const value of current) {
      if (value === MISSING) {
        next.push(MISSING);
      } else if (segment === '*') {
        if (Array.isArray(value) && value.length > 0) next.push(...value);
        // A single value where a list was expected (`"paths": "/etc/passwd"`) is still checked.
        else if (mode === 'restrict' && !Array.isArray(value)) next.push(...(value !== null && typeof value === 'object' ? Object.values(value) : [value]));
        else next.push(MISSING);
      } else {
        next.push(...ownMember(value, segment, mode));
      }
    }
    current = next;
  }
  return current;
}

function normaliseDeep(value: unknown): unknown {
  if (typeof value === 'string') return value.normalize('NFC');
  if (Array.isArray(value)) return value.map(normaliseDeep);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      Object.defineProperty(copy, key.normalize('NFC'), { value: normaliseDeep(member), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}

const PLAIN_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** A number, or a string that is unmistakably one (`"25"`, `"-2.5"`); never `"2.5e1"`, `" 25"`, `"0x19"`. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && PLAIN_DECIMAL.test(value)) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/**
 * Every number a lenient reader could take a value for: `Number()` (exponents, hex, binary,
 * surrounding space), `parseFloat`/`parseInt` (leading digits), underscores dropped, full-width
 * digits folded, booleans as 0/1. Empty when no reader sees a number.
 */
function numberReadings(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (typeof value === 'boolean') return [value ? 1 : 0];
  if (typeof value !== 'string') return [];
  const readings = new Set<number>();
  const folded = value.normalize('NFKC');
  for (const text of [value, folded, folded.replace(/_/g, ''), folded.trim()]) {
    for (const reading of [Number(text), parseFloat(text), parseInt(text, 10), parseInt(text)]) if (Number.isFinite(reading) && text.trim() !== '') readings.add(reading);
  }
  return [...readings];
}

/** Case, width, whitespace and invisible characters folded away: how a lenient upstream might compare. */
function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\p{Cf}\p{Cc}]/gu, '')
    .trim()
    .toLowerCase();
}

function valuesEqual(expected: unknown, actual: unknown): boolean {
  if (typeof expected === 'number') {
    const actualNumber = asNumber(actual);
    return actualNumber !== undefined && actualNumber === expected;
  }
  return canonicalJson(normaliseDeep(expected)) === canonicalJson(normaliseDeep(actual));
}

/** Whether a restricting rule's `equals` could hold for a scalar `actual` under a lenient reading. */
function looselyEqual(expected: unknown, actual: unknown): boolean {
  if (valuesEqual(expected, actual)) return true;
  if (typeof expected === 'number') return numberReadings(actual).includes(expected);
  if (typeof expected === 'string' || typeof expected === 'boolean') {
    if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return false;
    return foldText(String(actual)) === foldText(String(expected));
  }
  return false;
}

/**
 * One evaluation's memo of a value's path readings: every rule with a path condition on the
 * same argument would otherwise recompute them.
 */
type ReadingsMemo = Record<MatchMode, Map<string, string[]>>;

function memoisedPathReadings(value: string, mode: MatchMode, memo: ReadingsMemo): string[] {
  const byValue = memo[mode];
  let readings = byValue.get(value);
  if (!readings) {
    readings = pathReadings(value, mode);
    byValue.set(value, readings);
  }
  return readings;
}

/** Readings of a path value under which a glob is checked, or none when an allow rule must not trust it. */
function pathReadings(value: string, mode: MatchMode): string[] {
  const nfc = value.normalize('NFC');
  if (mode === 'allow') {
    // A NUL truncates the path in C, a backslash is a separator on Windows: both can make the
    // upstream see a different path than the one matched here.
    if (nfc.includes('\0') || nfc.includes('\\')) return [];
    const normal = normalisePosixPath(nfc);
    if (normal === '..' || normal.startsWith('../')) return [];
    return [normal];
  }
  const candidates = new Set<string>();
  for (const text of new Set([nfc, nfc.trim(), foldText(nfc), nfc.replace(/[\p{Cf}]/gu, '')])) {
    for (const variant of [text, text.split('\0')[0]]) {
      candidates.add(variant);
      candidates.add(normalisePosixPath(variant));
      candidates.add(normalisePosixPath(variant.replace(/\\/g, '/')));
    }
  }
  return [...candidates];
}

function normalisePosixPath(value: string): string {
  if (value === '') return value;
  const normal = path.posix.normalize(value);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

const regexCache = new Map<string, RegExp>();

function compiledRegex(pattern: string, flags = 'u'): RegExp {
  const key = `${flags}:${pattern}`;
  let regex = regexCache.get(key);
  if (!regex) {
    regex = new RegExp(pattern, flags);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, regex);
  }
  return regex;
}

function matcherObject(matcher: Matcher): MatcherObject {
  return matcher !== null && typeof matcher === 'object' ? matcher : { equals: matcher };
}

const BOUNDS: ReadonlyArray<[keyof MatcherObject & ('lt' | 'lte' | 'gt' | 'gte'), (actual: number, bound: number) => boolean]> = [
  ['lt', (actual, bound) => actual < bound],
  ['lte', (actual, bound) => actual <= bound],
  ['gt', (actual, bound) => actual > bound],
  ['gte', (actual, bound) => actual >= bound],
];

/** An allow rule's condition: true only for the exact shape and reading the matcher names. */
function allowLeafMatches(object: MatcherObject, leaf: Leaf, memo: ReadingsMemo): boolean {
  if (leaf === MISSING) return object.exists === false && Object.keys(object).length === 1;
  if (object.exists === false) return false;
  if ('equals' in object && !valuesEqual(object.equals, leaf)) return false;
  if (object.in !== undefined && !object.in.some((candidate) => valuesEqual(candidate, leaf))) return false;
  if (object.glob !== undefined) {
    if (typeof leaf !== 'string') return false;
    const glob = object.glob;
    const regex = matcherGlob(object, glob);
    if (!memoisedPathReadings(leaf, 'allow', memo).some((reading) => regex.test(reading))) return false;
  }
  if (object.prefix !== undefined) {
    if (typeof leaf !== 'string' || leaf.includes('\0')) return false;
    const prefix = object.prefix.normalize('NFC');
    const text = leaf.normalize('NFC');
    // `/srv/../etc` starts with `/srv/` but is not under it.
    if (!text.startsWith(prefix) || (text.includes('/') && !normalisePosixPath(text).startsWith(normalisePosixPath(prefix)))) return false;
  }
  if (object.regex !== undefined) {
    if (typeof leaf !== 'string' || !compiledRegex(object.regex).test(leaf.normalize('NFC'))) return false;
  }
  for (const [key, holds] of BOUNDS) {
    const bound = object[key];
    if (bound === undefined) continue;
    const actual = asNumber(leaf);
    if (actual === undefined || !holds(actual, bound)) return false;
  }
  return true;
}

/** A restricting rule's condition: true unless the value surely does not match. */
function restrictLeafMatches(object: MatcherObject, leaf: Leaf, memo: ReadingsMemo): boolean {
  if (leaf === MISSING) return object.exists === false && Object.keys(object).length === 1;
  if (object.exists === false) return false;
  if (Array.isArray(leaf)) {
    const wholeArray = ('equals' in object && valuesEqual(object.equals, leaf)) || object.in?.some((candidate) => valuesEqual(candidate, leaf));
    if (wholeArray) return true;
    // An empty list: nothing to judge it by, so the stricter reading.
    return leaf.length === 0 || leaf.some((element) => restrictLeafMatches(object, element, memo));
  }
  // An object where a scalar was expected: no comparison can clear it.
  const opaque = leaf !== null && typeof leaf === 'object';
  if ('equals' in object && !opaque && !looselyEqual(object.equals, leaf)) return false;
  if (object.in !== undefined && !opaque && !object.in.some((candidate) => looselyEqual(candidate, leaf))) return false;
  const text = typeof leaf === 'string' ? leaf : typeof leaf === 'number' ? String(leaf) : undefined;
  const textual = object.glob !== undefined || object.prefix !== undefined || object.regex !== undefined;
  // A value no string matcher can judge (an object, null, a boolean) counts as matching.
  if (textual && text === undefined) return true;
  if (object.glob !== undefined && text !== undefined) {
    const globs = restrictGlobs(object, object.glob);
    if (!memoisedPathReadings(text, 'restrict', memo).some((reading) => globs.some((glob) => glob.test(reading)))) return false;
  }
  if (object.prefix !== undefined && text !== undefined) {
    const prefixes = restrictPrefixVariants(object, object.prefix);
    if (!memoisedPathReadings(text, 'restrict', memo).some((reading) => prefixes.some((prefix) => reading.startsWith(prefix) || reading.toLowerCase().startsWith(prefix.toLowerCase())))) return false;
  }
  if (object.regex !== undefined && text !== undefined) {
    const readings = [text, text.normalize('NFC'), text.trim(), foldText(text)];
    const patterns = [compiledRegex(object.regex), compiledRegex(object.regex, 'iu')];
    if (!readings.some((reading) => patterns.some((pattern) => pattern.test(reading)))) return false;
  }
  const bounds = BOUNDS.filter(([key]) => object[key] !== undefined);
  if (bounds.length > 0) {
    const readings = numberReadings(leaf);
    // Not a number to any reader: the upstream's reading is unknown, so the rule applies.
    if (readings.length > 0 && !bounds.every(([key, holds]) => readings.some((reading) => holds(reading, object[key] as number)))) return false;
  }
  return true;
}

interface Condition {
  readonly segments: readonly string[];
  readonly object: MatcherObject;
}

/** Each rule's conditions split and normalised once, held as long as the parsed rule. */
const ruleConditions = new WeakMap<PolicyRule, readonly Condition[]>();

function conditionsOf(rule: PolicyRule): readonly Condition[] {
  let conditions = ruleConditions.get(rule);
  if (!conditions) {
    conditions = Object.entries(rule.when ?? {}).map(([dottedPath, matcher]) => ({ segments: dottedPath.split('.'), object: matcherObject(matcher) }));
    ruleConditions.set(rule, conditions);
  }
  return conditions;
}

function conditionHolds(args: Record<string, unknown>, condition: Condition, mode: MatchMode, memo: ReadingsMemo): boolean {
  const leaves = resolvePath(args, condition.segments, mode);
  const { object } = condition;
  return mode === 'allow' ? leaves.every((leaf) => allowLeafMatches(object, leaf, memo)) : leaves.some((leaf) => restrictLeafMatches(object, leaf, memo));
}

/** Whether a rule whose tool glob already matched holds for these arguments. */
function conditionsHold(rule: PolicyRule, args: Record<string, unknown>, memo: ReadingsMemo): boolean {
  if (rule.when === undefined) return true;
  const mode: MatchMode = rule.decision === 'allow' ? 'allow' : 'restrict';
  return conditionsOf(rule).every((condition) => conditionHolds(args, condition, mode, memo));
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

export interface PolicyTool {
  /** The upstream tool's own name, without the `<server>__` prefix. */
  readonly name: string;
  readonly server: string;
  /**
   * The name the agent calls, as the gateway exposes it (cleaned, made unique, `_2` and so on).
   * Rules and grants speak of this name; without it, of `<server>__<name>`.
   */
  readonly exposedName?: string;
  /**
   * `<server>__<name>` when cleaning changed it and no other tool is exposed under it: deny and ask
   * rules written for that raw name still restrict this tool.
   */
  readonly legacyName?: string;
  readonly annotations?: { readonly readOnlyHint?: boolean; readonly destructiveHint?: boolean };
  /** `toolFingerprint()` of the tool as the upstream lists it now. */
  readonly fingerprint?: string;
}

export interface PolicyVerdict {
  readonly decision: Decision;
  readonly source: 'rule' | 'grant' | 'default';
  readonly rule?: { readonly id: string; readonly tool: string; readonly decision: Decision; readonly reason?: string };
  readonly grant?: { readonly id: string; readonly tool: string };
  readonly reason?: string;
  /** Set when an allow came from a rule or grant made for a different version of the tool. */
  readonly suspended?: { readonly ruleOrGrantId: string; readonly recorded: string; readonly current: string };
}

function fingerprintDiffers(recorded: string | undefined, current: string | undefined): boolean {
  return recorded !== undefined && recorded !== current;
}

function ruleVerdict(rule: PolicyRule, decision: Decision, extra: Partial<PolicyVerdict> = {}): PolicyVerdict {
  return {
    decision,
    source: 'rule',
    rule: { id: rule.id, tool: rule.tool, decision: rule.decision, ...(rule.reason !== undefined ? { reason: rule.reason } : {}) },
    ...(rule.reason !== undefined ? { reason: rule.reason } : {}),
    ...extra,
  };
}

function suspension(id: string, recorded: string, current: string | undefined): PolicyVerdict['suspended'] {
  return { ruleOrGrantId: id, recorded, current: current ?? 'unknown' };
}

/** The decision when no rule matches: annotations first, then the per-server default, then `other`. */
export function defaultVerdict(policy: PolicyFile, tool: PolicyTool): PolicyVerdict {
  const { defaults } = policy;
  if (tool.annotations?.destructiveHint === true) {
    return { decision: defaults.destructive, source: 'default', reason: `the tool is marked destructive; defaults.destructive is "${defaults.destructive}"` };
  }
  if (tool.annotations?.readOnlyHint === true) {
    return { decision: defaults.readOnly, source: 'default', reason: `the tool is marked read-only; defaults.readOnly is "${defaults.readOnly}"` };
  }
  if (Object.hasOwn(defaults.servers, tool.server)) {
    const decision = defaults.servers[tool.server];
    return { decision, source: 'default', reason: `defaults.servers["${tool.server}"] is "${decision}"` };
  }
  return { decision: defaults.other, source: 'default', reason: `no rule matches; defaults.other is "${defaults.other}"` };
}

/**
 * Decides one call. Precedence: a matching deny rule; else an exact-arguments grant (it beats
 * ask rules, because the human approved exactly these arguments); else a matching ask rule; else
 * a matching allow rule; else the defaults. A grant never overrides a deny, even a default one.
 * An allow rule or grant whose recorded fingerprint differs from the tool's current one is
 * suspended and counts as ask.
 */
export function evaluatePolicy(policy: PolicyFile, tool: PolicyTool, args: Record<string, unknown>): PolicyVerdict {
  const name = tool.exposedName ?? qualifiedToolName(tool.server, tool.name);
  const nfcName = name.normalize('NFC');
  // A deny or ask rule written for the raw name still restricts the tool it named; an allow only
  // ever counts for the name the agent sees, so it never reaches a tool the human did not see named.
  const legacy = tool.legacyName?.normalize('NFC');
  const memo: ReadingsMemo = { allow: new Map(), restrict: new Map() };
  const named = rulesNaming(policy.rules, nfcName);
  let candidates = named;
  if (legacy !== undefined) {
    const either = new Set([...named, ...rulesNaming(policy.rules, legacy).filter((rule) => rule.decision !== 'allow')]);
    // In the policy's own order, which decides which rule is reported among equal decisions.
    candidates = policy.rules.filter((rule) => either.has(rule));
  }
  const matching = candidates.filter((rule) => conditionsHold(rule, args ?? {}, memo));

  const deny = matching.find((rule) => rule.decision === 'deny');
  if (deny) return ruleVerdict(deny, 'deny');

  const grants = policy.grants.filter((grant) => grant.tool === name);
  let suspendedGrant: PolicyVerdict | undefined;
  if (grants.length > 0) {
    const hash = argumentsHash(args ?? {});
    for (const grant of grants.filter((candidate) => candidate.argumentsHash === hash)) {
      const grantRef = { id: grant.id, tool: grant.tool };
      if (fingerprintDiffers(grant.fingerprint, tool.fingerprint)) {
        suspendedGrant ??= {
          decision: 'ask',
          source: 'grant',
          grant: grantRef,
          reason: `the tool's description or schema changed since grant "${grant.id}" was given; approve it again`,
          suspended: suspension(grant.id, grant.fingerprint as string, tool.fingerprint),
        };
        continue;
      }
      // A grant never lifts a default deny, not even through an ask rule added over it; only an
      // allow rule the human made (or confirmed) does.
      if (defaultVerdict(policy, tool).decision === 'deny' && !matching.some((rule) => rule.decision === 'allow' && !fingerprintDiffers(rule.fingerprint, tool.fingerprint))) break;
      return { decision: 'allow', source: 'grant', grant: grantRef, reason: `the human approved these exact arguments (grant "${grant.id}")` };
    }
  }

  for (const rule of matching) {
    if (rule.decision === 'ask') return ruleVerdict(rule, 'ask');
    if (rule.decision === 'allow' && rule.fingerprint !== undefined && fingerprintDiffers(rule.fingerprint, tool.fingerprint)) {
      return ruleVerdict(rule, 'ask', {
        reason: `the tool's description or schema changed since rule "${rule.id}" was made; confirm the rule again`,
        suspended: suspension(rule.id, rule.fingerprint, tool.fingerprint),
      });
    }
  }
  if (suspendedGrant) return suspendedGrant;

  const allow = matching.find((rule) => rule.decision === 'allow');
  if (allow) return ruleVerdict(allow, 'allow');
  return defaultVerdict(policy, tool);
}

export type PolicyEvaluator = (tool: PolicyTool, args: Record<string, unknown>) => PolicyVerdict;

/**
 * While a loosening edit waits for the human, every call gets the stricter verdict of the two
 * policies: the edit's tightenings apply at once, its loosenings only after confirmation.
 */
export function combineWhilePending(current: PolicyFile, proposed: PolicyFile): PolicyEvaluator {
  return (tool, args) => {
    const fromCurrent = evaluatePolicy(current, tool, args);
    const fromProposed = evaluatePolicy(proposed, tool, args);
    return DECISION_RANK[fromProposed.decision] > DECISION_RANK[fromCurrent.decision] ? fromProposed : fromCurrent;
  };
}

// ---------------------------------------------------------------------------------------------
// Loosening detection
// ---------------------------------------------------------------------------------------------

function ruleShape(rule: PolicyRule, withFingerprint: boolean): string {
  return canonicalJson({ tool: rule.tool, when: rule.when ?? {}, ...(withFingerprint ? { fingerprint: rule.fingerprint } : {}) });
}

function grantShape(grant: PolicyGrant): string {
  return canonicalJson({ tool: grant.tool, argumentsHash: grant.argumentsHash, fingerprint: grant.fingerprint });
}

/**
 * Every way `next` might allow or ask for something `previous` asked for or denied, in words.
 * Conservative on purpose: a change counts as loosening unless it is provably tightening or
 * neutral (rules added as ask/deny, allow rules removed, defaults made stricter, grants removed,
 * reasons, ids and order changed). Rule order never matters because precedence is by decision.
 */
export function describeLoosening(previous: PolicyFile, next: PolicyFile): string[] {
  const changes: string[] = [];
  for (const key of ['readOnly', 'destructive', 'other'] as const) {
    if (DECISION_RANK[next.defaults[key]] < DECISION_RANK[previous.defaults[key]]) {
      changes.push(`defaults.${key} goes from "${previous.defaults[key]}" to "${next.defaults[key]}"`);
    }
  }
  const servers = new Set([...Object.keys(previous.defaults.servers), ...Object.keys(next.defaults.servers)]);
  for (const server of servers) {
    const before = Object.hasOwn(previous.defaults.servers, server) ? previous.defaults.servers[server] : previous.defaults.other;
    const after = Object.hasOwn(next.defaults.servers, server) ? next.defaults.servers[server] : next.defaults.other;
    if (DECISION_RANK[after] < DECISION_RANK[before]) changes.push(`the default for server "${server}" goes from "${before}" to "${after}"`);
  }

  for (const rule of next.rules.filter((candidate) => candidate.decision === 'allow')) {
    const shape = ruleShape(rule, false);
    const covered = previous.rules.some(
      (old) =>
        old.decision === 'allow' &&
        ruleShape(old, false) === shape &&
        (old.fingerprint === undefined || old.fingerprint === rule.fingerprint),
    );
    if (!covered) changes.push(`allow rule "${rule.id}" for ${rule.tool} is new or widened`);
  }
  for (const rule of previous.rules.filter((candidate) => candidate.decision !== 'allow')) {
    const shape = ruleShape(rule, false);
    const kept = next.rules.some((candidate) => ruleShape(candidate, false) === shape && DECISION_RANK[candidate.decision] >= DECISION_RANK[rule.decision]);
    if (!kept) changes.push(`${rule.decision} rule "${rule.id}" for ${rule.tool} is removed, narrowed or relaxed`);
  }

  // An ask rule beats the defaults, so over a default deny it turns deny into ask.
  const deniedByDefault = [next.defaults.readOnly, next.defaults.destructive, next.defaults.other, ...Object.values(next.defaults.servers)].includes('deny');
  if (deniedByDefault) {
    for (const rule of next.rules.filter((candidate) => candidate.decision === 'ask')) {
      const shape = ruleShape(rule, false);
      const existed = previous.rules.some((old) => old.decision !== 'allow' && ruleShape(old, false) === shape);
      if (!existed) changes.push(`ask rule "${rule.id}" for ${rule.tool} is new, and where a default denies it asks instead`);
    }
  }

  const previousGrants = new Set(previous.grants.map(grantShape));
  for (const grant of next.grants) {
    if (!previousGrants.has(grantShape(grant))) changes.push(`grant "${grant.id}" for ${grant.tool} is new (${describeGrantArguments(grant)})`);
  }
  return changes;
}

/** True when `next` might allow or ask for something `previous` asked for or denied. */
export function isLooser(previous: PolicyFile, next: PolicyFile): boolean {
  return describeLoosening(previous, next).length > 0;
}

// ---------------------------------------------------------------------------------------------
// Edits (pure: each returns a new policy; PolicyStore writes it)
// ---------------------------------------------------------------------------------------------

function uniqueId(prefix: string, taken: ReadonlySet<string>): string {
  let n = taken.size + 1;
  while (taken.has(`${prefix}-${n}`)) n++;
  return `${prefix}-${n}`;
}

function findIndexOrThrow(items: ReadonlyArray<{ id: string }>, id: string, kind: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index < 0) throw new Error(`There is no ${kind} with id "${id}" in the policy; it may have been removed already.`);
  return index;
}

/** Adds a rule (at `index`, default the end). A missing id is generated; a taken id is refused. */
export function addRule(policy: PolicyFile, rule: PolicyRuleInput, index = policy.rules.length): PolicyFile {
  const parsed = RuleSchema.parse(rule);
  const taken = new Set(policy.rules.map((existing) => existing.id));
  if (parsed.id !== undefined && taken.has(parsed.id)) throw new Error(`A rule with id "${parsed.id}" already exists; choose another id.`);
  const withId: PolicyRule = { ...parsed, id: parsed.id ?? uniqueId('rule', taken) };
  const rules = [...policy.rules];
  rules.splice(Math.max(0, Math.min(index, rules.length)), 0, withId);
  return { ...policy, rules };
}

export function removeRule(policy: PolicyFile, id: string): PolicyFile {
  const index = findIndexOrThrow(policy.rules, id, 'rule');
  return { ...policy, rules: policy.rules.filter((_, position) => position !== index) };
}

/** Moves a rule; only changes which rule is reported among equal decisions. */
export function moveRule(policy: PolicyFile, id: string, toIndex: number): PolicyFile {
  const index = findIndexOrThrow(policy.rules, id, 'rule');
  const rules = [...policy.rules];
  const [rule] = rules.splice(index, 1);
  rules.splice(Math.max(0, Math.min(toIndex, rules.length)), 0, rule);
  return { ...policy, rules };
}

export function addGrant(policy: PolicyFile, grant: PolicyGrantInput): PolicyFile {
  const parsed = GrantSchema.parse(grant);
  const taken = new Set(policy.grants.map((existing) => existing.id));
  if (parsed.id !== undefined && taken.has(parsed.id)) throw new Error(`A grant with id "${parsed.id}" already exists; choose another id.`);
  const withId: PolicyGrant = { ...parsed, id: parsed.id ?? uniqueId('grant', taken), createdAt: parsed.createdAt ?? new Date().toISOString() };
  return { ...policy, grants: [...policy.grants, withId] };
}

export function removeGrant(policy: PolicyFile, id: string): PolicyFile {
  const index = findIndexOrThrow(policy.grants, id, 'grant');
  return { ...policy, grants: policy.grants.filter((_, position) => position !== index) };
}

/**
 * The three-state per-tool control of the UI. Replaces the first argument-less rule whose
 * `tool` is exactly `toolName` (dropping any further ones), or appends one; `'default'` removes
 * them all so the defaults decide again.
 */
export function setToolDecision(policy: PolicyFile, toolName: string, decision: Decision | 'default', fingerprint?: string): PolicyFile {
  const isToolRule = (rule: PolicyRule): boolean => rule.tool === toolName && Object.keys(rule.when ?? {}).length === 0;
  const existing = policy.rules.find(isToolRule);
  if (decision === 'default') return { ...policy, rules: policy.rules.filter((rule) => !isToolRule(rule)) };
  if (!existing) return addRule(policy, { tool: toolName, decision, ...(fingerprint !== undefined ? { fingerprint } : {}) });
  const replacement: PolicyRule = { id: existing.id, tool: toolName, decision, ...(existing.reason !== undefined ? { reason: existing.reason } : {}) };
  if (fingerprint !== undefined) replacement.fingerprint = RuleSchema.shape.fingerprint.parse(fingerprint);
  return {
    ...policy,
    rules: policy.rules.flatMap((rule) => (rule === existing ? [replacement] : isToolRule(rule) ? [] : [rule])),
  };
}
