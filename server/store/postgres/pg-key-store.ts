// Keys and the principals they stand for, on PostgreSQL (the KeyStore of stores.ts): the same keys as
// SQLite's (`fg.<id>.<secret>`, salted SHA-256 digests only, compared in constant time). Lookups read the
// sidecar's mirror (mirror.ts); every write is one transaction, after which the mirror reads the rows it
// changed, so the next request sees it here and, once announced, on every other sidecar.
import type { Entity } from '../../../engine/index.js';
import { newId, newSecret, verifyCredential } from '../key-store.js';
import type {
  AttemptWindow,
  IssuedKey,
  KeyInfo,
  KeyKind,
  KeyOwner,
  KeyStore,
  ProvisioningKeyInput,
  ProvisionResult,
} from '../stores.js';
import type { Pool, PoolClient } from './connection.js';
import { provisioningKeyRow, type ChangedRow, type ProvisioningKeyRow, type StoreMirror } from './mirror.js';
import { reaching } from './unavailable.js';

/** Runs `work` in one transaction on one connection; rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return reaching(async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    } finally {
      client.release(broken);
    }
  });
}

function principalOf(k: ProvisioningKeyRow): Entity {
  const attributes: Record<string, unknown> = {
    fleet: k.fleet,
    organization: k.organization,
    expiresAt: new Date(k.expiresAt).toISOString(),
    allowedCidrs: k.allowedCidrs,
    registrations: k.registrations,
    revoked: k.revoked,
  };
  if (k.maxRegistrations !== null) attributes.maxRegistrations = k.maxRegistrations;
  return { type: 'provisioning_key', id: k.id, attributes };
}

export class PgKeyStore implements KeyStore {
  private attempts = 0;

  constructor(
    private readonly pool: Pool,
    private readonly mirror: StoreMirror,
    private readonly clock: () => number,
    /** How long credentials are checked from the mirror after it was last known current (ms). */
    private readonly staleAfterMs: number,
  ) {}

  uncheckable(): string | undefined {
    if (this.mirror.up) return undefined;
    const behind = this.clock() - this.mirror.current;
    if (behind <= this.staleAfterMs) return undefined;
    const seconds = Number.isFinite(behind) ? `${Math.round(behind / 1000)} s` : 'since the sidecar started';
    return `the credential could not be checked: the key store has been unreachable for ${seconds}`;
  }

  verify(credential: string): KeyOwner | undefined {
    return verifyCredential(credential, (id) => this.mirror.credential(id));
  }

  resolve(credential: string): Entity | undefined {
    const owner = this.verify(credential);
    if (!owner) return undefined;
    switch (owner.kind) {
      case 'device': {
        const attributes = this.mirror.device(owner.subject);
        return attributes && { type: 'device', id: owner.subject, attributes: { ...attributes } };
      }
      case 'provisioning_key': {
        const k = this.mirror.provisioningKey(owner.subject);
        return k && principalOf(k);
      }
      case 'user': {
        const attributes = this.mirror.attributes('user', owner.subject);
        return attributes && { type: 'user', id: owner.subject, attributes };
      }
    }
  }

  /** Writes a new key's row on `client` (inside the caller's transaction). */
  private async insertKey(client: PoolClient, kind: KeyKind, subject: string, id = newId()): Promise<IssuedKey> {
    const { key, salt, digest } = newSecret(id);
    await client.query(
      'INSERT INTO credentials (id, kind, subject, salt, digest, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, kind, subject, salt, digest, this.clock()],
    );
    return { id, key };
  }

  /** The mirror reads what a write changed before the write returns. */
  private async written(rows: ChangedRow[]): Promise<void> {
    // The write is committed whatever happens here; a failed read stays pending and is retried.
    await this.mirror.reload(rows).catch(() => {});
  }

  async issue(kind: KeyKind, subject: string): Promise<IssuedKey> {
    const issued = await inTransaction(this.pool, (c) => this.insertKey(c, kind, subject));
    await this.written([{ table: 'credentials', id: issued.id }]);
    return issued;
  }

  async createProvisioningKey(input: ProvisioningKeyInput): Promise<IssuedKey> {
    const issued = await inTransaction(this.pool, async (c) => {
      const id = newId();
      await c.query(
        `INSERT INTO provisioning_keys (id, fleet, organization, expires_at, allowed_cidrs, max_registrations, single_use, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          input.fleet,
          input.organization,
          input.expiresAt,
          JSON.stringify(input.allowedCidrs ?? []),
          input.maxRegistrations ?? null,
          input.singleUse ?? false,
          this.clock(),
        ],
      );
      return this.insertKey(c, 'provisioning_key', id, id);
    });
    await this.written([
      { table: 'provisioning_keys', id: issued.id },
      { table: 'credentials', id: issued.id },
    ]);
    return issued;
  }

  async listKeys(): Promise<KeyInfo[]> {
    const { rows } = await reaching(() =>
      this.pool.query(
        `SELECT c.id, c.kind, c.subject, c.revoked, c.created_at, p.id AS key_id, p.fleet, p.organization, p.expires_at,
                p.allowed_cidrs, p.max_registrations, p.registrations, p.single_use, p.revoked AS key_revoked
           FROM credentials c LEFT JOIN provisioning_keys p ON c.kind = 'provisioning_key' AND p.id = c.subject
          ORDER BY c.created_at, c.id`,
      ),
    );
    return rows.map((r) => {
      const info: KeyInfo = {
        id: r.id,
        kind: r.kind,
        subject: r.subject,
        revoked: r.revoked || r.key_revoked === true,
        createdAt: new Date(r.created_at).toISOString(),
      };
      if (r.kind === 'provisioning_key' && r.key_id !== null) {
        info.provisioning = {
          fleet: r.fleet,
          organization: r.organization,
          expiresAt: new Date(r.expires_at).toISOString(),
          allowedCidrs: r.allowed_cidrs,
          maxRegistrations: r.max_registrations,
          registrations: r.registrations,
          singleUse: r.single_use,
        };
      }
      return info;
    });
  }

  async revokeKey(id: string): Promise<boolean> {
    const changed = await inTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query('UPDATE credentials SET revoked = true WHERE id = $1', [id]);
      await c.query('UPDATE provisioning_keys SET revoked = true WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    });
    await this.written([
      { table: 'credentials', id },
      { table: 'provisioning_keys', id },
    ]);
    return changed;
  }

  async deleteDevice(id: string): Promise<boolean> {
    const { deleted, keys } = await inTransaction(this.pool, async (c) => {
      const d = await c.query('DELETE FROM devices WHERE id = $1', [id]);
      const k = await c.query<{ id: string }>(
        "DELETE FROM credentials WHERE kind = 'device' AND subject = $1 RETURNING id",
        [id],
      );
      return { deleted: (d.rowCount ?? 0) > 0, keys: k.rows.map((r) => r.id) };
    });
    await this.written([{ table: 'devices', id }, ...keys.map((k) => ({ table: 'credentials' as const, id: k }))]);
    return deleted;
  }

  /**
   * The key's row is locked (SELECT … FOR UPDATE) before it is read: registrations with the same key on
   * any sidecar wait for each other, so `decide` always sees the count as it stands and the cap is exact.
   */
  async provision<D extends { allowed: boolean }>(
    keyId: string,
    deviceId: string,
    metadata: Record<string, unknown> | undefined,
    decide: (principal: Entity) => D,
  ): Promise<ProvisionResult<D>> {
    let credentialId: string | undefined;
    const result = await inTransaction(this.pool, async (c): Promise<ProvisionResult<D>> => {
      const { rows } = await c.query(
        `SELECT id, fleet, organization, expires_at, allowed_cidrs, max_registrations, registrations, single_use, revoked
           FROM provisioning_keys WHERE id = $1 FOR UPDATE`,
        [keyId],
      );
      if (rows.length === 0) return { outcome: 'denied', decision: undefined };
      const key = provisioningKeyRow(rows[0]);
      const decision = decide(principalOf(key));
      if (!decision.allowed) return { outcome: 'denied', decision };
      const { fleet, organization } = key;
      const inserted = await c.query(
        `INSERT INTO devices (id, fleet, organization, metadata, provisioned_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [deviceId, fleet, organization, metadata === undefined ? null : JSON.stringify(metadata), keyId, this.clock()],
      );
      if (inserted.rowCount === 0) {
        // Only the key's own fleet learns that an id exists: elsewhere it is `taken`, answered as a denial.
        const existing = await c.query('SELECT fleet, organization FROM devices WHERE id = $1', [deviceId]);
        const same = existing.rows[0]?.fleet === fleet && existing.rows[0]?.organization === organization;
        return { outcome: same ? 'conflict' : 'taken', decision };
      }
      await c.query(
        'UPDATE provisioning_keys SET registrations = registrations + 1, revoked = revoked OR single_use WHERE id = $1',
        [keyId],
      );
      const issued = await this.insertKey(c, 'device', deviceId);
      credentialId = issued.id;
      return { outcome: 'created', decision, device: { id: deviceId, fleet, organization }, deviceKey: issued.key };
    });
    if (result.outcome === 'created')
      await this.written([
        { table: 'provisioning_keys', id: keyId },
        { table: 'devices', id: deviceId },
        { table: 'credentials', id: credentialId! },
      ]);
    return result;
  }

  /** One statement: the window's count goes up by one on the store's clock, whichever sidecar asks. */
  async countAttempt(name: string, windowMs: number): Promise<AttemptWindow> {
    const { rows } = await reaching(() =>
      this.pool.query<{ attempts: number; reset_in: number }>(
        `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
         INSERT INTO provision_attempts AS a (name, window_start, attempts)
         SELECT $1, now.ms - now.ms % $2::bigint, 1 FROM now
         ON CONFLICT (name, window_start) DO UPDATE SET attempts = a.attempts + 1
         RETURNING attempts, window_start + $2::bigint - (SELECT ms FROM now) AS reset_in`,
        [name, windowMs],
      ),
    );
    // Windows that ended long ago go now and then; any sidecar may do it.
    if (++this.attempts % 100 === 0)
      void this.pool
        .query(
          'DELETE FROM provision_attempts WHERE window_start < (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 2 * $1::bigint',
          [windowMs],
        )
        .catch(() => {});
    return { count: rows[0]!.attempts, resetInMs: rows[0]!.reset_in };
  }
}
