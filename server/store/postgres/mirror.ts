// A sidecar's copy of the shared store's key and entity tables, in memory, so the lookups a decision makes
// (KeyStore.verify/resolve, EntityStore.attributes/has) are synchronous and never wait on a round trip.
//
// Kept current by LISTEN/NOTIFY: a trigger announces every changed row by its key when the writing
// transaction commits (migration 5), and the mirror reads those rows again. Reads run one at a time, in
// the order they were asked for, so a later read (which sees a later state) always lands last. Writes made
// through this process read their rows again before they return, so a write is seen by the next request.
//
// The listening connection is the mirror's lifeline: while it is open and answers a heartbeat, every
// change reaches the mirror; when it drops (or stops answering), the mirror is marked down, kept as it was,
// and a new connection is tried every few hundred milliseconds; once connected it LISTENs first, then
// reloads everything (changes it missed meanwhile were never announced to it), and is up again.
import pg from 'pg';
import { StoreUnavailableError, type KeyKind } from '../stores.js';
import { PG_TYPES, type Pool } from './connection.js';

export const CHANNEL = 'fleetguard_changes';

export interface CredentialRow {
  kind: KeyKind;
  subject: string;
  salt: Buffer;
  digest: Buffer;
  revoked: boolean;
}

export interface ProvisioningKeyRow {
  id: string;
  fleet: string;
  organization: string;
  expiresAt: number;
  allowedCidrs: string[];
  maxRegistrations: number | null;
  registrations: number;
  singleUse: boolean;
  revoked: boolean;
}

type Attributes = Readonly<Record<string, unknown>>;

/** A row announced as changed: its table and key. */
export type ChangedRow =
  | { table: 'credentials' | 'devices' | 'provisioning_keys'; id: string }
  | { table: 'entities'; type: string; id: string; scope: string };

/** The attributes the engine sees for a provisioning key as an entity (times as epoch milliseconds). */
function provisioningKeyAttributes(k: ProvisioningKeyRow): Attributes {
  const a: Record<string, unknown> = {
    fleet: k.fleet,
    organization: k.organization,
    expiresAt: k.expiresAt,
    allowedCidrs: k.allowedCidrs,
    registrations: k.registrations,
    revoked: k.revoked,
  };
  if (k.maxRegistrations !== null) a.maxRegistrations = k.maxRegistrations;
  return Object.freeze(a);
}

/** Everything mirrored, replaced whole by a resync and changed row by row by notifications. */
class Tables {
  readonly credentials = new Map<string, CredentialRow>();
  readonly devices = new Map<string, Attributes>();
  readonly provisioningKeys = new Map<string, { row: ProvisioningKeyRow; attributes: Attributes }>();
  /** type → id → its attributes as the store's own ('') and as the pack's. */
  readonly entities = new Map<string, Map<string, { own?: Attributes; pack?: Attributes }>>();

  setEntity(type: string, id: string, owner: 'own' | 'pack', attributes: Attributes | undefined): void {
    let ofType = this.entities.get(type);
    if (!ofType) this.entities.set(type, (ofType = new Map()));
    const e = ofType.get(id) ?? {};
    if (attributes === undefined) delete e[owner];
    else e[owner] = attributes;
    if (e.own === undefined && e.pack === undefined) ofType.delete(id);
    else ofType.set(id, e);
  }
}

const CREDENTIAL_COLUMNS = 'id, kind, subject, salt, digest, revoked';
const PROVISIONING_COLUMNS = `id, fleet, organization, expires_at, allowed_cidrs, max_registrations, registrations,
  single_use, revoked`;

interface ProvisioningKeyRecord {
  id: string;
  fleet: string;
  organization: string;
  expires_at: number;
  allowed_cidrs: string[];
  max_registrations: number | null;
  registrations: number;
  single_use: boolean;
  revoked: boolean;
}

export function provisioningKeyRow(r: ProvisioningKeyRecord): ProvisioningKeyRow {
  return {
    id: r.id,
    fleet: r.fleet,
    organization: r.organization,
    expiresAt: r.expires_at,
    allowedCidrs: r.allowed_cidrs,
    maxRegistrations: r.max_registrations,
    registrations: r.registrations,
    singleUse: r.single_use,
    revoked: r.revoked,
  };
}

export interface MirrorOptions {
  /** The pack whose entities this sidecar sees besides the store's own ('' for none). */
  pack: string;
  clock: () => number;
  /** How often the listening connection is asked to answer. */
  heartbeatMs?: number;
  /** How long an answer may take before the connection counts as lost. */
  heartbeatTimeoutMs?: number;
  /**
   * `kept`: loaded and kept current (a sidecar); `loaded`: loaded once (a command that looks things up);
   * `none`: never loaded (a command that only writes or lists: a lookup is a mistake and throws).
   */
  cache: 'kept' | 'loaded' | 'none';
  /** Told when the mirror goes down or comes back. */
  onState?: (up: boolean, error: string | undefined) => void;
}

