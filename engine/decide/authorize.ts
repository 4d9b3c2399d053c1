// The fast path: the policy set's generated decision function (compile/generate-decider.ts) gives the
// outcome, and a decision is that outcome stamped with an id and the revision. When a condition raises an
// error the request is decided again rule by rule, which reports every error and fails closed; conditions
// are pure, so the second pass sees what the first saw.
import { bucketFor } from './bucket-for.js';
import { EvaluationError } from '../lang/values.js';
import type { AuthorizeRequest, Decision, DecisionError, PolicySet, RuleRef } from '../types.js';
import { NO_MATCH, REASONS, type Outcome } from './outcome.js';

export { REASONS } from './outcome.js';

export function authorize(set: PolicySet, req: AuthorizeRequest, now: number, decisionId: string): Decision {
  let outcome: Outcome | undefined;
  try {
    outcome = set.decide(req, now);
  } catch {
    return authorizeRuleByRule(set, req, now, decisionId);
  }
  if (outcome === undefined) return noBucket(set, req, decisionId);
  return {
    decision: outcome.decision,
    allowed: outcome.allowed,
    decisionId,
    policyRevision: set.revision,
    matched: outcome.matched,
    reason: outcome.reason,
    errors: undefined,
  };
}

/** The same answer as `authorize(…).allowed`, without a decision object. */
export function isAllowed(set: PolicySet, req: AuthorizeRequest, now: number): boolean {
  try {
    return set.decide(req, now)?.allowed === true;
  } catch {
    return false;
  }
}

/**
 * Three Map lookups find the bucket of rules for (principal type, action, resource type); deny rules run
 * first and win; every rule's error is collected and any error fails closed.
 */
export function authorizeRuleByRule(set: PolicySet, req: AuthorizeRequest, now: number, decisionId: string): Decision {
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
  const { principals, actions, resources } = set.schema;
  // Declared names with no rule are the common case (a device asking to delete): nothing to allocate.
  if (principals.has(req.principal.type) && actions.includes(req.action) && resources.has(req.resource.type))
    return result(set, decisionId, false, NO_MATCH, REASONS.noAllow, undefined);
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
