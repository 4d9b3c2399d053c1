// Remembered conversions must be indistinguishable from converting every time: same values, same errors,
// whatever was remembered before, and nothing a caller can change in what the next decision reads.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONVERSION_CACHE_LIMIT, convertCached } from '../../engine/lang/convert-cached.js';
import type { ValueType } from '../../engine/lang/types.js';
import { convertValue } from '../../engine/lang/values.js';

const TEXTS = [
  '2026-06-01T00:00:00Z',
  '2026-06-01T00:00:00.250+02:00',
  '2026-06-01',
  '2026-13-01T00:00:00Z',
  'yesterday',
  '10.1.2.3',
  '::ffff:10.9.9.9',
  '2001:db8::1',
  '300.1.2.3',
  '10.0.0.0/8',
  '2001:db8::/32',
  '10.0.0.0/33',
  '',
];
const scalar = fc.oneof(
  fc.constantFrom(...TEXTS),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }));
const type = fc.record({
  base: fc.constantFrom('time', 'ip', 'cidr', 'string'),
  list: fc.boolean(),
}) as fc.Arbitrary<ValueType>;

function outcome(convert: typeof convertValue, t: ValueType, v: unknown): { value?: unknown; error?: string } {
  try {
    return { value: convert(t, v, 'principal.x') };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

describe('convertCached', () => {
  it('gives what convertValue gives, values and errors, in any order of calls', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(type, value), { minLength: 1, maxLength: 20 }), (calls) => {
        for (const [t, v] of calls) expect(outcome(convertCached, t, v)).toEqual(outcome(convertValue, t, v));
      }),
      { numRuns: 1000 },
    );
  });

  it('hands out frozen values, so no caller can change what the next decision reads', () => {
    const cidr = convertCached({ base: 'cidr', list: false }, '10.0.0.0/8', 'x') as unknown[];
    expect(Object.isFrozen(cidr)).toBe(true);
    expect(Object.isFrozen(cidr[0])).toBe(true);
    expect(() => (cidr as number[]).push(1)).toThrow();
    const again = convertCached({ base: 'cidr', list: false }, '10.0.0.0/8', 'x');
    expect(again).toBe(cidr);
    expect(again).toEqual(convertValue({ base: 'cidr', list: false }, '10.0.0.0/8', 'x'));
  });

  it('stays correct past its bound (it starts over rather than grow)', () => {
    const t = { base: 'time', list: false } as const;
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < CONVERSION_CACHE_LIMIT * 2 + 10; i++) {
      const text = new Date(start + i * 1000).toISOString();
      expect(convertCached(t, text, 'x')).toBe(start + i * 1000);
    }
    expect(convertCached(t, new Date(start).toISOString(), 'x')).toBe(start);
  });
});
