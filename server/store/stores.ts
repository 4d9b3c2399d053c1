// The state a sidecar keeps, behind interfaces: keys and the principals they stand for, entities, the
// decision log. SQLite implements them (sqlite-stores.ts); a shared store (PostgreSQL) implements the same.
// Lookups on the decision path are synchronous: a network store answers them from a cache it keeps
// current, so a decision never waits on a round trip. Everything else returns a promise.
import type { Entity } from '../../engine/index.js';
import type { CheckedEntity } from '../../engine/entities/index.js';
import type { EntityTypeDef } from '../../engine/lang/index.js';
import type { ColumnSql, SqlClause, SqlDialect } from '../../engine/plan/index.js';
import type { DecisionLogOptions, DecisionQuery, LoggedDecision } from '../decision-log/decision-log.js';
import type { DecisionSink } from '../decision-log/sink.js';
import type { ChainReport, ExpectedHead } from '../decision-log/chain.js';

export type { DecisionLogOptions, DecisionQuery, LoggedDecision } from '../decision-log/decision-log.js';
export type { DecisionSink } from '../decision-log/sink.js';
export type { ChainReport, ExpectedHead } from '../decision-log/chain.js';

export type KeyKind = 'device' | 'provisioning_key' | 'user';

/** What a key is for. */
export interface KeyOwner {
  kind: KeyKind;
  subject: string;
}

/** A key as created: `key` is the secret, shown once and stored nowhere (only its digest is). */
export interface IssuedKey {
  id: string;
  key: string;
}

export interface ProvisioningKeyInput {
  fleet: string;
  organization: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  allowedCidrs?: string[];
  maxRegistrations?: number;
  singleUse?: boolean;
}

export interface KeyInfo {
  id: string;
  kind: KeyKind;
  subject: string;
  revoked: boolean;
  createdAt: string;
  provisioning?: {
    fleet: string;
    organization: string;
    expiresAt: string;
    allowedCidrs: string[];
    maxRegistrations: number | null;
    registrations: number;
    singleUse: boolean;
  };
}

/**
 * A registration's outcome. `denied` without a decision: the key no longer exists. An id already used in
 * the key's own fleet is a `conflict`; used in another fleet it is `taken` (answered as a denial).
 */
export type ProvisionResult<D> =
  | {
      outcome: 'created';
      decision: D;
      device: { id: string; fleet: string; organization: string };
      deviceKey: string;
    }
  | { outcome: 'denied'; decision: D | undefined }
  | { outcome: 'conflict'; decision: D }
  | { outcome: 'taken'; decision: D };

/**
 * The store could not be reached to do what was asked (a shared store's outage): nothing was done.
 * The HTTP API answers it with 503 `store_unavailable`.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A counter's window as `countAttempt` leaves it. */
export interface AttemptWindow {
  /** Attempts counted in the window so far, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts again. */
  resetInMs: number;
}

export interface KeyStore {
  /**
   * Why no key can be checked now, or undefined when keys can be: a store that answers lookups from a
   * cache says so once the cache has not been confirmed current for longer than it may be trusted.
   */
  uncheckable(): string | undefined;
  /** What a key is for, after checking its secret; undefined for any bad key (unknown, revoked, malformed). */
  verify(credential: string): KeyOwner | undefined;
  /** The principal a key stands for, with its attributes from the store; undefined for any bad key. */
  resolve(credential: string): Entity | undefined;
  /** A new key for `subject`; its secret exists nowhere else afterwards. */
  issue(kind: KeyKind, subject: string): Promise<IssuedKey>;
  createProvisioningKey(input: ProvisioningKeyInput): Promise<IssuedKey>;
  /** Every key, never a secret. */
  listKeys(): Promise<KeyInfo[]>;
  /** Revokes a key by id (a provisioning key as a key and as a principal); false when there is none. */
  revokeKey(id: string): Promise<boolean>;
  /** Deletes a device and its keys; false when there is none. */
  deleteDevice(id: string): Promise<boolean>;
  /**
   * One registration as one store operation: the key's row is read under a lock no other registration
   * can take meanwhile, `decide` is called with the key as a principal (its count as it stands), and when
   * it allows, the device, its key and the key's new count (single-use: revoked) are written before the
   * lock is released. So a cap holds exactly however many attempts run at once, on any number of
   * connections. `decide` is synchronous and may run more than once (a store that retries).
   */
  provision<D extends { allowed: boolean }>(
    keyId: string,
    deviceId: string,
    metadata: Record<string, unknown> | undefined,
    decide: (principal: Entity) => D,
  ): Promise<ProvisionResult<D>>;
  /**
   * Counts one attempt under `name` in a fixed window of `windowMs`: the provisioning rate limit. A
   * shared store counts for every sidecar on it; SQLite counts in this process (each sidecar its own).
   */
  countAttempt(name: string, windowMs: number): Promise<AttemptWindow>;
}

