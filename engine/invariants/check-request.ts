// Invariants checked on one concrete request and its decision: used by the test runner, the property
// tests and (later) the verifier's counterexample search. Static proof is a separate tool.
import { bucketFor } from '../decide/bucket-for.js';
import { EvaluationError } from '../lang/values.js';
import type { AuthorizeRequest, Decision, InvariantCheck, PolicySet } from '../types.js';

export interface Violation {
  invariant: string;
  description: string;
  /** The `allowedOnlyIf` that did not hold, or the builtin's name. */
  requirement: string;
}

export function checkApplies(check: InvariantCheck, req: AuthorizeRequest): boolean {
  return (
    check.principals.includes(req.principal.type) &&
    check.actions.includes(req.action) &&
    check.resources.includes(req.resource.type)
  );
}

/** The invariants an allowed request breaks (a denied request breaks none). */
export function violations(set: PolicySet, req: AuthorizeRequest, decision: Decision, now: number): Violation[] {
  if (!decision.allowed) return [];
  const out: Violation[] = [];
  for (const inv of set.invariants) {
    if (inv.builtin === 'default-deny') {
      if (!bucketFor(set.index, req.principal.type, req.action, req.resource.type)) {
        out.push({ invariant: inv.id, description: inv.description, requirement: 'no rule covers this request' });
      }
      continue;
    }
    for (const check of inv.checks) {
      if (!checkApplies(check, req)) continue;
      if (!holds(check, req, now))
        out.push({ invariant: inv.id, description: inv.description, requirement: check.source });
    }
  }
  return out;
}

/** An invariant whose condition cannot be evaluated on an allowed request counts as broken. */
function holds(check: InvariantCheck, req: AuthorizeRequest, now: number): boolean {
  try {
    return check.test(req, now);
  } catch (e) {
    if (e instanceof EvaluationError) return false;
    throw e;
  }
}
