// Query plans over the entity store (AuthZEN resource search): entities are checked against the schema
// and stored normalized, and the SQL over their stored JSON selects exactly the stored resources the
// engine allows: every attribute type, defaults, optional attributes, and times sent as RFC 3339 text or
// as epoch milliseconds. On SQLite and on PostgreSQL (each in its own dialect).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntities } from '../../engine/entities/check-entities.js';
import { authorize, planQuery, type Entity, type PolicySet } from '../../engine/index.js';
import { openDatabase } from '../../server/store/database.js';
import { SqliteEntityStore } from '../../server/store/entity-store.js';
import { createPool, type Pool } from '../../server/store/postgres/connection.js';
import { migrate } from '../../server/store/postgres/migrations.js';
import { StoreMirror } from '../../server/store/postgres/mirror.js';
import { PgEntityStore } from '../../server/store/postgres/pg-entity-store.js';
import type { EntityStore } from '../../server/store/stores.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { ACTIONS, contextArb, NOW, principalArb, resourceArb, RESOURCE_TYPES } from '../support/fleet-arbitraries.js';
import { compileOrThrow, shippedPolicies } from '../support/policies.js';
import { policyArb, randomRequestArb } from '../support/random-policies.js';
import { depth } from '../support/depth.js';

/** Where the plans run: an entity store, emptied before each case. */
interface Backend {
  name: string;
  /** Runs per property, as a share of SQLite's (a PostgreSQL case costs a few round trips). */
  share: number;
  available: boolean;
  open(): Promise<void>;
  fresh(): Promise<EntityStore>;
  close(): Promise<void>;
}

function sqliteBackend(): Backend {
  let db: ReturnType<typeof openDatabase> | undefined;
  return {
    name: 'SQLite',
    share: 1,
    available: true,
    open: async () => {},
    fresh: async () => {
      db?.close();
      db = openDatabase(':memory:');
      return new SqliteEntityStore(db, () => NOW);
    },
    close: async () => {
      db?.close();
    },
  };
}

/** One database for the file; each case empties the entities table. */
function postgresBackend(): Backend {
  let database: TestDatabase | undefined;
  let pool: Pool | undefined;
  let mirror: StoreMirror | undefined;
  return {
    name: 'PostgreSQL',
    share: 0.25,
    available: postgresAvailable,
    open: async () => {
      database = await createTestDatabase('plans');
      pool = createPool(database.url, { max: 2 });
      await migrate(pool);
      mirror = new StoreMirror(pool, database.url, { pack: '', clock: () => NOW, cache: 'none' });
    },
    fresh: async () => {
      await pool!.query('TRUNCATE entities');
      return new PgEntityStore(pool!, mirror!, () => NOW);
    },
    close: async () => {
      await pool?.end();
      await database?.drop();
    },
  };
}

/** Stores `rows` through the schema check (which must pass) and returns the store. */
async function storeOf(
  backend: Backend,
  set: PolicySet,
  rows: Entity[],
): Promise<{ store: EntityStore; stored: Entity[] }> {
  const store = await backend.fresh();
  const { entities, problems } = checkEntities(
    set.schema,
    rows.map((r) => ({ type: r.type, id: r.id, attributes: r.attributes ?? {} })),
  );
  expect(problems).toEqual([]);
  await store.upsert(entities!);
  return { store, stored: entities! };
}

/** The SQL path and the engine agree: exactly, or (for a partial plan) SQL returns a subset. */
async function expectParity(
  backend: Backend,
  set: PolicySet,
  req: { principal: Entity; action: string; context: Record<string, unknown> },
  type: string,
  rows: Entity[],
  exact: boolean | 'unless-partial',
) {
  const { store, stored } = await storeOf(backend, set, rows);
  const plan = planQuery(
    set,
    {
      ...req,
      resourceType: type,
      columnSql: store.columnSql(set.schema.resources.get(type)),
      dialect: store.sqlDialect,
    },
    NOW,
  );
  if (exact === true) expect(plan.partial).toBeUndefined();
  const selected = await store.select(type, plan.sql);
  const allowedOf = (list: Entity[]) =>
    list
      .filter((r) => r.type === type && authorize(set, { ...req, resource: r }, NOW, 'x').allowed)
      .map((r) => r.id)
      .sort();
  const allowed = allowedOf(rows);
  // Normalizing changes no decision: the engine reads the stored form as it reads what was sent.
  expect(allowedOf(stored)).toEqual(allowed);
  if (plan.partial) expect(allowed).toEqual(expect.arrayContaining(selected));
  else expect(selected).toEqual(allowed);
}

