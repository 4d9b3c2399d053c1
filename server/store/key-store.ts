// Keys and the principals they stand for, in SQLite (the KeyStore of stores.ts). A key reads
// `fg.<id>.<secret>`: the id finds the row, the secret is checked against a salted digest in constant
// time. Unknown, revoked, malformed and mismatched keys are indistinguishable to the caller. Rows are read
// on every lookup (by primary key): a revocation through any connection applies to the next request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Entity } from '../../engine/index.js';
import type { Db } from './database.js';
import type {
  AttemptWindow,
  EntityStore,
  IssuedKey,
  KeyInfo,
  KeyKind,
  KeyOwner,
  KeyStore,
  ProvisioningKeyInput,
  ProvisionResult,
} from './stores.js';

/** A row of `provisioning_keys`. */
interface ProvisioningKeyRow {
  id: string;
  fleet: string;
  organization: string;
  expires_at: number;
  allowed_cidrs: string;
  max_registrations: number | null;
  registrations: number;
  single_use: number;
  revoked: number;
}

export const KEY_FORMAT = /^fg\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

export const digestOf = (salt: Buffer, secret: string) => createHash('sha256').update(salt).update(secret).digest();

/** A random id that never starts with `-`, so a command line never reads it as an option. */
export function newId(): string {
  const id = randomBytes(12).toString('base64url');
  return id.startsWith('-') ? `k${id.slice(1)}` : id;
}

/** A new key's secret, as shown once (`fg.<id>.<secret>`), and what is stored of it: a salt and the digest. */
export function newSecret(id: string): { key: string; salt: Buffer; digest: Buffer } {
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  return { key: `fg.${id}.${secret}`, salt, digest: digestOf(salt, secret) };
}

/** A stored key's row as every store reads it. */
export interface CredentialRow {
  kind: KeyKind;
  subject: string;
  salt: Buffer;
  digest: Buffer;
  revoked: number | boolean;
}

/**
 * Who a key stands for: the owner of its row when the key is well formed, its secret matches (compared in
 * constant time) and it is not revoked; undefined otherwise, whichever it was. `row` looks the id up.
 */
export function verifyCredential(
  credential: string,
  row: (id: string) => CredentialRow | undefined,
): KeyOwner | undefined {
  const m = KEY_FORMAT.exec(credential);
  if (!m) return undefined;
  const r = row(m[1]!);
  if (!r || !timingSafeEqual(digestOf(r.salt, m[2]!), r.digest) || r.revoked) return undefined;
  return { kind: r.kind, subject: r.subject };
}

/** Key id of a well-formed key (safe to log), or undefined. */
export function keyIdOf(credential: string): string | undefined {
  return KEY_FORMAT.exec(credential)?.[1];
}

