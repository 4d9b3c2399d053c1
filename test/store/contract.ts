// The store contract: what every implementation of the interfaces in server/store/stores.ts promises,
// written once against the interfaces. Each implementation runs it with a harness that opens stores on
// one fresh, empty store (sqlite.test.ts; a shared store's test runs the same suite).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntities, type CheckedEntity } from '../../engine/entities/check-entities.js';
import {
  authorize,
  loadPolicySet,
  planQuery,
  type AuthorizeRequest,
  type Decision,
  type Entity,
} from '../../engine/index.js';
import type { StoredEntity } from '../../engine/schema/entities-file.js';
import { PackOwnedError, type Stores } from '../../server/store/stores.js';
import { REPO_DIR } from '../support/policies.js';
import { until } from '../support/wait.js';

export interface StoreHarness {
  /**
   * Stores on the harness's store, each call on a connection of its own (as another sidecar or a command
   * would be); `pack` for stores serving a pack.
   */
  open(options?: { pack?: string }): Promise<Stores>;
  /** Everything the store holds, as text, to look for what must never be stored (a secret). */
  dump(): Promise<string>;
  /** Closes what the harness opened and removes the store. */
  dispose(): Promise<void>;
}

const SEARCH = loadPolicySet(join(REPO_DIR, 'examples/authzen-search'));
const HOUR = 3_600_000;

function checked(list: StoredEntity[]): CheckedEntity[] {
  const { entities, problems } = checkEntities(SEARCH.schema, list);
  if (!entities) throw new Error(`test entities do not match the schema: ${JSON.stringify(problems)}`);
  return entities;
}

const user = (id: string, role: string, department: string): StoredEntity => ({
  type: 'user',
  id,
  attributes: { role, department },
});
const record = (id: string, department: string, owner: string): StoredEntity => ({
  type: 'record',
  id,
  attributes: { department, owner },
});

/** The shipped policies' rule for provisioning, as data: under the cap, not revoked. */
const underCap = (principal: Entity) => {
  const a = principal.attributes as { registrations: number; maxRegistrations?: number; revoked: boolean };
  return { allowed: !a.revoked && (a.maxRegistrations === undefined || a.registrations < a.maxRegistrations) };
};

/** What an implementation does beyond the common contract. */
export interface StoreTraits {
  /** `decisions` reads what the store's decision sink wrote (false: a central log that is not there yet). */
  decisionsReadBack: boolean;
  /** Attempts counted through one connection are counted on every other (a store shared by sidecars). */
  attemptsShared: boolean;
}

/**
 * A change made through one connection reaches another: at once on SQLite (after `refresh`), within the
 * time a shared store takes to tell its other sidecars (well under a second; the limit is a hang detector).
 */
async function eventually(what: string, ok: () => boolean): Promise<void> {
  await until(what, ok, 10_000);
}

