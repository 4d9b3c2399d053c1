// The fast path. Three Map lookups find the bucket of rules for (principal type, action, resource type);
// deny rules run first and win; any evaluation error fails closed. Nothing is allocated but the decision
// itself (rule refs are frozen at compile time and shared).
import { bucketFor } from '../compile/build-index.js';
import { EvaluationError } from '../lang/values.js';
import type { AuthorizeRequest, Decision, DecisionError, PolicySet, RuleRef } from '../types.js';

export const REASONS = {
  allowed: 'allowed by a matching rule',
  denied: 'denied by a matching deny rule',
  noAllow: 'no rule allows this request',
  error: 'a rule could not be evaluated; failing closed',
  unknown: 'the request names a type or action the schema does not declare',
} as const;

export function authorize(set: PolicySet, req: AuthorizeRequest, now: number, decisionId: string): Decision {
  const bucket = bucketFor(set.index, req.principal.type, req.action, req.resource.type);
  if (bucket === undefined) return noBucket(set, req, decisionId);

  let matched: RuleRef[] | undefined;
  let errors: DecisionError[] | undefined;
  const denies = bucket.deny;
  for (let i = 0; i < denies.length; i++) {
    const rule = denies[i]!;
    try {
      // A literal of one: `[]` then push would allocate room for 17.
      if (rule.test(req, now)) matched === undefined ? (matched = [rule.ref]) : matched.push(rule.ref);
    } catch (e) {
      (errors ??= []).push(ruleError(rule.ref, e));
    }
  }
  if (matched !== undefined) return result(set, decisionId, false, matched, REASONS.denied, errors);
  if (errors !== undefined) return result(set, decisionId, false, NO_MATCH, REASONS.error, errors);

  const allows = bucket.allow;
  for (let i = 0; i < allows.length; i++) {
    const rule = allows[i]!;
    try {
      // A literal of one: `[]` then push would allocate room for 17.
      if (rule.test(req, now)) matched === undefined ? (matched = [rule.ref]) : matched.push(rule.ref);
    } catch (e) {
      (errors ??= []).push(ruleError(rule.ref, e));
    }
  }
  if (errors !== undefined) return result(set, decisionId, false, matched ?? NO_MATCH, REASONS.error, errors);
  if (matched !== undefined) return result(set, decisionId, true, matched, undefined, undefined);
  return result(set, decisionId, false, NO_MATCH, REASONS.noAllow, undefined);
}

const NO_MATCH: RuleRef[] = Object.freeze([]) as unknown as RuleRef[];

/** Every decision has the same shape (one hidden class); absent fields are undefined and not serialized. */
function result(
  set: PolicySet,
  decisionId: string,
  allowed: boolean,
  matched: RuleRef[],
  reason: string | undefined,
  errors: DecisionError[] | undefined,
): Decision {
  return {
    decision: allowed ? 'allow' : 'deny',
    allowed,
    decisionId,
    policyRevision: set.revision,
    matched,
    reason,
    errors,
  };
}

export function ruleError(ref: RuleRef, e: unknown): DecisionError {
  const code = e instanceof EvaluationError ? e.code : 'internal-error';
  const message = e instanceof Error ? e.message : String(e);
  return { code, message, policy: ref.policy, rule: ref.rule };
}

/** Default deny, saying why when the request names something the schema does not declare. */
function noBucket(set: PolicySet, req: AuthorizeRequest, decisionId: string): Decision {
  const problems = unknownNames(set, {
    principalType: req.principal.type,
    action: req.action,
    resourceType: req.resource.type,
  });
  if (problems.length === 0) return result(set, decisionId, false, NO_MATCH, REASONS.noAllow, undefined);
  return result(set, decisionId, false, NO_MATCH, REASONS.unknown, problems);
}

/** What the schema does not declare among a principal type, an action and a resource type. */
export function unknownNames(
  set: PolicySet,
  names: { principalType?: string; action?: string; resourceType?: string },
): DecisionError[] {
  const errors: DecisionError[] = [];
  const { principalType, action, resourceType } = names;
  if (principalType !== undefined && !set.schema.principals.has(principalType)) {
    errors.push({ code: 'unknown-principal-type', message: `unknown principal type \`${principalType}\`` });
  }
  if (action !== undefined && !set.schema.actions.includes(action))
    errors.push({ code: 'unknown-action', message: `unknown action \`${action}\`` });
  if (resourceType !== undefined && !set.schema.resources.has(resourceType)) {
    errors.push({ code: 'unknown-resource-type', message: `unknown resource type \`${resourceType}\`` });
  }
  return errors;
}
