// Which revision is served where: sidecars register in the shared store and list each other; a sidecar on
// its own SQLite file lists itself. The rollout across real sidecar processes is in test/store/central-log-sidecars.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sidecarSelf } from '../../server/sidecar-list.js';
import { createPool, type Pool } from '../../server/store/postgres/connection.js';
import { migrate } from '../../server/store/postgres/migrations.js';
import { PgSidecarList, PgSidecarRegistry } from '../../server/store/postgres/sidecar-registry.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/postgres.js';
import { ADMIN_TOKEN, startTestServer } from '../support/server.js';
import { until } from '../support/wait.js';

describe.skipIf(!postgresAvailable)('sidecar registry on PostgreSQL', () => {
  let database: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    database = await createTestDatabase('sidecars');
    pool = createPool(database.url);
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('lists every sidecar with the revision it serves, sees a rollout converge, and forgets one that stops', async () => {
    const revisions = ['sha256:old', 'sha256:old'];
    const registries = revisions.map((_, i) =>
      new PgSidecarRegistry(pool, sidecarSelf(`127.0.0.1:${8000 + i}`), () => revisions[i]!, {
        heartbeatMs: 60_000,
        warn: () => {},
      }).start(),
    );
    const listing = new PgSidecarList(pool);
    const served = async () => (await listing.list()).map((s) => s.policyRevision);
    await until('both registered', async () => (await listing.list()).length === 2);
    const [a, b] = await listing.list();
    expect(a).toMatchObject({ policyRevision: 'sha256:old', stale: false });
    expect(a!.id < b!.id).toBe(true);
    expect(Date.parse(a!.lastSeen)).toBeGreaterThanOrEqual(Date.parse(a!.startedAt) - 1_000);

    revisions[0] = 'sha256:new';
    await registries[0]!.beat(); // a sidecar beats when it loads a revision
    expect((await served()).sort()).toEqual(['sha256:new', 'sha256:old']);
    revisions[1] = 'sha256:new';
    await registries[1]!.beat();
    expect(await served()).toEqual(['sha256:new', 'sha256:new']);

    await registries[0]!.close();
    expect((await listing.list()).map((s) => s.address)).toEqual(['127.0.0.1:8001']);
    await registries[1]!.close();
    expect(await listing.list()).toEqual([]);
  });

  it('lists a sidecar that missed its heartbeats as stale', async () => {
    const registry = new PgSidecarRegistry(pool, sidecarSelf('127.0.0.1:9000'), () => 'sha256:x', {
      heartbeatMs: 60_000,
      warn: () => {},
    });
    expect(await registry.beat()).toBe(true);
    await pool.query("UPDATE sidecars SET last_seen = now() - interval '31 seconds'");
    expect((await new PgSidecarList(pool).list()).map((s) => s.stale)).toEqual([true]);
    await registry.beat();
    expect((await new PgSidecarList(pool).list()).map((s) => s.stale)).toEqual([false]);
    await registry.close();
  });
});

describe('GET /v1/admin/sidecars on a SQLite store', () => {
  it('needs the admin token, and lists this sidecar with the revision it serves', async () => {
    const server = await startTestServer();
    try {
      expect((await fetch(`${server.url}/v1/admin/sidecars`)).status).toBe(401);
      const res = await fetch(`${server.url}/v1/admin/sidecars`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(200);
      const { sidecars } = (await res.json()) as { sidecars: Record<string, unknown>[] };
      expect(sidecars).toEqual([
        expect.objectContaining({
          address: server.url,
          policyRevision: server.policies.engine!.revision,
          stale: false,
        }),
      ]);
    } finally {
      await server.stop();
    }
  });
});
