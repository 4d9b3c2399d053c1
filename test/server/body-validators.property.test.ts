// Every body is checked with the JSON Schema generated from its zod schema, compiled once
// (server/body/body-schema.ts); zod runs only to word a 400. The two must accept exactly the same values.
// The batch route parses its own text: exactly as fastify's default parser (secure-json-parse) would.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AzEvaluation, isAzEvaluation } from '../../server/authzen-schemas.js';
import secureJson from 'secure-json-parse';
import { bodySchema } from '../../server/body/body-schema.js';
import { MAX_BODY_DEPTH, parseJsonBody } from '../../server/body/parse-json-body.js';
import { EntitiesFile } from '../../engine/entities/index.js';
import { BatchRequest, HttpAuthorizeRequest, ProvisioningKeyRequest } from '../../server/schemas.js';
import { requestArb } from '../support/fleet-arbitraries.js';
import { depth } from '../support/depth.js';

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
    v !== null && typeof v === 'object'
      ? Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])])
      : [];
  return fc.oneof(
    valid,
    valid.chain((v) => {
      const all = paths(v);
      if (all.length === 0) return fc.constant(v);
      return fc
        .tuple(fc.constantFrom(...all), fc.oneof(fc.constant(undefined), fc.constant(''), anyJson))
        .map(([p, change]) => mutate(v, p, change));
    }),
    anyJson,
  );
}

const RUNS = depth(400, 10_000);

function agree(schema: z.ZodType, check: (v: unknown) => boolean, values: fc.Arbitrary<unknown>) {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(values, (v) => {
      const ok = schema.safeParse(v).success;
      expect(check(v)).toBe(ok);
      ok ? accepted++ : refused++;
    }),
    { numRuns: RUNS },
  );
  expect(accepted).toBeGreaterThan(RUNS / 10);
  expect(refused).toBeGreaterThan(RUNS / 10);
}

