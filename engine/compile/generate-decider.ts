// Stage: the policy set's decision function, generated once at compile time (after the index). It is
// written the way one would write the policies by hand: `switch` on the principal type, the action and
// the resource type, then the bucket's conditions inline, deny rules first. A decision is one call to
// one function, where deciding through the index is three Map lookups and a call per rule, each call
// site seeing every rule's function (megamorphic).
// Which rules matched is a bit mask per side of a bucket; the outcome of each mask is built on first use,
// frozen and shared by every later decision with the same matches.
// V8 optimizes a function only below a size, and an unoptimized decision function is slower than the
// index: past FUNCTION_BUDGET the largest parts (a principal type's code, an action's, a bucket's) move
// to functions of their own, each called from one place. A bucket with more rules than a mask holds
// decides through its rules' functions; a set past MAX_GENERATED_SOURCE, through the index.
import { NO_ALLOW, outcomeOf, type Decider, type Outcome } from '../decide/outcome.js';
import type { AuthorizeRequest, Bucket, CompiledRule, DecisionIndex, RuleRef } from '../types.js';
import { bucketFor } from '../decide/bucket-for.js';
import { CodeGen, declareTemps, type Bags } from './compile-condition.js';

/** Rules on one side of a bucket, so that a mask is a small integer. */
const MAX_RULES_PER_SIDE = 30;
/** Generated source of one function, in characters: well below what V8 still optimizes. */
export const FUNCTION_BUDGET = 24_000;
/**
 * Generated source of a whole set, past which it decides through the index: a set's code grows with
 * its rules times their buckets, and past about this size it measured no faster than the index on
 * requests spread over many buckets (bench/README.md).
 */
export const MAX_GENERATED_SOURCE = 150_000;

const BAGS: Bags = { principal: 'pa', resource: 'ra', context: 'cx' };
const PROLOGUE =
  'const pa = req.principal.attributes, ra = req.resource.attributes, cx = req.context, a = req.action, r = req.resource.type;';

export interface DeciderOptions {
  functionBudget?: number;
  maxSource?: number;
}

export function generateDecider(index: DecisionIndex, options: DeciderOptions = {}): Decider {
  return generate(index, options) ?? indexDecider(index);
}

/** One side of one bucket: its rules and the outcomes of the masks seen so far. */
interface Side {
  effect: 'allow' | 'deny';
  rules: CompiledRule[];
  outcomes: (Outcome | undefined)[];
}

/** Statements that end in `return` the outcome, and the temporaries they use. */
interface Part {
  code: string;
  temps: number;
}