/** Entities the store was asked to change that a pack's entities.yaml declares: the file owns them. */
export class PackOwnedError extends Error {
  constructor(
    readonly pack: string,
    readonly entities: string[],
  ) {
    const one = entities.length === 1;
    super(
      `${entities.join(', ')} ${one ? 'is' : 'are'} declared by ${pack}/entities.yaml, which owns ${one ? 'it' : 'them'}: change ${one ? 'it' : 'them'} there`,
    );
  }
}

/**
 * Entities of any type with their attributes. Every entity has one owner: a pack's entities.yaml
 * (`pack`, the directory's real path) or the store itself (''). A store opened for a pack sees that pack's
 * entities and the store's, the pack's over the store's, never another pack's. Devices and provisioning
 * keys are entities too, read from the key store (its attributes win over an entity of the same id).
 */
export interface EntityStore {
  /** The pack this store serves, '' for none. */
  readonly pack: string;
  /** Takes notice of changes made elsewhere; called once per request before lookups (free for a store that is told). */
  refresh(): void;
  /** The stored attributes of an entity (complete), or undefined when unknown. */
  attributes(type: string, id: string): Readonly<Record<string, unknown>> | undefined;
  has(type: string, id: string): boolean;
  /** Up to `count` ids of the entities of `type` after `after`, in store order (by id). */
  ids(type: string, after: string | undefined, count: number): Promise<string[]>;
  /** How a query plan reads this store's entity attributes (the store's SQL dialect). */
  columnSql(def: EntityTypeDef | undefined): ColumnSql;
  /** The SQL dialect `select` takes plans in (placeholders, list membership). */
  readonly sqlDialect: SqlDialect;
  /** Ids of the entities of `type` that satisfy a plan built with `columnSql`, in store order, a page of them. */
  select(type: string, sql: SqlClause, page?: { after: string | undefined; count: number }): Promise<string[]>;
  /**
   * Stores checked entities as the store's own, replacing any of the same type and id; rejects with
   * PackOwnedError, storing nothing, when this store's pack declares one of them.
   */
  upsert(entities: readonly CheckedEntity[]): Promise<number>;
  /**
   * Makes the pack's entities exactly `entities` (its entities.yaml). Returns what the file declares that
   * the store also holds as its own (the file's are used) and what the key store holds (its are used).
   */
  replacePack(
    entities: readonly CheckedEntity[],
  ): Promise<{ loaded: number; overStore: string[]; inKeyStore: string[] }>;
}

/** The decision log as auditors read it. */
export interface DecisionReader {
  /** Decisions matching `q`, oldest first, at most `q.limit` (1000 by default). */
  query(q: DecisionQuery): Promise<LoggedDecision[]>;
  /**
   * Checks the log's hash chains from where they start (decision-log/chain.ts): a report a chain (one for
   * a sidecar's file, one a sidecar's file shipped to a central log), each naming the first block modified,
   * removed or reordered. `expected`: head hashes kept elsewhere that must still be in their chains.
   * Throws ExpectHeadError for a head that names no chain when the log holds several.
   */
  verify?(expected?: readonly ExpectedHead[]): Promise<ChainReport[]>;
}

/** How the store is doing, for `/health` and `fleetguard_store_up`. */
export interface StoreStatus {
  kind: 'sqlite' | 'postgres';
  /** Where it is (a file path, or a URL without its password). */
  location: string;
  /** Reachable, and (for a store with a cache) the cache kept current. */
  up: boolean;
  /** When `up` last changed (RFC 3339); absent for a store that is always up. */
  since?: string;
  /** Until when credentials are checked from the cache while the store is down (RFC 3339). */
  credentialsCheckedUntil?: string;
  /** Why it is down. */
  error?: string;
}

/** Everything a sidecar or a command keeps, opened together by `openStores`. */
export interface Stores {
  /** Where they are, for messages (a file path, or a URL without its password). */
  readonly location: string;
  status(): StoreStatus;
  readonly keys: KeyStore;
  readonly entities: EntityStore;
  readonly decisions: DecisionReader;
  /** The decision log's writing side (the sidecar's; commands need none). */
  openDecisionSink(options: DecisionLogOptions): DecisionSink;
  /** Closes what was opened here; a sink is closed (drained) by its owner first. */
  close(): Promise<void>;
}