describe.each([sqliteBackend(), postgresBackend()])('plans over the entity store on $name', (backend) => {
  const runs = (n: number) => Math.max(5, Math.round(n * backend.share));
  beforeAll(() => (backend.available ? backend.open() : undefined));
  afterAll(() => (backend.available ? backend.close() : undefined));
  if (!backend.available) it.skip('needs PostgreSQL', () => {});
  else {
    it('agree with the engine on the shipped policies (times included)', async () => {
      const set = shippedPolicies();
      await fc.assert(
        fc.asyncProperty(
          principalArb.chain((p) =>
            fc.record({
              principal: fc.constant(p),
              action: fc.constantFrom(...ACTIONS),
              type: fc.constantFrom(...RESOURCE_TYPES),
              context: contextArb.map((c) => ({ ip: '10.1.2.3', ...c })),
              rows: fc.uniqueArray(resourceArb(p), { selector: (r) => `${r.type}/${r.id}`, maxLength: 12 }),
            }),
          ),
          ({ principal, action, type, context, rows }) =>
            expectParity(backend, set, { principal, action, context }, type, rows, true),
        ),
        { numRuns: runs(depth(80, 2000)) },
      );
    });

    it('agree with the engine on random policies (lists and booleans included)', async () => {
      await fc.assert(
        fc.asyncProperty(
          policyArb,
          randomRequestArb,
          fc.array(
            randomRequestArb.map((r) => r.resource),
            { maxLength: 8 },
          ),
          (set, req, resources) => {
            const rows = resources.map((r, i) => ({ ...r, id: `${r.id}-${i}` }));
            return expectParity(
              backend,
              set,
              { ...req, context: req.context! },
              req.resource.type,
              rows,
              'unless-partial',
            );
          },
        ),
        { numRuns: runs(depth(40, 1000)) },
      );
    });

    it('agree with the engine on every attribute type, defaults, and both forms of time', async () => {
      await fc.assert(
        fc.asyncProperty(everyTypePolicyArb, everyTypePrincipalArb, timeArb, rowsArb, (set, principal, time, rows) =>
          expectParity(backend, set, { principal, action: 'a', context: { time } }, 'r', rows, 'unless-partial'),
        ),
        { numRuns: runs(depth(60, 1500)) },
      );
    });
  }
});

describe('what the entity store accepts', () => {
  const set = compileOrThrow([{ path: 'schema.yaml', text: EVERY_TYPE_SCHEMA }]);
  const valid = { s: 'x', n: 1, b: true, t: NOW, ip: '10.0.0.1', net: '10.0.0.0/8', ss: [], ns: [], bs: [], ts: [] };

  it.each([
    ['a bool given as 1', { b: 1 }, ['b']],
    ['a bool given as text', { b: 'true' }, ['b']],
    ['a number given as text', { n: '1' }, ['n']],
    ['a time that is no time', { t: 'yesterday' }, ['t']],
    ['a time given as a bool', { t: true }, ['t']],
    ['an address that is no address', { ip: '10.0.0.999' }, ['ip']],
    ['a range that is no range', { net: '10.0.0.0/33' }, ['net']],
    ['a list given as one value', { ss: 'x' }, ['ss']],
    ['a bad item of a list', { ts: [NOW, 'soon'] }, ['ts', 1]],
    ['null', { s: null }, ['s']],
    ['an undeclared attribute', { publik: true }, ['publik']],
  ])('refuses %s, naming the path of the bad value', (_name, change, path) => {
    const { entities, problems } = checkEntities(set.schema, [
      { type: 'r', id: 'ok', attributes: valid },
      { type: 'r', id: 'bad', attributes: { ...valid, ...change } },
    ]);
    expect(entities).toBeUndefined();
    expect(problems.map((p) => p.path)).toEqual([[1, 'attributes', ...path]]);
  });

  it('refuses an unknown type and a missing required attribute', () => {
    const { s: _s, ...withoutS } = valid;
    const { problems } = checkEntities(set.schema, [
      { type: 'rr', id: 'x', attributes: {} },
      { type: 'r', id: 'y', attributes: withoutS },
    ]);
    expect(problems).toMatchObject([
      { path: [0, 'type'], hint: 'did you mean `r`?' },
      { path: [1, 'attributes'], message: expect.stringContaining('`s`') },
    ]);
  });

  it('stores one form: times as epoch milliseconds, addresses and ranges canonical, defaults left absent', () => {
    const { entities } = checkEntities(set.schema, [
      {
        type: 'r',
        id: 'x',
        attributes: {
          ...valid,
          t: '2026-06-01T02:00:00+02:00',
          ip: '::ffff:10.0.0.1',
          net: '2001:0db8:0000::/32',
          ts: ['2026-06-01T00:00:00.5Z', NOW],
        },
      },
    ]);
    expect(entities![0]!.attributes).toEqual({
      ...valid,
      t: NOW,
      ip: '10.0.0.1',
      net: '2001:db8::/32',
      ts: [NOW + 500, NOW],
    });
  });
});