export function storeContract(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  traits: StoreTraits = { decisionsReadBack: true, attemptsShared: false },
): void {
  describe(`store contract: ${name}`, () => {
    let harness: StoreHarness;
    let stores: Stores;
    beforeAll(async () => {
      harness = await makeHarness();
      stores = await harness.open();
    });
    afterAll(async () => {
      await stores.close();
      await harness.dispose();
    });

    const newProvisioningKey = (fleet: string, extra: { maxRegistrations?: number; singleUse?: boolean } = {}) =>
      stores.keys.createProvisioningKey({
        fleet,
        organization: `org-of-${fleet}`,
        expiresAt: Date.now() + HOUR,
        allowedCidrs: ['10.0.0.0/8'],
        ...extra,
      });

    describe('credentials', () => {
      it('a key issued for a user verifies and resolves to the stored user; a changed secret does not', async () => {
        await stores.entities.upsert(checked([user('cred-u1', 'manager', 'Sales')]));
        const { id, key } = await stores.keys.issue('user', 'cred-u1');
        expect(stores.keys.uncheckable()).toBeUndefined();
        expect(key.startsWith(`fg.${id}.`)).toBe(true);
        expect(stores.keys.verify(key)).toEqual({ kind: 'user', subject: 'cred-u1' });
        expect(stores.keys.resolve(key)).toEqual({
          type: 'user',
          id: 'cred-u1',
          attributes: { role: 'manager', department: 'Sales' },
        });
        const last = key.at(-1) === 'A' ? 'B' : 'A';
        for (const bad of [
          `${key.slice(0, -1)}${last}`,
          `fg.${'x'.repeat(16)}.${key.split('.')[2]}`,
          key.slice(1),
          '',
        ]) {
          expect(stores.keys.verify(bad)).toBeUndefined();
          expect(stores.keys.resolve(bad)).toBeUndefined();
        }
      });

      it('a revoked key stops verifying at once, on every connection; an unknown id is false', async () => {
        const other = await harness.open();
        try {
          const { id, key } = await stores.keys.issue('user', 'cred-u1');
          await eventually('the new key on the other connection', () => {
            other.entities.refresh();
            return other.keys.verify(key) !== undefined;
          });
          expect(await stores.keys.revokeKey(id)).toBe(true);
          expect(stores.keys.verify(key)).toBeUndefined();
          await eventually('the revocation on the other connection', () => {
            other.entities.refresh();
            return other.keys.verify(key) === undefined;
          });
          expect(await stores.keys.revokeKey('no-such-key-id')).toBe(false);
          expect((await stores.keys.listKeys()).find((k) => k.id === id)?.revoked).toBe(true);
        } finally {
          await other.close();
        }
      });

      it('never stores or lists a secret', async () => {
        const issued = [
          await stores.keys.issue('user', 'cred-u1'),
          await newProvisioningKey('f-secret'),
          await stores.keys.issue('device', 'no-device'),
        ];
        const dump = await harness.dump();
        const listed = JSON.stringify(await stores.keys.listKeys());
        for (const { id, key } of issued) {
          const secret = key.split('.')[2]!;
          expect(secret).toHaveLength(43);
          expect(dump).not.toContain(secret);
          expect(dump).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
          expect(listed).toContain(id);
          expect(listed).not.toContain(secret);
        }
      });
    });

    describe('provisioning keys and devices', () => {
      it('a provisioning key is listed with its count, and resolves to a principal with its attributes', async () => {
        const { id, key } = await newProvisioningKey('f-list', { maxRegistrations: 3 });
        const info = (await stores.keys.listKeys()).find((k) => k.id === id);
        expect(info).toMatchObject({
          kind: 'provisioning_key',
          subject: id,
          revoked: false,
          provisioning: {
            fleet: 'f-list',
            organization: 'org-of-f-list',
            allowedCidrs: ['10.0.0.0/8'],
            maxRegistrations: 3,
            registrations: 0,
            singleUse: false,
          },
        });
        expect(stores.keys.verify(key)).toEqual({ kind: 'provisioning_key', subject: id });
        expect(stores.keys.resolve(key)).toMatchObject({
          type: 'provisioning_key',
          id,
          attributes: { fleet: 'f-list', registrations: 0, maxRegistrations: 3, revoked: false },
        });
      });

      it('provisioning creates the device and its key and counts; the device is an entity until deleted', async () => {
        const { id } = await newProvisioningKey('f-dev');
        const seen: Entity[] = [];
        const result = await stores.keys.provision(id, 'dev-1', { model: 'pi' }, (principal) => {
          seen.push(principal);
          return { allowed: true };
        });
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ type: 'provisioning_key', id, attributes: { registrations: 0 } });
        if (result.outcome !== 'created') throw new Error(`not created: ${result.outcome}`);
        expect(result.device).toEqual({ id: 'dev-1', fleet: 'f-dev', organization: 'org-of-f-dev' });
        const device = { type: 'device', id: 'dev-1', attributes: { fleet: 'f-dev', organization: 'org-of-f-dev' } };
        expect(stores.keys.resolve(result.deviceKey)).toEqual(device);
        stores.entities.refresh();
        expect(stores.entities.attributes('device', 'dev-1')).toEqual(device.attributes);
        expect(stores.entities.attributes('provisioning_key', id)).toMatchObject({ registrations: 1 });

        expect(await stores.keys.deleteDevice('dev-1')).toBe(true);
        expect(stores.keys.resolve(result.deviceKey)).toBeUndefined();
        stores.entities.refresh();
        expect(stores.entities.has('device', 'dev-1')).toBe(false);
        expect(await stores.keys.deleteDevice('dev-1')).toBe(false);
      });

      it('a denial, an id in use and an unknown key write nothing', async () => {
        const { id } = await newProvisioningKey('f-out');
        const other = await newProvisioningKey('f-elsewhere');
        const denied = await stores.keys.provision(id, 'dev-out', undefined, () => ({ allowed: false, why: 'no' }));
        expect(denied).toEqual({ outcome: 'denied', decision: { allowed: false, why: 'no' } });
        expect(await stores.keys.provision(id, 'dev-out', undefined, () => ({ allowed: true }))).toMatchObject({
          outcome: 'created',
        });
        // The same id again: a conflict in the key's own fleet, `taken` from another fleet.
        expect(await stores.keys.provision(id, 'dev-out', undefined, () => ({ allowed: true }))).toMatchObject({
          outcome: 'conflict',
        });
        expect(await stores.keys.provision(other.id, 'dev-out', undefined, () => ({ allowed: true }))).toMatchObject({
          outcome: 'taken',
        });
        const unknown = await stores.keys.provision('no-such-key', 'dev-x', undefined, () => ({ allowed: true }));
        expect(unknown).toEqual({ outcome: 'denied', decision: undefined });
        stores.entities.refresh();
        expect(stores.entities.attributes('provisioning_key', id)).toMatchObject({ registrations: 1 });
        expect(stores.entities.attributes('provisioning_key', other.id)).toMatchObject({ registrations: 0 });
        expect(stores.entities.attributes('device', 'dev-out')).toMatchObject({ fleet: 'f-out' });
        expect(stores.entities.has('device', 'dev-x')).toBe(false);
      });

      it('a single-use key registers once, then is revoked as a key and as a principal', async () => {
        const { id, key } = await newProvisioningKey('f-once', { singleUse: true });
        const first = await stores.keys.provision(id, 'dev-once-1', undefined, underCap);
        expect(first.outcome).toBe('created');
        const second = await stores.keys.provision(id, 'dev-once-2', undefined, underCap);
        expect(second.outcome).toBe('denied');
        expect(stores.keys.resolve(key)).toMatchObject({ attributes: { revoked: true, registrations: 1 } });
        expect((await stores.keys.listKeys()).find((k) => k.id === id)?.revoked).toBe(true);
      });

      it('decides and writes as one operation: the cap is exact under concurrent attempts on several connections', async () => {
        const cap = 7;
        const { id } = await newProvisioningKey('f-cap', { maxRegistrations: cap });
        const connections = [stores, await harness.open(), await harness.open()];
        try {
          const attempts = Array.from({ length: 30 }, (_, i) =>
            connections[i % connections.length]!.keys.provision(id, `dev-cap-${i}`, undefined, underCap),
          );
          const outcomes = (await Promise.all(attempts)).map((r) => r.outcome);
          expect(outcomes.filter((o) => o === 'created')).toHaveLength(cap);
          expect(outcomes.filter((o) => o === 'denied')).toHaveLength(30 - cap);
          const info = (await stores.keys.listKeys()).find((k) => k.id === id);
          expect(info?.provisioning?.registrations).toBe(cap);
          const ids = await stores.entities.ids('device', 'dev-cap-', 100);
          expect(ids.filter((d) => d.startsWith('dev-cap-'))).toHaveLength(cap);
        } finally {
          await Promise.all(connections.slice(1).map((c) => c.close()));
        }
      });
    });

    describe('entities', () => {
      it('stores checked entities, replaces them whole, and a change made elsewhere is seen after refresh', async () => {
        expect(
          await stores.entities.upsert(checked([user('e-1', 'employee', 'Legal'), record('r-1', 'Legal', 'e-1')])),
        ).toBe(2);
        expect(stores.entities.attributes('user', 'e-1')).toEqual({ role: 'employee', department: 'Legal' });
        expect(stores.entities.has('record', 'r-1')).toBe(true);
        expect(stores.entities.has('record', 'r-none')).toBe(false);
        const other = await harness.open();
        try {
          await other.entities.upsert(checked([user('e-1', 'manager', 'Sales')]));
          await eventually('the change made on the other connection', () => {
            stores.entities.refresh();
            return stores.entities.attributes('user', 'e-1')?.role === 'manager';
          });
          expect(stores.entities.attributes('user', 'e-1')).toEqual({ role: 'manager', department: 'Sales' });
        } finally {
          await other.close();
        }
      });

      it('lists ids in store order, a page at a time', async () => {
        await stores.entities.upsert(
          checked(['p-03', 'p-01', 'p-05', 'p-02', 'p-04'].map((id) => record(id, 'Sales', 'x'))),
        );
        const page = async (after: string | undefined) =>
          (await stores.entities.ids('record', after, 2)).filter((id) => id.startsWith('p-'));
        expect(await page('p-')).toEqual(['p-01', 'p-02']);
        expect(await page('p-02')).toEqual(['p-03', 'p-04']);
        expect(await page('p-04')).toEqual(['p-05']);
      });

      it('selects the entities a query plan allows, in store order, a page at a time', async () => {
        await stores.entities.upsert(
          checked([
            record('s-1', 'Legal', 'nobody'),
            record('s-2', 'Finance', 'sel-user'),
            record('s-3', 'Legal', 'nobody'),
            record('s-4', 'Sales', 'nobody'),
          ]),
        );
        const principal = { type: 'user', id: 'sel-user', attributes: { role: 'employee', department: 'Legal' } };
        const plan = planQuery(
          SEARCH,
          {
            principal,
            action: 'view',
            resourceType: 'record',
            columnSql: stores.entities.columnSql(SEARCH.schema.resources.get('record')),
            dialect: stores.entities.sqlDialect,
          },
          Date.now(),
        );
        expect(plan.partial).toBeUndefined();
        const all = (await stores.entities.select('record', plan.sql)).filter((id) => id.startsWith('s-'));
        expect(all).toEqual(['s-1', 's-2', 's-3']);
        // The same as the engine decides on each.
        for (const id of ['s-1', 's-2', 's-3', 's-4']) {
          const request: AuthorizeRequest = {
            principal,
            action: 'view',
            resource: { type: 'record', id, attributes: { ...stores.entities.attributes('record', id) } },
          };
          expect(authorize(SEARCH, request, Date.now(), 'x').allowed).toBe(all.includes(id));
        }
        expect(await stores.entities.select('record', plan.sql, { after: 's-', count: 2 })).toEqual(['s-1', 's-2']);
        expect(await stores.entities.select('record', plan.sql, { after: 's-2', count: 2 })).toEqual(['s-3']);
      });

      it("a pack's entities: its store sees them over the store's own, another pack's never, and refuses to change them", async () => {
        await stores.entities.upsert(checked([user('pk-shared', 'employee', 'Sales')]));
        const packA = await harness.open({ pack: '/packs/a' });
        const packB = await harness.open({ pack: '/packs/b' });
        try {
          const { id: keyId } = await newProvisioningKey('f-pack');
          const report = await packA.entities.replacePack(
            checked([user('pk-shared', 'manager', 'Legal'), user('pk-a-only', 'employee', 'Legal')]),
          );
          expect(report).toEqual({ loaded: 2, overStore: ['user/pk-shared'], inKeyStore: [] });
          expect(packA.entities.attributes('user', 'pk-shared')).toEqual({ role: 'manager', department: 'Legal' });
          await eventually("the store's own entity on another pack's connection", () => {
            packB.entities.refresh();
            return packB.entities.has('user', 'pk-shared');
          });
          expect(packB.entities.attributes('user', 'pk-shared')).toEqual({ role: 'employee', department: 'Sales' });
          expect(packB.entities.has('user', 'pk-a-only')).toBe(false);
          expect((await packB.entities.ids('user', 'pk-', 10)).includes('pk-a-only')).toBe(false);

          await expect(packA.entities.upsert(checked([user('pk-a-only', 'manager', 'Sales')]))).rejects.toBeInstanceOf(
            PackOwnedError,
          );
          packA.entities.refresh();
          expect(packA.entities.attributes('user', 'pk-a-only')).toEqual({ role: 'employee', department: 'Legal' });

          // The file is the pack's whole set: what it no longer declares is gone.
          await packA.entities.replacePack(checked([user('pk-shared', 'manager', 'Legal')]));
          packA.entities.refresh();
          expect(packA.entities.has('user', 'pk-a-only')).toBe(false);
          // The key store's entities win over a pack's of the same id, and are reported.
          const keyed = checkEntities(loadPolicySet(join(REPO_DIR, 'policies')).schema, [
            {
              type: 'provisioning_key',
              id: keyId,
              attributes: {
                fleet: 'x',
                organization: 'y',
                expiresAt: 0,
                allowedCidrs: [],
                registrations: 0,
                revoked: false,
              },
            },
          ]);
          expect(keyed.problems).toEqual([]);
          const r = await packA.entities.replacePack(keyed.entities!);
          expect(r.inKeyStore).toEqual([`provisioning_key/${keyId}`]);
          expect(packA.entities.attributes('provisioning_key', keyId)).toMatchObject({ fleet: 'f-pack' });
        } finally {
          await packA.close();
          await packB.close();
        }
      });
    });

    describe('attempt counters', () => {
      it('count attempts by name in a window, and say when it ends', async () => {
        const windowMs = 600_000;
        // A window's end as a call sees it: calls in one window see the same end (within the test's run).
        const endOf = (w: { resetInMs: number }) => Date.now() + w.resetInMs;
        // Counts that cross a window's end start again and prove nothing: then the case runs again.
        for (let tries = 0; ; tries++) {
          const name = `key:contract-${tries}`;
          const counts = [];
          for (let i = 0; i < 3; i++) counts.push(await stores.keys.countAttempt(name, windowMs));
          expect((await stores.keys.countAttempt(`${name}-other`, windowMs)).count).toBe(1);
          const other = await harness.open();
          let there: { count: number; resetInMs: number };
          try {
            there = await other.keys.countAttempt(name, windowMs);
          } finally {
            await other.close();
          }
          const ends = [...counts, there].map(endOf);
          if (Math.max(...ends) - Math.min(...ends) > windowMs / 2 && tries < 2) continue;
          expect(counts.map((c) => c.count)).toEqual([1, 2, 3]);
          for (const c of counts) {
            expect(c.resetInMs).toBeGreaterThan(0);
            expect(c.resetInMs).toBeLessThanOrEqual(windowMs);
          }
          expect(there.count).toBe(traits.attemptsShared ? 4 : 1);
          return;
        }
      });

      it('start again when the window ends', async () => {
        const first = await stores.keys.countAttempt('address:contract-short', 200);
        await until(
          'a new window',
          async () => (await stores.keys.countAttempt('address:contract-short', 200)).count === 1,
        );
        expect(first.count).toBe(1);
      });
    });

    describe.skipIf(!traits.decisionsReadBack)('decision sink', () => {
      it('appends, drains and reads back every decision with its filters', async () => {
        const sink = stores.openDecisionSink({
          flushMs: 50,
          queueMax: 10_000,
          overflow: 'block',
          retentionDays: 0,
          logRequests: true,
          blockRows: 64,
          clock: Date.now,
          warn: () => {},
        });
        const t0 = Date.now();
        try {
          for (let i = 0; i < 200; i++) {
            const decision: Decision = {
              decision: i % 3 === 0 ? 'allow' : 'deny',
              allowed: i % 3 === 0,
              decisionId: `sink-${String(i).padStart(3, '0')}`,
              policyRevision: 'sha256:contract',
              matched: i % 3 === 0 ? [{ policy: 'records', rule: 'view-own', effect: 'allow' as const }] : [],
            };
            sink.append(
              decision,
              {
                principal: { type: 'user', id: `u-${i % 4}` },
                action: 'view',
                resource: { type: 'record', id: `r-${i}` },
              },
              5,
            );
          }
          await sink.drain();
          expect(sink.queueDepth).toBe(0);
          expect(sink.stats).toMatchObject({ written: 200, dropped: 0 });
        } finally {
          await sink.close();
        }
        const all = await stores.decisions.query({ since: t0, limit: 1000 });
        expect(all.map((d) => d.decisionId)).toEqual(
          Array.from({ length: 200 }, (_, i) => `sink-${String(i).padStart(3, '0')}`),
        );
        const u1 = await stores.decisions.query({ principal: 'u-1', since: t0 });
        expect(u1).toHaveLength(50);
        expect(u1.every((d) => d.principalId === 'u-1')).toBe(true);
        const allowed = await stores.decisions.query({ outcome: 'allow', since: t0, limit: 1000 });
        expect(allowed).toHaveLength(67);
        expect(allowed[0]).toMatchObject({ matched: ['view-own'], resourceId: 'r-0' });
        expect(await stores.decisions.query({ resource: 'r-7', since: t0 })).toHaveLength(1);
        expect(await stores.decisions.query({ since: t0, limit: 5 })).toHaveLength(5);
        // Where the log can be verified, its hash chain holds what was written, and a head kept from it.
        const verify = stores.decisions.verify?.bind(stores.decisions);
        if (verify) {
          const [chain, ...others] = await verify();
          expect(others).toEqual([]);
          expect(chain!.broken).toBeUndefined();
          expect(chain!.decisions).toBeGreaterThanOrEqual(200);
          expect((await verify([{ hash: chain!.head }]))[0]!.broken).toBeUndefined();
          expect((await verify([{ chainId: chain!.chainId, hash: chain!.head }]))[0]!.broken).toBeUndefined();
          expect((await verify([{ hash: '1'.padStart(64, '0') }]))[0]!.broken?.kind).toBe('head-not-found');
        }
      });
    });
  });
}
