// The second line of evidence: a seeded random search for counterexamples, for cases the solver could
// not decide. Values come from small pools seeded with the policies' own literals, so "same" and
// "different" both happen often. The generator is our own (seeded), so fast-check stays a test dependency.
import { authorize } from '../decide/authorize.js';
import { violations } from '../invariants/check-request.js';
import { nodesOf, type AttributeDef, type IR } from '../lang/ir.js';
import type { AuthorizeRequest, InvariantCheck, InvariantDef, PolicySet } from '../types.js';
import { seededRandom } from './seeded-random.js';

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

type Random = () => number;
const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

function randomValue(def: AttributeDef, pools: Pools, random: Random): unknown {
  const scalar = (): unknown => {
    switch (def.type.base) {
      case 'string':
        return pick(random, pools.string);
      case 'number':
        return pick(random, pools.number);
      case 'bool':
        return random() < 0.5;
      case 'time':
        return new Date(pick(random, pools.time)).toISOString();
      case 'ip':
        return pick(random, pools.ip);
      case 'cidr':
        return pick(random, pools.cidr);
      default:
        return null;
    }
  };
  return def.type.list ? Array.from({ length: Math.floor(random() * 4) }, scalar) : scalar();
}

/** Each attribute present seven times in eight, so both absent attributes and every value get tried. */
function randomAttributes(attrs: Map<string, AttributeDef>, pools: Pools, random: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of attrs) if (random() >= 1 / 8) out[name] = randomValue(def, pools, random);
  return out;
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
  const random = seededRandom(42);
  for (let run = 0; run < (options.searchRuns ?? 2000); run++) {
    const req: AuthorizeRequest = {
      principal: {
        type: p,
        id: pick(random, pools.string),
        attributes: randomAttributes(set.schema.principals.get(p)!.attributes, pools, random),
      },
      action: a,
      resource: {
        type: r,
        id: pick(random, pools.string),
        attributes: randomAttributes(set.schema.resources.get(r)!.attributes, pools, random),
      },
      context: randomAttributes(set.schema.context, pools, random),
    };
    const d = authorize(set, req, options.now, 'search');
    if (d.allowed && violations(set, req, d, options.now).some((v) => v.invariant === inv.id)) return req;
  }
  return undefined;
}
