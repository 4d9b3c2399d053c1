// Hot paths check bodies with JSON Schemas generated from the zod schemas and compiled like fastify's
// (server/batch/json-body.ts); zod runs only to word a 400. The two must accept exactly the same values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AzEvaluation, isAzEvaluation } from '../../server/authzen-schemas.js';
import { compileBodyValidator } from '../../server/batch/json-body.js';
import { BatchRequest, HttpAuthorizeRequest, jsonSchema } from '../../server/schemas.js';
import { requestArb } from '../support/fleet-arbitraries.js';

/** Values near a valid one: fields removed, retyped, emptied or replaced by any JSON value. */
function around(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const anyJson = fc.jsonValue({ maxDepth: 2 });
  const mutate = (v: unknown, path: string[], change: unknown): unknown => {
    if (path.length === 0 || v === null || typeof v !== 'object') return change;
    const [key, ...rest] = path;
    const copy: any = Array.isArray(v) ? [...v] : { ...v };
    if (change === undefined && rest.length === 0) delete copy[key!];
    else copy[key!] = mutate(copy[key!], rest, change);
    return copy;
  };
  const paths = (v: unknown, prefix: string[] = []): string[][] =>
    v !== null && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]) : [];
  return fc.oneof(
    valid,
    valid.chain((v) => {
      const all = paths(v);
      if (all.length === 0) return fc.constant(v);
      return fc.tuple(fc.constantFrom(...all), fc.oneof(fc.constant(undefined), fc.constant(''), anyJson)).map(([p, change]) => mutate(v, p, change));
    }),
    anyJson,
  );
}

function agree(schema: z.ZodType, check: (v: unknown) => boolean, values: fc.Arbitrary<unknown>) {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(values, (v) => {
      const ok = schema.safeParse(v).success;
      expect(check(v)).toBe(ok);
      ok ? accepted++ : refused++;
    }),
    { numRuns: 3000 },
  );
  expect(accepted).toBeGreaterThan(300);
  expect(refused).toBeGreaterThan(300);
}

const text = fc.oneof({ weight: 9, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) }, { weight: 1, arbitrary: fc.constant('') });
const azEntity = fc.record({ type: text, id: text, properties: fc.option(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 })), { nil: undefined }) }, { requiredKeys: ['type', 'id'] });
const azEvaluation = fc.record(
  { subject: azEntity, action: fc.record({ name: text, properties: fc.option(fc.dictionary(text, fc.integer()), { nil: undefined }) }, { requiredKeys: ['name'] }), resource: azEntity, context: fc.dictionary(text, fc.jsonValue({ maxDepth: 1 })) },
  { requiredKeys: ['subject', 'action', 'resource'] },
);

describe('compiled JSON Schemas accept what zod accepts', () => {
  it('an AuthZEN evaluation item', () => agree(AzEvaluation, isAzEvaluation, around(azEvaluation)));
  it('an authorize request', () => agree(HttpAuthorizeRequest, compileBodyValidator(jsonSchema(HttpAuthorizeRequest)), around(requestArb())));
  it('a batch', () => {
    const schema = BatchRequest(3);
    agree(schema, compileBodyValidator(jsonSchema(schema)), around(fc.array(requestArb(), { minLength: 0, maxLength: 4 }).map((requests) => ({ requests }))));
  });
});