function generate(index: DecisionIndex, options: DeciderOptions): Decider | undefined {
  const budget = options.functionBudget ?? FUNCTION_BUDGET;
  const maxSource = options.maxSource ?? MAX_GENERATED_SOURCE;
  const gen = new CodeGen(BAGS);
  const sides: Side[] = [];
  const functions: string[] = [];
  let size = 0;

  const side = (effect: 'allow' | 'deny', rules: CompiledRule[]): number => {
    sides.push({ effect, rules, outcomes: [] });
    return sides.length - 1;
  };
  /** Sets bit i of `m` when rule i's condition holds; the conditions run in the rules' order. */
  const masks = (rules: CompiledRule[]): string =>
    rules
      .map((rule, i) => {
        gen.reuseTemps();
        return `if (${gen.expr(rule.ir)}) m |= ${1 << i};`;
      })
      .join('\n');

  const bucketPart = (bucket: Bucket): Part => {
    if (bucket.deny.length > MAX_RULES_PER_SIDE || bucket.allow.length > MAX_RULES_PER_SIDE)
      return { code: `return ${gen.slot(bucketDecider(bucket))}(req, now);`, temps: 0 };
    let code = 'let m = 0;\n';
    if (bucket.deny.length > 0) {
      const k = side('deny', bucket.deny);
      code += `${masks(bucket.deny)}\nif (m !== 0) return o[${k}][m] ?? f(${k}, m);\n`;
    }
    if (bucket.allow.length === 0) code += 'return n;';
    else {
      const k = side('allow', bucket.allow);
      code += `${masks(bucket.allow)}\nreturn m === 0 ? n : (o[${k}][m] ?? f(${k}, m));`;
    }
    return { code, temps: gen.takeTemps() };
  };

  const asFunction = (part: Part): Part => {
    const name = `d${functions.length}`;
    functions.push(`function ${name}(req, now) {\n${declareTemps(part.temps)}\n${PROLOGUE}\n${part.code}\n}`);
    return { code: `return ${name}(req, now);`, temps: 0 };
  };
  const dispatch = (on: string, cases: [string, Part][]): Part => ({
    code: `switch (${on}) {\n${cases.map(([name, p]) => `case ${JSON.stringify(name)}: {\n${p.code}\n}`).join('\n')}\n}\nreturn undefined;`,
    temps: Math.max(0, ...cases.map(([, p]) => p.temps)),
  });
  /** A switch over the parts, the largest moved to functions of their own until it fits the budget. */
  const fit = (on: string, cases: [string, Part][]): Part => {
    let length = dispatch(on, cases).code.length;
    const bySize = cases.map((_, i) => i).sort((x, y) => cases[y]![1].code.length - cases[x]![1].code.length);
    for (const i of bySize) {
      if (length <= budget) break;
      const [name, part] = cases[i]!;
      const call = asFunction(part);
      length += call.code.length - part.code.length;
      cases[i] = [name, call];
    }
    return dispatch(on, cases);
  };

  const principals: [string, Part][] = [];
  for (const [principal, byAction] of index) {
    const actions: [string, Part][] = [];
    for (const [action, byResource] of byAction) {
      const resources: [string, Part][] = [];
      for (const [resource, bucket] of byResource) {
        const part = bucketPart(bucket);
        size += part.code.length;
        if (size > maxSource) return undefined;
        resources.push([resource, part]);
      }
      actions.push([action, fit('r', resources)]);
    }
    principals.push([principal, fit('a', actions)]);
  }
  const top = fit('req.principal.type', principals);
  const source = `'use strict';
${functions.join('\n')}
return function decide(req, now) {
${declareTemps(top.temps)}
${PROLOGUE}
${top.code}
};`;

  const fill = (k: number, mask: number): Outcome => {
    const s = sides[k]!;
    const matched = s.rules.filter((_, i) => (mask & (1 << i)) !== 0).map((rule) => rule.ref);
    return (s.outcomes[mask] = Object.freeze(outcomeOf(s.effect, Object.freeze(matched) as RuleRef[])));
  };
  const outcomes = sides.map((s) => s.outcomes);
  return new Function('s', 'o', 'f', 'n', source)(gen.slots, outcomes, fill, NO_ALLOW) as Decider;
}

/** A bucket's outcome through its rules' functions, deny rules first. */
function decideBucket(bucket: Bucket, req: AuthorizeRequest, now: number): Outcome {
  const denied = matching(bucket.deny, req, now);
  if (denied !== undefined) return outcomeOf('deny', denied);
  const allowed = matching(bucket.allow, req, now);
  return allowed === undefined ? NO_ALLOW : outcomeOf('allow', allowed);
}

function matching(rules: CompiledRule[], req: AuthorizeRequest, now: number): RuleRef[] | undefined {
  let matched: RuleRef[] | undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    // A literal of one: `[]` then push would allocate room for 17.
    if (rule.test(req, now)) matched === undefined ? (matched = [rule.ref]) : matched.push(rule.ref);
  }
  return matched;
}

function bucketDecider(bucket: Bucket): (req: AuthorizeRequest, now: number) => Outcome {
  return (req, now) => decideBucket(bucket, req, now);
}

/** The same outcomes through the index, for sets too large to generate. */
function indexDecider(index: DecisionIndex): Decider {
  return (req, now) => {
    const bucket = bucketFor(index, req.principal.type, req.action, req.resource.type);
    return bucket === undefined ? undefined : decideBucket(bucket, req, now);
  };
}
