// `fleetguard verify`: each invariant proved statically (Cedar's approach: encode "some allow rule holds,
// no deny rule holds, no rule errs, and the invariant fails" for z3; unsat is a proof, a model is a
// counterexample). Every counterexample is re-decided by the engine before it is reported; where the
// solver cannot answer, a randomized search looks for counterexamples as a second line of evidence and
// the result says UNKNOWN.
import { bucketFor } from '../decide/bucket-for.js';
import { authorize } from '../decide/authorize.js';
import { violations } from '../invariants/check-request.js';
import type { AuthorizeRequest, Bucket, InvariantCheck, InvariantDef, PolicySet, SourcePosition } from '../types.js';
import { encodeAllowed } from './smt-encode.js';
import { findRequest, solverContext, type Outcome, type Z3 } from './solve.js';
import { searchCounterexample } from './search.js';

export type VerifyStatus = 'PROVED' | 'VIOLATED' | 'UNKNOWN';

export interface VerifyResult {
  id: string;
  description: string;
  status: VerifyStatus;
  /** For VIOLATED: the allow rule that grants the counterexample. */
  rule?: { policy: string; rule: string; at: SourcePosition };
  counterexample?: AuthorizeRequest;
  /** For UNKNOWN: why no proof; for PROVED: what was proved. */
  why?: string;
  /** Queries answered by the solver. */
  queries: number;
}

export interface VerifyOptions {
  /** Requests tried by the randomized search when the solver cannot decide. */
  searchRuns?: number;
  /** The clock, for re-deciding counterexamples that carry their own context.time. */
  now: number;
}

export async function verifyInvariants(set: PolicySet, options: VerifyOptions): Promise<VerifyResult[]> {
  const z3 = await solverContext();
  const results: VerifyResult[] = [];
  for (const inv of set.invariants) results.push(await verifyOne(z3, set, inv, options));
  return results;
}

async function verifyOne(z3: Z3, set: PolicySet, inv: InvariantDef, options: VerifyOptions): Promise<VerifyResult> {
  const base = { id: inv.id, description: inv.description };
  if (inv.builtin === 'default-deny') {
    // The engine allows only through a matching allow rule of the request's (principal type, action,
    // resource type) bucket; with no bucket it denies. That is the engine's construction, not a query.
    return { ...base, status: 'PROVED', why: 'by construction: only a matching allow rule allows', queries: 0 };
  }
  let queries = 0;
  const unknown: string[] = [];
  for (const check of inv.checks) {
    for (const p of check.principals) {
      for (const a of check.actions) {
        for (const r of check.resources) {
          const bucket = bucketFor(set.index, p, a, r);
          if (!bucket || bucket.allow.length === 0) continue; // nothing can be allowed
          queries++;
          const outcome = await findViolation(z3, set, bucket, check, p, r);
          if (outcome.kind === 'unsat') continue;
          if (outcome.kind === 'sat') {
            const req = { ...outcome.request, action: a };
            const confirmed = reproduce(set, inv, req, options.now);
            if (confirmed) return { ...base, status: 'VIOLATED', ...confirmed, queries };
            unknown.push(`${p} ${a} ${r}: the solver's counterexample does not reproduce in the engine`);
          } else {
            unknown.push(`${p} ${a} ${r}: ${outcome.why}`);
          }
          const found = searchCounterexample(set, inv, check, p, a, r, options);
          if (found) {
            const confirmed = reproduce(set, inv, found, options.now);
            if (confirmed) return { ...base, status: 'VIOLATED', ...confirmed, queries };
          }
        }
      }
    }
  }
  if (unknown.length > 0) {
    return {
      ...base,
      status: 'UNKNOWN',
      why: `${unknown.join('; ')} (a randomized search of ${options.searchRuns ?? 2000} requests per case found no counterexample)`,
      queries,
    };
  }
  return {
    ...base,
    status: 'PROVED',
    why: queries === 0 ? 'no allow rule covers any request in scope' : `${queries} case(s) proved by the solver`,
    queries,
  };
}

function reproduce(
  set: PolicySet,
  inv: InvariantDef,
  req: AuthorizeRequest,
  now: number,
): Pick<VerifyResult, 'rule' | 'counterexample'> | undefined {
  const decision = authorize(set, req, now, 'verify');
  if (!decision.allowed) return undefined;
  if (!violations(set, req, decision, now).some((v) => v.invariant === inv.id)) return undefined;
  const ref = decision.matched[0]!;
  const rule = set.rules.find((r) => r.ref === ref)!;
  return { rule: { policy: ref.policy, rule: ref.rule, at: rule.at }, counterexample: req };
}

/** A request the engine allows and the check's condition rejects (or fails on), if there is one. */
function findViolation(
  z3: Z3,
  set: PolicySet,
  bucket: Bucket,
  check: InvariantCheck,
  p: string,
  r: string,
): Promise<Outcome> {
  const irs = [...bucket.deny, ...bucket.allow].map((x) => x.ir);
  return findRequest(z3, set.schema, p, r, [...irs, check.ir], (enc) => {
    const q = enc.encode(check.ir);
    return z3.And(encodeAllowed(enc, bucket), z3.Or(z3.Not(enc.bool(q.val)), q.err));
  });
}