export class StoreMirror {
  private tables = new Tables();
  /** One read at a time, in order (see the file's comment). */
  private queue: Promise<void> = Promise.resolve();
  private pending = new Map<string, ChangedRow>();
  private flushQueued = false;
  private listener: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;
  /** Up: listening, loaded, and the last heartbeat answered. */
  private upNow = false;
  /** When `up` last changed. */
  private changedAt: number;
  /** The latest moment every change committed before it is known to be in the mirror. */
  private currentAt = Number.NEGATIVE_INFINITY;
  private lastError: string | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly url: string,
    private readonly options: MirrorOptions,
  ) {
    this.changedAt = options.clock();
  }

  get up(): boolean {
    return this.upNow;
  }

  get since(): number {
    return this.changedAt;
  }

  /** The latest moment the mirror is known to have held every change committed before it. */
  get current(): number {
    return this.currentAt;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** Loads everything (and keeps it current: `kept`). Rejects when the store cannot be reached. */
  async start(): Promise<void> {
    if (this.options.cache === 'kept') {
      await this.connect();
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs ?? 1000);
      this.heartbeatTimer.unref();
    } else if (this.options.cache === 'loaded') {
      await this.enqueue(() => this.resync());
    }
  }

  /** The tables, for a lookup: a mirror opened without its cache has none to answer from. */
  private get loaded(): Tables {
    if (this.options.cache === 'none') throw new Error('the store was opened without its cache: nothing to look up');
    return this.tables;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    await this.queue.catch(() => {});
  }

  credential(id: string): CredentialRow | undefined {
    return this.loaded.credentials.get(id);
  }

  device(id: string): Attributes | undefined {
    return this.loaded.devices.get(id);
  }

  provisioningKey(id: string): ProvisioningKeyRow | undefined {
    return this.loaded.provisioningKeys.get(id)?.row;
  }

  /** An entity's attributes as the engine sees them: the key store's devices and keys first, the pack's over the store's. */
  attributes(type: string, id: string): Attributes | undefined {
    const t = this.loaded;
    if (type === 'device') {
      const d = t.devices.get(id);
      if (d) return d;
    } else if (type === 'provisioning_key') {
      const k = t.provisioningKeys.get(id);
      if (k) return k.attributes;
    }
    const e = t.entities.get(type)?.get(id);
    return e?.pack ?? e?.own;
  }

  /** The pack's entities as mirrored: type → id → attributes. */
  packEntities(): Map<string, Attributes> {
    const out = new Map<string, Attributes>();
    for (const [type, ofType] of this.loaded.entities)
      for (const [id, e] of ofType) if (e.pack) out.set(JSON.stringify([type, id]), e.pack);
    return out;
  }

  /** Reads `rows` again and waits until the mirror holds what they are now (a write's own rows). */
  reload(rows: ChangedRow[]): Promise<void> {
    for (const r of rows) this.pending.set(JSON.stringify(r), r);
    return this.enqueue(() => this.flush());
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }

  private announced(payload: string | undefined): void {
    let change: unknown;
    try {
      change = JSON.parse(payload ?? '');
    } catch {
      change = ['resync'];
    }
    const [table, a, b, c] = change as string[];
    if (table === 'entities') {
      // Another pack's entities are not this sidecar's to see.
      if (c !== '' && c !== this.options.pack) return;
      this.pending.set(JSON.stringify([table, a, b, c]), { table, type: a!, id: b!, scope: c! });
    } else if (table === 'credentials' || table === 'devices' || table === 'provisioning_keys') {
      this.pending.set(JSON.stringify([table, a]), { table, id: a! });
    } else {
      void this.enqueue(() => this.resync()).catch((e) => this.lost(this.listener, e));
      return;
    }
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    void this.enqueue(() => this.flush()).catch(() => {});
  }

  /** Reads every pending row again and applies what it finds (absent: deleted). */
  private async flush(): Promise<void> {
    this.flushQueued = false;
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.apply(rows);
    } catch (e) {
      // The rows stay pending (and the mirror is not current until they are read): tried again shortly.
      for (const r of rows) if (!this.pending.has(JSON.stringify(r))) this.pending.set(JSON.stringify(r), r);
      this.lastError = messageOf(e);
      setTimeout(() => this.queueFlush(), 250).unref();
      throw new StoreUnavailableError(`the store could not be read: ${messageOf(e)}`, { cause: e });
    }
  }

  private async apply(rows: ChangedRow[]): Promise<void> {
    const ids = (table: ChangedRow['table']) => [...new Set(rows.filter((r) => r.table === table).map((r) => r.id))];
    const credentials = ids('credentials');
    const devices = ids('devices');
    const keys = ids('provisioning_keys');
    const entities = rows.filter((r) => r.table === 'entities');
    const [cr, dr, kr, er] = await Promise.all([
      credentials.length === 0
        ? undefined
        : this.pool.query(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE id = ANY($1)`, [credentials]),
      devices.length === 0
        ? undefined
        : this.pool.query('SELECT id, fleet, organization FROM devices WHERE id = ANY($1)', [devices]),
      keys.length === 0
        ? undefined
        : this.pool.query(`SELECT ${PROVISIONING_COLUMNS} FROM provisioning_keys WHERE id = ANY($1)`, [keys]),
      entities.length === 0
        ? undefined
        : this.pool.query(
            `SELECT e.type, e.id, e.scope, e.attributes FROM entities e
               JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(type, id, scope)
                 ON e.type = k.type AND e.id = k.id AND e.scope = k.scope`,
            [entities.map((e) => e.type), entities.map((e) => e.id), entities.map((e) => e.scope)],
          ),
    ]);
    const t = this.tables;
    for (const id of credentials) t.credentials.delete(id);
    for (const r of cr?.rows ?? []) t.credentials.set(r.id, credentialRow(r));
    for (const id of devices) t.devices.delete(id);
    for (const r of dr?.rows ?? []) t.devices.set(r.id, deviceAttributes(r));
    for (const id of keys) t.provisioningKeys.delete(id);
    for (const r of kr?.rows ?? []) {
      const row = provisioningKeyRow(r);
      t.provisioningKeys.set(r.id, { row, attributes: provisioningKeyAttributes(row) });
    }
    for (const e of entities) t.setEntity(e.type, e.id, e.scope === '' ? 'own' : 'pack', undefined);
    for (const r of er?.rows ?? [])
      t.setEntity(r.type, r.id, r.scope === '' ? 'own' : 'pack', Object.freeze(r.attributes));
  }

  /** Everything, read in one snapshot, replacing the mirror whole. */
  private async resync(): Promise<void> {
    const started = this.options.clock();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const t = new Tables();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const [cr, dr, kr, er] = [
        await client.query(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials`),
        await client.query('SELECT id, fleet, organization FROM devices'),
        await client.query(`SELECT ${PROVISIONING_COLUMNS} FROM provisioning_keys`),
        await client.query("SELECT type, id, scope, attributes FROM entities WHERE scope IN ('', $1)", [
          this.options.pack,
        ]),
      ];
      await client.query('COMMIT');
      for (const r of cr.rows) t.credentials.set(r.id, credentialRow(r));
      for (const r of dr.rows) t.devices.set(r.id, deviceAttributes(r));
      for (const r of kr.rows) {
        const row = provisioningKeyRow(r);
        t.provisioningKeys.set(r.id, { row, attributes: provisioningKeyAttributes(row) });
      }
      for (const r of er.rows) t.setEntity(r.type, r.id, r.scope === '' ? 'own' : 'pack', Object.freeze(r.attributes));
    } catch (e) {
      broken = e as Error;
      throw e;
    } finally {
      client.release(broken);
    }
    this.tables = t;
    if (this.pending.size === 0) this.currentAt = started;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
      types: PG_TYPES,
      application_name: 'fleetguard-listen',
    });
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, new Error('the connection to the store closed')));
    client.on('notification', (m) => {
      if (this.listener === client) this.announced(m.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (e) {
      client.end().catch(() => {});
      throw e;
    }
    this.listener = client;
    // Listening before loading: whatever commits after the snapshot is announced, and read after it.
    await this.enqueue(() => this.resync()).catch((e: unknown) => {
      this.lost(client, e);
      throw e;
    });
    if (this.listener === client) this.setUp(true, undefined);
  }

  private lost(client: pg.Client | undefined, e: unknown): void {
    if (client === undefined || this.listener !== client) return;
    this.listener = undefined;
    // A connection that stopped answering may never say it closed: drop its socket.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    client.end().catch(() => {});
    this.setUp(false, messageOf(e));
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.retryMs = Math.min(2_000, this.retryMs === 0 ? 100 : this.retryMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.listener) return;
      this.connect().then(
        () => {
          this.retryMs = 0;
        },
        (e: unknown) => {
          this.lastError = messageOf(e);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.reconnectTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    const client = this.listener;
    if (!client || !this.upNow) return;
    const sent = this.options.clock();
    const timeoutMs = this.options.heartbeatTimeoutMs ?? 3_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      // Announcements reach the mirror in order on this connection: everything committed before the
      // heartbeat was sent is in the mirror, unless a read of it is still pending.
      if (this.listener === client && this.pending.size === 0 && !this.flushQueued) this.currentAt = sent;
    } catch (e) {
      this.lost(client, e);
    } finally {
      clearTimeout(timer);
    }
  }

  private setUp(up: boolean, error: string | undefined): void {
    if (up === this.upNow) return;
    this.upNow = up;
    this.changedAt = this.options.clock();
    if (error !== undefined) this.lastError = error;
    this.options.onState?.(up, error);
  }
}

function credentialRow(r: {
  kind: KeyKind;
  subject: string;
  salt: Buffer;
  digest: Buffer;
  revoked: boolean;
}): CredentialRow {
  return { kind: r.kind, subject: r.subject, salt: r.salt, digest: r.digest, revoked: r.revoked };
}

function deviceAttributes(r: { fleet: string; organization: string }): Attributes {
  return Object.freeze({ fleet: r.fleet, organization: r.organization });
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