const text = fc.oneof(
  { weight: 9, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constant('') },
);
const azEntity = fc.record(
  {
    type: text,
    id: text,
    properties: fc.option(fc.dictionary(text, fc.jsonValue({ maxDepth: 1 })), { nil: undefined }),
  },
  { requiredKeys: ['type', 'id'] },
);
const azEvaluation = fc.record(
  {
    subject: azEntity,
    action: fc.record(
      { name: text, properties: fc.option(fc.dictionary(text, fc.integer()), { nil: undefined }) },
      { requiredKeys: ['name'] },
    ),
    resource: azEntity,
    context: fc.dictionary(text, fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: ['subject', 'action', 'resource'] },
);

// Times and CIDR ranges near the valid ones: the formats JSON Schema checks by the same functions zod does.
const time = fc.oneof(
  { weight: 4, arbitrary: fc.constant('2027-01-01T00:00:00Z') },
  fc.constantFrom('2027-01-01T00:00:00Z', '2027-02-30T00:00:00Z', '2027-01-01', '2027-01-01T00:00:00+01:00', 'soon'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const cidr = fc.oneof(
  { weight: 6, arbitrary: fc.constant('203.0.113.0/24') },
  fc.constantFrom('203.0.113.0/24', '10.0.0.0/33', '2001:db8::/32', '2001:db8::/129', '10.0.0.1', 'x/8'),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, bits]) => `${ip}/${bits}`),
);
const provisioningKey = fc.record(
  {
    fleet: text,
    organization: text,
    expiresAt: time,
    allowedCidrs: fc.array(cidr, { maxLength: 2 }),
    maxRegistrations: fc.integer({ min: -1, max: 5 }),
    singleUse: fc.boolean(),
  },
  { requiredKeys: ['fleet', 'organization', 'expiresAt'] },
);
const entitiesFile = fc.record({
  entities: fc.array(
    fc.record(
      {
        type: text,
        id: fc.oneof(text, fc.integer()),
        attributes: fc.dictionary(text, fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: ['type', 'id'] },
    ),
    { maxLength: 3 },
  ),
});

describe('compiled JSON Schemas accept what zod accepts', () => {
  it('a provisioning key (RFC 3339 times and CIDR ranges as formats)', () =>
    agree(ProvisioningKeyRequest, bodySchema(ProvisioningKeyRequest).validate, around(provisioningKey)));
  it('an entities file', () => agree(EntitiesFile, bodySchema(EntitiesFile).validate, around(entitiesFile)));
  it('an AuthZEN evaluation item', () => agree(AzEvaluation, isAzEvaluation, around(azEvaluation)));
  it('an authorize request', () =>
    agree(HttpAuthorizeRequest, bodySchema(HttpAuthorizeRequest).validate, around(requestArb())));
  it('a batch', () => {
    const schema = BatchRequest(3);
    agree(
      schema,
      bodySchema(schema).validate,
      around(fc.array(requestArb(), { minLength: 0, maxLength: 4 }).map((requests) => ({ requests }))),
    );
  });
});

describe("the batch route's JSON parser", () => {
  /** fastify's default JSON parser, as configured: the reference. */
  const fastifyParse = (text: string) => {
    if (text.length === 0) throw new Error('empty');
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  };
  const outcome = (parse: (t: string) => unknown, text: string) => {
    try {
      return { value: parse(text) };
    } catch {
      return { error: true };
    }
  };
  const key = fc.constantFrom(
    'a',
    '__proto__',
    'constructor',
    '\\u005f_proto__',
    'con\\u0073tructor',
    'prototype',
    'x\\u0041',
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 0 }),
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(key, tie('node'), { maxKeys: 3 }),
    ),
  })).node;
  // Keys are written raw so that escapes reach the parser as escapes.
  const text = (v: unknown): string =>
    v !== null && typeof v === 'object'
      ? Array.isArray(v)
        ? `[${v.map(text).join(',')}]`
        : `{${Object.entries(v)
            .map(([k, x]) => `"${k}" : ${text(x)}`)
            .join(',')}}`
      : JSON.stringify(v);
  const bodies = fc.oneof(
    value.map(text),
    value.map((v) => `\ufeff${text(v)}`),
    fc
      .tuple(value.map(text), fc.nat(), fc.string({ maxLength: 2 }))
      .map(([t, at, junk]) => t.slice(0, at % (t.length + 1)) + junk),
  );

  it("gives what fastify's default parser gives, and refuses what it refuses", () => {
    const runs = depth(500, 15_000);
    let refused = 0;
    fc.assert(
      fc.property(bodies, (body) => {
        const ours = outcome(parseJsonBody, body);
        expect(ours).toEqual(outcome(fastifyParse, body));
        if ('error' in ours) refused++;
      }),
      { numRuns: runs },
    );
    expect(refused).toBeGreaterThan(runs / 10);
  });

  /** How deep objects and arrays nest in a value (a scalar is 0, `{}` is 1), without recursion. */
  const depthOf = (value: unknown): number => {
    let max = 0;
    const stack: [unknown, number][] = [[value, 1]];
    while (stack.length > 0) {
      const [v, d] = stack.pop()!;
      if (v === null || typeof v !== 'object') continue;
      max = Math.max(max, d);
      for (const x of Object.values(v)) stack.push([x, d + 1]);
    }
    return max;
  };
  // Strings full of brackets, quotes and backslashes: they must not count as nesting.
  const tricky = fc.string({ unit: fc.constantFrom('{', '[', '}', ']', '"', '\\', 'a', ':', ','), maxLength: 6 });
  const scalar = fc.oneof(tricky, fc.integer(), fc.constant(null), fc.boolean());
  const layer = fc.record({
    array: fc.boolean(),
    before: fc.array(fc.tuple(tricky, scalar), { maxLength: 2 }),
    after: fc.array(fc.tuple(tricky, scalar), { maxLength: 2 }),
  });
  /** A value nested about `MAX_BODY_DEPTH` deep, each level with siblings before and after (layers repeat). */
  const deepText = fc
    .tuple(
      fc.oneof(
        fc.integer({ min: MAX_BODY_DEPTH - 3, max: MAX_BODY_DEPTH + 1 }),
        fc.integer({ min: MAX_BODY_DEPTH - 30, max: MAX_BODY_DEPTH + 30 }),
      ),
      fc.array(layer, { minLength: 1, maxLength: 20 }),
      fc.jsonValue({ maxDepth: 2 }).filter((v) => !/__proto__|constructor/.test(JSON.stringify(v))),
      fc.boolean(),
    )
    .map(([levels, layers, leaf, bom]) => {
      // Built as the text before and after the innermost value, then joined once.
      const open: string[] = [];
      const close: string[] = [];
      for (let i = 0; i < levels; i++) {
        const { array, before, after } = layers[i % layers.length]!;
        const item = ([k, v]: [string, unknown], side: string) =>
          array ? JSON.stringify(v) : `${JSON.stringify(side + k)}:${JSON.stringify(v)}`;
        const b = before.map((e) => `${item(e, 'b')},`).join('');
        const a = after.map((e) => `,${item(e, 'a')}`).join('');
        open.push(array ? `[${b}` : `{${b}"deep":`);
        close.push(`${a}${array ? ']' : '}'}`);
      }
      const text = open.join('') + JSON.stringify(leaf) + close.reverse().join('');
      return bom ? `\ufeff${text}` : text;
    });

  const depthRuns = depth(100, 2000);
  it(`refuses exactly the bodies nested deeper than ${MAX_BODY_DEPTH} levels`, () => {
    let deep = 0;
    let shallow = 0;
    fc.assert(
      fc.property(deepText, (body) => {
        const parsed = JSON.parse(body.replace(/^\ufeff/, ''));
        const tooDeep = depthOf(parsed) > MAX_BODY_DEPTH;
        if (tooDeep) {
          deep++;
          expect(() => parseJsonBody(body)).toThrow(`deeper than ${MAX_BODY_DEPTH} levels`);
        } else {
          shallow++;
          expect(JSON.stringify(parseJsonBody(body))).toBe(JSON.stringify(parsed));
        }
      }),
      { numRuns: depthRuns },
    );
    expect(deep).toBeGreaterThan(depthRuns / 4);
    expect(shallow).toBeGreaterThan(depthRuns / 4);
  });
});
