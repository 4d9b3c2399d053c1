// Where shadow disagreements are kept and how they are read back, behind an interface in the manner of
// server/store/stores.ts: the sidecar appends (never waiting on I/O), `fleetguard shadow-report` and
// `GET /v1/admin/shadow` summarize. SQLite implements it (sqlite-shadow-store.ts).
import type { Direction, Disagreement, EncodedDisagreements } from './disagreement.js';

export interface ShadowQuery {
  /** Only disagreements at or after this time (epoch ms). */
  since?: number;
  /** Examples kept per group, the first ones recorded (3 by default). */
  examples?: number;
}

/** Disagreements with the same candidate revision, direction, principal type, action and resource type. */
export interface ShadowGroup {
  candidateRevision: string;
  direction: Direction;
  principalType: string;
  action: string;
  resourceType: string;
  count: number;
  first: string;
  last: string;
  examples: StoredDisagreement[];
}

/** A disagreement as read back: its time as RFC 3339 text. */
export type StoredDisagreement = Omit<Disagreement, 'time'> & { time: string };

export type DirectionCounts = Record<Direction, number>;

export interface ShadowSummary {
  since?: string;
  total: number;
  widened: number;
  narrowed: number;
  /** Each candidate revision seen, with its count and when it disagreed first and last. */
  candidates: { revision: string; count: number; first: string; last: string }[];
  byPrincipalType: Record<string, DirectionCounts>;
  byAction: Record<string, DirectionCounts>;
  byResourceType: Record<string, DirectionCounts>;
  /** Largest first. */
  groups: ShadowGroup[];
}

export interface ShadowStoreStats {
  written: number;
  /** Not written because the queue was full (still counted in the metric). */
  dropped: number;
  writeErrors: number;
}

export interface ShadowStore {
  /** Queues disagreements to be written; never throws, never waits on I/O. */
  append(disagreements: readonly Disagreement[]): void;
  /** The same, already encoded (by a decision thread). */
  appendEncoded(encoded: EncodedDisagreements): void;
  readonly queueDepth: number;
  readonly stats: ShadowStoreStats;
  /** Resolves once everything appended so far is written. */
  drain(): Promise<void>;
  summarize(query: ShadowQuery): Promise<ShadowSummary>;
  /** Writes what is queued and stops. */
  close(): Promise<void>;
}