export class SqliteKeyStore implements KeyStore {
  private readonly stmts;
  /** name → its window: attempts are counted in this process (the rate limit is per sidecar here). */
  private readonly attempts = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    private readonly entities: EntityStore,
  ) {
    this.stmts = {
      credential: db.prepare('SELECT kind, subject, salt, digest, revoked FROM credentials WHERE id = ?'),
      insertCredential: db.prepare(
        'INSERT INTO credentials (id, kind, subject, salt, digest, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      device: db.prepare('SELECT id, fleet, organization FROM devices WHERE id = ?'),
      provisioningKey: db.prepare('SELECT * FROM provisioning_keys WHERE id = ?'),
    };
  }

  /** The file is always at hand: every lookup reads it. */
  uncheckable(): undefined {
    return undefined;
  }

  async countAttempt(name: string, windowMs: number): Promise<AttemptWindow> {
    const now = this.clock();
    let w = this.attempts.get(name);
    if (w === undefined || w.start + windowMs <= now) {
      // Expired windows go when a new one starts, so the map holds the names of the last window or so.
      if (this.attempts.size > 10_000)
        for (const [k, v] of this.attempts) if (v.start + windowMs <= now) this.attempts.delete(k);
      this.attempts.set(name, (w = { start: now, count: 0 }));
    }
    w.count++;
    return { count: w.count, resetInMs: w.start + windowMs - now };
  }

  async issue(kind: KeyKind, subject: string): Promise<IssuedKey> {
    return this.issueNow(kind, subject);
  }

  private issueNow(kind: KeyKind, subject: string, id = newId()): IssuedKey {
    const { key, salt, digest } = newSecret(id);
    this.stmts.insertCredential.run(id, kind, subject, salt, digest, this.clock());
    return { id, key };
  }

  verify(credential: string): KeyOwner | undefined {
    return verifyCredential(credential, (id) => this.stmts.credential.get(id) as CredentialRow | undefined);
  }

  resolve(credential: string): Entity | undefined {
    const row = this.verify(credential);
    if (!row) return undefined;
    switch (row.kind) {
      case 'device': {
        const d = this.stmts.device.get(row.subject) as { id: string; fleet: string; organization: string } | undefined;
        return d && { type: 'device', id: d.id, attributes: { fleet: d.fleet, organization: d.organization } };
      }
      case 'provisioning_key':
        return this.provisioningPrincipal(row.subject);
      case 'user': {
        this.entities.refresh();
        const attributes = this.entities.attributes('user', row.subject);
        return attributes && { type: 'user', id: row.subject, attributes };
      }
    }
  }

  private provisioningPrincipal(id: string): Entity | undefined {
    const k = this.stmts.provisioningKey.get(id) as ProvisioningKeyRow | undefined;
    if (!k) return undefined;
    const attributes: Record<string, unknown> = {
      fleet: k.fleet,
      organization: k.organization,
      expiresAt: new Date(k.expires_at).toISOString(),
      allowedCidrs: JSON.parse(k.allowed_cidrs),
      registrations: k.registrations,
      revoked: k.revoked === 1,
    };
    if (k.max_registrations !== null) attributes.maxRegistrations = k.max_registrations;
    return { type: 'provisioning_key', id: k.id, attributes };
  }

  async createProvisioningKey(input: ProvisioningKeyInput): Promise<IssuedKey> {
    return this.db.transaction(() => {
      const id = newId();
      this.db
        .prepare(
          'INSERT INTO provisioning_keys (id, fleet, organization, expires_at, allowed_cidrs, max_registrations, single_use, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          id,
          input.fleet,
          input.organization,
          input.expiresAt,
          JSON.stringify(input.allowedCidrs ?? []),
          input.maxRegistrations ?? null,
          input.singleUse ? 1 : 0,
          this.clock(),
        );
      return this.issueNow('provisioning_key', id, id);
    })();
  }

  async listKeys(): Promise<KeyInfo[]> {
    const rows = this.db
      .prepare(
        `SELECT c.id, c.kind, c.subject, c.revoked, c.created_at, p.fleet, p.organization, p.expires_at, p.allowed_cidrs,
                p.max_registrations, p.registrations, p.single_use, p.revoked AS key_revoked
           FROM credentials c LEFT JOIN provisioning_keys p ON c.kind = 'provisioning_key' AND p.id = c.subject
          ORDER BY c.created_at, c.id`,
      )
      .all() as ({
      id: string;
      kind: KeyKind;
      subject: string;
      revoked: number;
      created_at: number;
      key_revoked: number | null;
    } & Partial<ProvisioningKeyRow>)[];
    return rows.map((r) => {
      const info: KeyInfo = {
        id: r.id,
        kind: r.kind,
        subject: r.subject,
        revoked: r.revoked === 1 || r.key_revoked === 1,
        createdAt: new Date(r.created_at).toISOString(),
      };
      if (r.kind === 'provisioning_key' && r.fleet !== undefined) {
        info.provisioning = {
          fleet: r.fleet,
          organization: r.organization!,
          expiresAt: new Date(r.expires_at!).toISOString(),
          allowedCidrs: JSON.parse(r.allowed_cidrs!) as string[],
          maxRegistrations: r.max_registrations ?? null,
          registrations: r.registrations!,
          singleUse: r.single_use === 1,
        };
      }
      return info;
    });
  }

  async revokeKey(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.db.prepare('UPDATE credentials SET revoked = 1 WHERE id = ?').run(id).changes;
      this.db.prepare('UPDATE provisioning_keys SET revoked = 1 WHERE id = ?').run(id);
      return changed > 0;
    })();
  }

  async deleteDevice(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes;
      this.db.prepare("DELETE FROM credentials WHERE kind = 'device' AND subject = ?").run(id);
      return changed > 0;
    })();
  }

  /**
   * The write lock is taken first (BEGIN IMMEDIATE), across threads and processes; then the key is read,
   * `decide` runs on what was read, and the device, its key and the new count are written in the same
   * transaction.
   */
  async provision<D extends { allowed: boolean }>(
    keyId: string,
    deviceId: string,
    metadata: Record<string, unknown> | undefined,
    decide: (principal: Entity) => D,
  ): Promise<ProvisionResult<D>> {
    return this.db
      .transaction(() => {
        const principal = this.provisioningPrincipal(keyId);
        if (!principal) return { outcome: 'denied' as const, decision: undefined };
        const decision = decide(principal);
        if (!decision.allowed) return { outcome: 'denied' as const, decision };
        const { fleet, organization } = principal.attributes as { fleet: string; organization: string };
        const existing = this.stmts.device.get(deviceId) as { fleet: string; organization: string } | undefined;
        // Only the key's own fleet learns that an id exists: elsewhere it is `taken`, answered as a denial.
        if (existing)
          return existing.fleet === fleet && existing.organization === organization
            ? { outcome: 'conflict' as const, decision }
            : { outcome: 'taken' as const, decision };
        this.db
          .prepare(
            'INSERT INTO devices (id, fleet, organization, metadata, provisioned_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(
            deviceId,
            fleet,
            organization,
            metadata === undefined ? null : JSON.stringify(metadata),
            keyId,
            this.clock(),
          );
        this.db
          .prepare(
            'UPDATE provisioning_keys SET registrations = registrations + 1, revoked = CASE WHEN single_use = 1 THEN 1 ELSE revoked END WHERE id = ?',
          )
          .run(keyId);
        const { key } = this.issueNow('device', deviceId);
        return { outcome: 'created' as const, decision, device: { id: deviceId, fleet, organization }, deviceKey: key };
      })
      .immediate();
  }
}
