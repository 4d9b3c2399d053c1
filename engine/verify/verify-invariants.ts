// `fleetguard verify`: each invariant proved statically (Cedar's approach: encode "some allow rule holds,
// no deny rule holds, no rule errs, and the invariant fails" for z3; unsat is a proof, a model is a
// counterexample). Every counterexample is re-decided by the engine before it is reported; where the
// solver cannot answer, a randomized search looks for counterexamples as a second line of evidence and
// the result says UNKNOWN.
import { init, type Context, type Model } from 'z3-solver';
import ipaddr from 'ipaddr.js';
import { bucketFor } from '../compile/build-index.js';
import { authorize } from '../decide/authorize.js';
import { violations } from '../invariants/check-request.js';
import type { AuthorizeRequest, Bucket, InvariantCheck, InvariantDef, PolicySet, SourcePosition } from '../types.js';
import { encodeAllowed, Encoder, listBoundFor, StringTable, type Sym, type SymValue } from './smt-encode.js';
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

type Z3 = Context<'main'>;
let z3Promise: Promise<Z3> | undefined;
export function solverContext(): Promise<Z3> {
  return (z3Promise ??= init().then(({ Context }) => Context('main')));
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
    return { ...base, status: 'UNKNOWN', why: `${unknown.join('; ')} (a randomized search of ${options.searchRuns ?? 2000} requests per case found no counterexample)`, queries };
  }
  return { ...base, status: 'PROVED', why: queries === 0 ? 'no allow rule covers any request in scope' : `${queries} case(s) proved by the solver`, queries };
}

function reproduce(set: PolicySet, inv: InvariantDef, req: AuthorizeRequest, now: number): Pick<VerifyResult, 'rule' | 'counterexample'> | undefined {
  const decision = authorize(set, req, now, 'verify');
  if (!decision.allowed) return undefined;
  if (!violations(set, req, decision, now).some((v) => v.invariant === inv.id)) return undefined;
  const ref = decision.matched[0]!;
  const rule = set.rules.find((r) => r.ref === ref)!;
  return { rule: { policy: ref.policy, rule: ref.rule, at: rule.at }, counterexample: req };
}

type Outcome = { kind: 'unsat' } | { kind: 'sat'; request: Omit<AuthorizeRequest, 'action'> } | { kind: 'unknown'; why: string };

async function findViolation(z3: Z3, set: PolicySet, bucket: Bucket, check: InvariantCheck, p: string, r: string): Promise<Outcome> {
  const strings = new StringTable();
  const rules = [...bucket.deny, ...bucket.allow];
  const enc = new Encoder(z3, strings, { principal: set.schema.principals.get(p)!, resource: set.schema.resources.get(r)!, context: set.schema.context }, listBoundFor([...rules.map((x) => x.ir), check.ir]));
  enc.declareAll();
  const allowed = encodeAllowed(enc, bucket);
  const q = enc.encode(check.ir);
  const solver = new z3.Solver();
  solver.set('timeout', 10_000);
  solver.add(...enc.constraints, allowed, z3.Or(z3.Not(enc.bool(q.val)), q.err));
  const answer = await solver.check();
  if (answer === 'unsat') return { kind: 'unsat' };
  if (answer === 'unknown') return { kind: 'unknown', why: `the solver gave up (${solver.reasonUnknown()})` };
  return { kind: 'sat', request: decodeRequest(enc, solver.model(), p, r) };
}

export function decodeRequest(enc: Encoder, model: Model<'main'>, p: string, r: string): Omit<AuthorizeRequest, 'action'> {
  const principal: Record<string, unknown> = {};
  const resource: Record<string, unknown> = {};
  const context: Record<string, unknown> = {};
  let principalId = '';
  let resourceId = '';
  for (const a of enc.attributes.values()) {
    const present = model.eval(a.present, true).toString() === 'true';
    if (!present) continue;
    const value = decodeValue(enc, model, a.value);
    if (a.name === 'id' && a.root !== 'context') {
      if (a.root === 'principal') principalId = value as string;
      else resourceId = value as string;
      continue;
    }
    (a.root === 'principal' ? principal : a.root === 'resource' ? resource : context)[a.name] = value;
  }
  return {
    principal: { type: p, id: principalId || '~p', attributes: principal },
    resource: { type: r, id: resourceId || '~r', attributes: resource },
    context,
  };
}

function decodeValue(enc: Encoder, model: Model<'main'>, v: SymValue): unknown {
  if (v.t === 'list') {
    const len = Number(model.eval(v.len, true).toString());
    return v.items.slice(0, len).map((item) => decodeScalar(enc, model, item));
  }
  return decodeScalar(enc, model, v);
}

function decodeScalar(enc: Encoder, model: Model<'main'>, v: Sym): unknown {
  const text = (e: Parameters<Model<'main'>['eval']>[0]) => model.eval(e, true).toString();
  switch (v.t) {
    case 'string':
      return enc.strings.decode(Number(text(v.v)));
    case 'number': {
      const s = text(v.v);
      const [n, d] = s.split('/');
      return d === undefined ? Number(n) : Number(n) / Number(d);
    }
    case 'bool':
      return text(v.v) === 'true';
    case 'time':
      return new Date(Number(text(v.v))).toISOString();
    case 'ip':
      return formatAddress(text(v.v6) === 'true', BigInt(text(v.addr).replace('#x', '0x')));
    case 'cidr':
      return `${formatAddress(text(v.v6) === 'true', BigInt(text(v.net).replace('#x', '0x')))}/${text(v.prefix)}`;
  }
}

function formatAddress(v6: boolean, n: bigint): string {
  const bytes = Array.from({ length: v6 ? 16 : 4 }, (_, i) => Number((n >> BigInt(8 * ((v6 ? 15 : 3) - i))) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}
