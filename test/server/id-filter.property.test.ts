// The decision log's per-block id filters: never a false negative, few false positives, and the
// writer's hash (over UTF-16 arrays) is the query's (over strings).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFilter, hashString, hashUnits, mayHold, type IdKind } from '../../server/decision-log/id-filter.js';

const kind = fc.constantFrom<IdKind>('principal', 'resource');
const codeUnits = (s: string) => {
  const u = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
};

describe('id filters', () => {
  it('hash a string and its code units alike, at any offset in a larger array', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 5 }), kind, (s, before, k) => {
        const all = codeUnits(before + s);
        expect(hashUnits(all, before.length, before.length + s.length, k)).toBe(hashString(s, k));
      }),
    );
  });

  it('hold every id they were built from', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(kind, fc.string({ unit: 'binary', maxLength: 12 })), { minLength: 1, maxLength: 300 }),
        (keys) => {
          const filter = buildFilter(
            keys.map(([k, id]) => hashString(id, k)),
            keys.length,
          );
          for (const [k, id] of keys) expect(mayHold(filter, k, id)).toBe(true);
        },
      ),
    );
  });

  it('pass about one id in fifty that they were not built from, and tell principals from resources', () => {
    const held = Array.from({ length: 4096 }, (_, i) => `d-${i}`);
    const filter = buildFilter(
      held.map((id) => hashString(id, 'principal')),
      held.length,
    );
    const others = Array.from({ length: 20_000 }, (_, i) => `d-${i + 10_000}`);
    const falsePositives = others.filter((id) => mayHold(filter, 'principal', id)).length / others.length;
    expect(falsePositives).toBeLessThan(0.05);
    const asResources = held.filter((id) => mayHold(filter, 'resource', id)).length / held.length;
    expect(asResources).toBeLessThan(0.05);
    expect(mayHold(undefined, 'principal', 'anything')).toBe(true); // no filter: the block may hold anything
  });
});