// A resource type with every attribute type, optional ones and defaults; conditions over each.
const EVERY_TYPE_SCHEMA = `
actions: [a]
context:
  time: time
principals:
  p:
    attributes: { s: string, n: number, t: time, b: bool, tags: list<string> }
resources:
  r:
    attributes:
      s: string
      n: number
      b: bool
      t: time
      ip: ip
      net: cidr
      ss: list<string>
      ns: list<number>
      bs: list<bool>
      ts: list<time>
      opt: string?
      dn: { type: number, default: 2 }
      db: { type: bool, default: true }
      dt: { type: time, default: "2026-06-01T00:00:00Z" }
      dss: { type: list<string>, default: [x] }
`;

const ATOMS = [
  'resource.s == principal.s',
  'resource.s != "x"',
  'resource.s in ["x", "y"]',
  'resource.s in principal.tags',
  'resource.n < principal.n',
  'resource.n >= 1',
  'resource.n == 1.5',
  'resource.b',
  'resource.b == false',
  'resource.b == principal.b',
  'resource.t < context.time',
  'resource.t >= principal.t',
  'resource.t == "2026-06-01T00:00:00Z"',
  'resource.t in ["2026-06-01T00:00:00Z", "2026-06-01T01:00:00+01:00", "2026-05-31T23:00:00Z"]',
  'resource.ip == "10.0.0.1"',
  'resource.ip in "10.0.0.0/8"',
  '"x" in resource.ss',
  'principal.s in resource.ss',
  'principal.n in resource.ns',
  'principal.b in resource.bs',
  'principal.t in resource.ts',
  'has(resource.opt) and resource.opt == "x"',
  'not has(resource.opt)',
  'resource.dn > 1',
  'resource.db',
  'resource.dt <= context.time',
  '"x" in resource.dss',
  'has(resource.dn)',
];

const conditionArb: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...ATOMS),
    tie('expr').map((e) => `not (${e})`),
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l}) and (${r})`),
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l}) or (${r})`),
  ),
})).expr;

const everyTypePolicyArb = fc
  .array(fc.record({ effect: fc.constantFrom('allow', 'allow', 'deny'), when: conditionArb }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((rules) =>
    compileOrThrow([
      { path: 'schema.yaml', text: EVERY_TYPE_SCHEMA },
      {
        path: 'rules.yaml',
        text: `rules:\n${rules
          .map(
            (r, i) =>
              `  - id: r${i}\n    description: random\n    effect: ${r.effect}\n    principal: p\n    actions: [a]\n    resources: [r]\n    when: ${JSON.stringify(r.when)}\n`,
          )
          .join('')}`,
      },
    ]),
  );

/** Instants an hour apart around NOW, as RFC 3339 text (UTC, an offset, fractions) or epoch milliseconds. */
const timeArb = fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 0, max: 3 })).map(([h, form]) => {
  const ms = NOW + h * 3_600_000;
  switch (form) {
    case 0:
      return ms;
    case 1:
      return new Date(ms).toISOString();
    case 2:
      return new Date(ms).toISOString().replace('.000Z', 'Z');
    default: {
      const shifted = new Date(ms + 2 * 3_600_000).toISOString().slice(0, 19);
      return `${shifted}+02:00`;
    }
  }
});

const str = fc.constantFrom('x', 'y', 'z');
const num = fc.constantFrom(0, 1, 1.5, 2, 3);

const everyTypePrincipalArb = fc
  .record({ s: str, n: num, t: timeArb, b: fc.boolean(), tags: fc.subarray(['x', 'y', 'z']) })
  .map((attributes) => ({ type: 'p', id: 'p-1', attributes }));

const rowArb = fc.record(
  {
    s: str,
    n: num,
    b: fc.boolean(),
    t: timeArb,
    ip: fc.constantFrom('10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', '2001:db8::1'),
    net: fc.constantFrom('10.0.0.0/8', '10.0.0.0/24', '2001:db8::/32'),
    ss: fc.subarray(['x', 'y', 'z']),
    ns: fc.subarray([0, 1, 1.5, 2]),
    bs: fc.subarray([true, false]),
    ts: fc.array(timeArb, { maxLength: 3 }),
    opt: str,
    dn: num,
    db: fc.boolean(),
    dt: timeArb,
    dss: fc.subarray(['x', 'y']),
  },
  { requiredKeys: ['s', 'n', 'b', 't', 'ip', 'net', 'ss', 'ns', 'bs', 'ts'] },
);

const rowsArb = fc
  .array(rowArb, { maxLength: 10 })
  .map((rows) => rows.map((attributes, i) => ({ type: 'r', id: `r-${i}`, attributes })));
