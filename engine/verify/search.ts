// The second line of evidence: a seeded random search for counterexamples, for cases the solver could
// not decide. Values come from small pools seeded with the policies' own literals, so "same" and
// "different" both happen often.
import fc from 'fast-check';
import { authorize } from '../decide/authorize.js';
import { violations } from '../invariants/check-request.js';
import { nodesOf, type AttributeDef, type IR } from '../lang/ir.js';
import type { AuthorizeRequest, InvariantCheck, InvariantDef, PolicySet } from '../types.js';

interface Pools {
  string: string[];
  number: number[];
  time: number[];
  ip: string[];
  cidr: string[];
}

function literalPools(set: PolicySet, now: number): Pools {
  const pools: Pools = {
    string: ['a', 'b'],
    number: [0, 1, 2, 5],
    time: [now, now - 3_600_000, now + 3_600_000],
    ip: ['10.0.0.1', '192.0.2.1', '2001:db8::1'],
    cidr: ['10.0.0.0/8', '2001:db8::/32'],
  };
  const collect = (ir: IR) => {
    for (const node of nodesOf(ir)) {
      if (node.k !== 'const') continue;
      for (const v of Array.isArray(node.value) ? node.value : [node.value]) {
        if (node.type.base === 'string' && typeof v === 'string') pools.string.push(v);
        if (node.type.base === 'number' && typeof v === 'number') pools.number.push(v - 1, v, v + 1);
        if (node.type.base === 'time' && typeof v === 'number') pools.time.push(v - 1, v, v + 1);
        if (node.type.base === 'ip') pools.ip.push(String(v));
        if (node.type.base === 'cidr') pools.cidr.push(`${(v as [object, number])[0]}/${(v as [object, number])[1]}`);
      }
    }
  };
  set.rules.forEach((r) => collect(r.ir));
  set.invariants.forEach((i) => i.checks.forEach((c) => collect(c.ir)));
  return pools;
}

function valueArb(def: AttributeDef, pools: Pools): fc.Arbitrary<unknown> {
  const scalar = (): fc.Arbitrary<unknown> => {
    switch (def.type.base) {
      case 'string':
        return fc.constantFrom(...pools.string);
      case 'number':
        return fc.constantFrom(...pools.number);
      case 'bool':
        return fc.boolean();
      case 'time':
        return fc.constantFrom(...pools.time).map((t) => new Date(t).toISOString());
      case 'ip':
        return fc.constantFrom(...pools.ip);
      case 'cidr':
        return fc.constantFrom(...pools.cidr);
      default:
        return fc.constant(null);
    }
  };
  return def.type.list ? fc.array(scalar(), { maxLength: 3 }) : scalar();
}

function attributesArb(attrs: Map<string, AttributeDef>, pools: Pools): fc.Arbitrary<Record<string, unknown>> {
  const entries = [...attrs.entries()].map(
    ([name, def]) => [name, fc.option(valueArb(def, pools), { nil: undefined, freq: 8 })] as const,
  );
  return fc
    .record(Object.fromEntries(entries))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
}

export function searchCounterexample(
  set: PolicySet,
  inv: InvariantDef,
  _check: InvariantCheck,
  p: string,
  a: string,
  r: string,
  options: { searchRuns?: number; now: number },
): AuthorizeRequest | undefined {
  const pools = literalPools(set, options.now);
  const id = fc.constantFrom(...pools.string);
  const arb = fc.record({
    principal: fc.record({
      type: fc.constant(p),
      id,
      attributes: attributesArb(set.schema.principals.get(p)!.attributes, pools),
    }),
    action: fc.constant(a),
    resource: fc.record({
      type: fc.constant(r),
      id,
      attributes: attributesArb(set.schema.resources.get(r)!.attributes, pools),
    }),
    context: attributesArb(set.schema.context, pools),
  });
  for (const req of fc.sample(arb, { numRuns: options.searchRuns ?? 2000, seed: 42 })) {
    const d = authorize(set, req, options.now, 'search');
    if (d.allowed && violations(set, req, d, options.now).some((v) => v.invariant === inv.id)) return req;
  }
  return undefined;
}
