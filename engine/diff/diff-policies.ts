// `fleetguard diff`: what a policy change does to access. For every (principal type, action, resource
// type) whose rules changed, two solver queries over one symbolic request: "NEW allows and OLD denies"
// (widened) and the converse (narrowed). Each answer comes with an example request, re-decided by both
// engines, and the rules and conditions that decide it.
import { bucketFor } from '../decide/bucket-for.js';
import { authorize } from '../decide/authorize.js';
import type { AuthorizeRequest, Bucket, CompiledRule, PolicySet } from '../types.js';
import { encodeAllowed } from '../verify/smt-encode.js';
import { findRequest, solverContext } from '../verify/solve.js';

export interface RuleSummary {
  policy: string;
  rule: string;
  effect: 'allow' | 'deny';
  line: number;
  when: string;
}

export interface AccessChange {
  principal: string;
  action: string;
  resource: string;
  change: 'widened' | 'narrowed';
  /** A request decided differently, re-checked against both policy sets. */
  example: AuthorizeRequest;
  /** For widened: the NEW rules that allow the example; for narrowed: the OLD rules that allowed it. */
  because: RuleSummary[];
  /** For narrowed: the NEW deny rules that match the example, if a deny rule is why. */
  deniedBy: RuleSummary[];
}

export interface PolicyDiff {
  oldRevision: string;
  newRevision: string;
  changes: AccessChange[];
  /** Cases the solver could not decide. */
  unknown: string[];
}

const summary = (r: CompiledRule): RuleSummary => ({
  policy: r.ref.policy,
  rule: r.id,
  effect: r.effect,
  line: r.at.line,
  when: r.conditions.length === 0 ? 'always' : r.conditions.map((c) => c.source).join(' and '),
});

const signature = (b: Bucket | undefined) =>
  b === undefined
    ? ''
    : [...b.deny, ...b.allow]
        .map((r) => `${r.effect}:${r.conditions.map((c) => c.source).join('&&')}`)
        .sort()
        .join('|');

export async function diffPolicies(oldSet: PolicySet, newSet: PolicySet, now: number): Promise<PolicyDiff> {
  const z3 = await solverContext();
  const changes: AccessChange[] = [];
  const unknown: string[] = [];
  const principals = [...new Set([...oldSet.schema.principals.keys(), ...newSet.schema.principals.keys()])];
  const actions = [...new Set([...oldSet.schema.actions, ...newSet.schema.actions])];
  const resources = [...new Set([...oldSet.schema.resources.keys(), ...newSet.schema.resources.keys()])];

  for (const p of principals) {
    for (const a of actions) {
      for (const r of resources) {
        const oldBucket = bucketFor(oldSet.index, p, a, r);
        const newBucket = bucketFor(newSet.index, p, a, r);
        if (signature(oldBucket) === signature(newBucket)) continue;
        const schema =
          newSet.schema.principals.has(p) && newSet.schema.resources.has(r) ? newSet.schema : oldSet.schema;
        const irs = [
          ...[
            ...(oldBucket?.deny ?? []),
            ...(oldBucket?.allow ?? []),
            ...(newBucket?.deny ?? []),
            ...(newBucket?.allow ?? []),
          ].map((x) => x.ir),
        ];
        for (const change of ['widened', 'narrowed'] as const) {
          try {
            const outcome = await findRequest(z3, schema, p, r, irs, (enc) => {
              const allowedOld = encodeAllowed(enc, oldBucket);
              const allowedNew = encodeAllowed(enc, newBucket);
              return change === 'widened'
                ? z3.And(allowedNew, z3.Not(allowedOld))
                : z3.And(allowedOld, z3.Not(allowedNew));
            });
            if (outcome.kind === 'unsat') continue;
            if (outcome.kind === 'unknown') {
              unknown.push(`${p} ${a} ${r} (${change}): ${outcome.why}`);
              continue;
            }
            const example = { ...outcome.request, action: a } as AuthorizeRequest;
            const before = authorize(oldSet, example, now, 'diff');
            const after = authorize(newSet, example, now, 'diff');
            if (before.allowed === after.allowed || after.allowed !== (change === 'widened')) {
              unknown.push(`${p} ${a} ${r} (${change}): the solver's example does not reproduce`);
              continue;
            }
            const rulesOf = (set: PolicySet, refs: typeof before.matched) =>
              refs.map((m) => summary(set.rules.find((x) => x.ref === m)!));
            changes.push({
              principal: p,
              action: a,
              resource: r,
              change,
              example,
              because: change === 'widened' ? rulesOf(newSet, after.matched) : rulesOf(oldSet, before.matched),
              deniedBy:
                change === 'narrowed'
                  ? rulesOf(
                      newSet,
                      after.matched.filter((m) => m.effect === 'deny'),
                    )
                  : [],
            });
          } catch (e) {
            unknown.push(`${p} ${a} ${r} (${change}): ${(e as Error).message}`);
          }
        }
      }
    }
  }
  return { oldRevision: oldSet.revision, newRevision: newSet.revision, changes, unknown };
}

export interface ReplayFlip {
  decisionId: string;
  request: AuthorizeRequest;
  was: 'allow' | 'deny';
  now: 'allow' | 'deny';
  matched: string[];
}

/** Re-decides logged requests with NEW, at the time each was first decided; lists those that flip. */
export function replayDecisions(
  newSet: PolicySet,
  logged: { decisionId: string; time: number; outcome: 'allow' | 'deny'; request: AuthorizeRequest }[],
): ReplayFlip[] {
  const flips: ReplayFlip[] = [];
  for (const row of logged) {
    const d = authorize(newSet, row.request, row.time, 'replay');
    if (d.decision !== row.outcome)
      flips.push({
        decisionId: row.decisionId,
        request: row.request,
        was: row.outcome,
        now: d.decision,
        matched: d.matched.map((m) => m.rule),
      });
  }
  return flips;
}
