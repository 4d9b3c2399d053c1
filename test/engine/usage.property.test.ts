// Paths that must agree with the engine: what engine/usage says a principal is granted covers every
// request the engine allows it, through the rules that allowed it, and a rule it says never applies never
// matches (shipped policies over random fleets, and random policies); and the decision log read a page at a
// time is the log read at once, whatever the pages and however many decisions share a millisecond.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decisionsIn } from '../../cli/decision-pages.js';
import { authorize, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { grantsOf } from '../../engine/usage/index.js';
import { mayApply } from '../../engine/usage/may-apply.js';
import type { DecisionQuery, LoggedDecision } from '../../server/store/stores.js';
import { depth } from '../support/depth.js';
import { NOW, requestArb } from '../support/fleet-arbitraries.js';
import { shippedPolicies } from '../support/policies.js';
import { policyArb, randomRequestArb } from '../support/random-policies.js';

function grantsCoverDecision(set: PolicySet, req: AuthorizeRequest): void {
  const def = set.schema.principals.get(req.principal.type)!;
  const who = { principal: req.principal, known: new Set(['id', ...def.attributes.keys()]) };
  const decision = authorize(set, req, NOW, 'p');
  for (const rule of set.rules.filter((r) => r.principal === req.principal.type)) {
    if (mayApply(rule, who) === 'never')
      expect(
        decision.matched.map((m) => m.rule),
        `${rule.id} never applies`,
      ).not.toContain(rule.id);
  }
  if (!decision.allowed) return;
  const grant = grantsOf(set, who).find((g) => g.action === req.action && g.resource === req.resource.type);
  expect(grant, JSON.stringify(req)).toBeDefined();
  for (const m of decision.matched) expect(grant!.rules).toContain(m.rule);
}

describe('grants agree with decisions', () => {
  it('on the shipped policies, over random fleets', () => {
    const set = shippedPolicies();
    fc.assert(
      fc.property(requestArb(), (req) => grantsCoverDecision(set, req)),
      { numRuns: depth(400, 4000) },
    );
  });

  it('on random policies', () => {
    fc.assert(
      fc.property(policyArb, fc.array(randomRequestArb, { minLength: 1, maxLength: 8 }), (set, reqs) => {
        for (const req of reqs) grantsCoverDecision(set, req);
      }),
      { numRuns: depth(80, 2000) },
    );
  });
});

/** A DecisionReader over rows in memory, answering as the SQLite one does: by time, then seq; `limit` rows. */
function memoryReader(rows: LoggedDecision[]) {
  const sorted = rows.map((r, seq) => ({ r, seq, t: Date.parse(r.time) })).sort((a, b) => a.t - b.t || a.seq - b.seq);
  return {
    queries: 0,
    async query(q: DecisionQuery): Promise<LoggedDecision[]> {
      this.queries++;
      return sorted
        .filter(({ t }) => (q.since === undefined || t >= q.since) && (q.until === undefined || t < q.until))
        .slice(0, q.limit ?? 1000)
        .map(({ r }) => r);
    },
  };
}

const row = (i: number, t: number): LoggedDecision => ({
  decisionId: `d-${i}`,
  time: new Date(t).toISOString(),
  principalType: 'user',
  principalId: 'u',
  action: 'read',
  resourceType: 'fleet',
  resourceId: 'f',
  outcome: 'allow',
  matched: [],
  policyRevision: 'sha256:x',
  latencyUs: 1,
});

describe('the log read a page at a time', () => {
  it('is the log read at once, in order, each decision once', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Few distinct milliseconds, so that pages end inside runs of decisions made in one.
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
        async (times, page, since, until) => {
          const rows = times.map((t, i) => row(i, NOW + t));
          const reader = memoryReader(rows);
          const window = {
            ...(since !== undefined ? { since: NOW + since } : {}),
            ...(until !== undefined ? { until: NOW + until } : {}),
          };
          const all = await reader.query({ ...window, limit: 1_000_000 });
          const paged: string[] = [];
          for await (const d of decisionsIn(reader, window, page)) paged.push(d.decisionId);
          expect(paged).toEqual(all.map((d) => d.decisionId));
        },
      ),
      { numRuns: depth(300, 3000) },
    );
  });
});
