// Shadow disagreements in the sidecar's SQLite file: one row each, written in one transaction per flush
// interval on the store's connection, off the request path. Disagreements are rare unless a candidate is
// badly wrong, so the queue is bounded: beyond it rows are dropped and counted (the metric still counts
// every disagreement), never left to grow the heap.
import type { Db } from '../store/database.js';
import type { Direction, Disagreement, ShadowSide } from './disagreement.js';
import type {
  DirectionCounts,
  ShadowGroup,
  ShadowQuery,
  ShadowStore,
  ShadowStoreStats,
  ShadowSummary,
  StoredDisagreement,
} from './shadow-store.js';

/** The table (migration 5, server/store/migrations.ts). */
export const SHADOW_DDL = `CREATE TABLE shadow_disagreements (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  decision_id TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('widened', 'narrowed')),
  live_revision TEXT NOT NULL,
  candidate_revision TEXT NOT NULL,
  principal_type TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  live TEXT NOT NULL,
  candidate TEXT NOT NULL,
  request TEXT NOT NULL
);
CREATE INDEX shadow_disagreements_time ON shadow_disagreements (time);`;

export interface SqliteShadowStoreOptions {
  flushMs: number;
  /** Most disagreements waiting to be written. */
  queueMax: number;
  /** Rows older than this are removed (0: kept). */
  retentionDays: number;
  clock: () => number;
  warn: (message: string, details?: Record<string, unknown>) => void;
}

const GROUP = 'candidate_revision, direction, principal_type, action, resource_type';
const iso = (ms: number) => new Date(ms).toISOString();

export class SqliteShadowStore implements ShadowStore {
  private queue: Disagreement[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  readonly stats: ShadowStoreStats = { written: 0, dropped: 0, writeErrors: 0 };
  private readonly insert;
  private readonly writeAll;

  constructor(
    private readonly db: Db,
    private readonly options: SqliteShadowStoreOptions,
  ) {
    this.insert = db.prepare(
      `INSERT INTO shadow_disagreements (time, decision_id, direction, live_revision, candidate_revision,
         principal_type, principal_id, action, resource_type, resource_id, live, candidate, request)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeAll = db.transaction((rows: Disagreement[]) => {
      for (const d of rows) {
        const request = { principal: d.principal, action: d.action, resource: d.resource, context: d.context };
        this.insert.run(
          d.time,
          d.decisionId,
          d.direction,
          d.liveRevision,
          d.candidateRevision,
          d.principal.type,
          d.principal.id,
          d.action,
          d.resource.type,
          d.resource.id,
          JSON.stringify(d.live),
          JSON.stringify(d.candidate),
          JSON.stringify(request),
        );
      }
    });
  }

  /** Starts the flush and retention timers (a store opened only to read needs neither). */
  start(): this {
    this.timer = setInterval(() => this.flush(), this.options.flushMs);
    this.timer.unref();
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), 3_600_000);
    this.pruneTimer.unref();
    return this;
  }

  append(disagreements: readonly Disagreement[]): void {
    const room = this.options.queueMax - this.queue.length;
    if (disagreements.length > room) this.stats.dropped += disagreements.length - Math.max(room, 0);
    for (let i = 0; i < Math.min(room, disagreements.length); i++) this.queue.push(disagreements[i]!);
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    try {
      this.writeAll(rows);
      this.stats.written += rows.length;
    } catch (e) {
      this.stats.writeErrors++;
      this.queue = rows.concat(this.queue).slice(0, this.options.queueMax); // retried on the next flush
      this.options.warn('shadow disagreements could not be written; retrying', { error: (e as Error).message });
    }
  }

  private prune(): void {
    if (this.options.retentionDays <= 0) return;
    const before = this.options.clock() - this.options.retentionDays * 86_400_000;
    try {
      this.db.prepare('DELETE FROM shadow_disagreements WHERE time < ?').run(before);
    } catch (e) {
      this.options.warn('old shadow disagreements could not be removed', { error: (e as Error).message });
    }
  }

  async drain(): Promise<void> {
    this.flush();
  }

  async summarize(query: ShadowQuery): Promise<ShadowSummary> {
    return summarizeShadow(this.db, query);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    this.flush();
  }
}

interface Row {
  seq: number;
  time: number;
  decision_id: string;
  direction: Direction;
  live_revision: string;
  candidate_revision: string;
  live: string;
  candidate: string;
  request: string;
}

function readDisagreement(row: Row): StoredDisagreement {
  const request = JSON.parse(row.request) as Pick<Disagreement, 'principal' | 'action' | 'resource' | 'context'>;
  return {
    decisionId: row.decision_id,
    time: iso(row.time),
    direction: row.direction,
    liveRevision: row.live_revision,
    candidateRevision: row.candidate_revision,
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    ...(request.context === undefined ? {} : { context: request.context }),
    live: JSON.parse(row.live) as ShadowSide,
    candidate: JSON.parse(row.candidate) as ShadowSide,
  };
}

/** The summary of the disagreements in `db` (the sidecar's file, or one a command opened to read). */
export function summarizeShadow(db: Db, query: ShadowQuery): ShadowSummary {
  const since = query.since ?? Number.MIN_SAFE_INTEGER;
  const examples = query.examples ?? 3;
  const groups = db
    .prepare(
      `SELECT ${GROUP}, count(*) AS n, min(time) AS first, max(time) AS last
       FROM shadow_disagreements WHERE time >= ? GROUP BY ${GROUP} ORDER BY n DESC, ${GROUP}`,
    )
    .all(since) as {
    candidate_revision: string;
    direction: Direction;
    principal_type: string;
    action: string;
    resource_type: string;
    n: number;
    first: number;
    last: number;
  }[];
  const keyOf = (r: {
    candidate_revision: string;
    direction: string;
    principal_type: string;
    action: string;
    resource_type: string;
  }) => JSON.stringify([r.candidate_revision, r.direction, r.principal_type, r.action, r.resource_type]);
  const found = new Map<string, ShadowGroup>();
  const summary: ShadowSummary = {
    ...(query.since === undefined ? {} : { since: iso(query.since) }),
    total: 0,
    widened: 0,
    narrowed: 0,
    candidates: [],
    byPrincipalType: {},
    byAction: {},
    byResourceType: {},
    groups: [],
  };
  const candidates = new Map<string, ShadowSummary['candidates'][number]>();
  const tally = (table: Record<string, DirectionCounts>, name: string, direction: Direction, n: number) => {
    (table[name] ??= { widened: 0, narrowed: 0 })[direction] += n;
  };
  for (const g of groups) {
    const group: ShadowGroup = {
      candidateRevision: g.candidate_revision,
      direction: g.direction,
      principalType: g.principal_type,
      action: g.action,
      resourceType: g.resource_type,
      count: g.n,
      first: iso(g.first),
      last: iso(g.last),
      examples: [],
    };
    found.set(keyOf(g), group);
    summary.groups.push(group);
    summary.total += g.n;
    summary[g.direction] += g.n;
    tally(summary.byPrincipalType, g.principal_type, g.direction, g.n);
    tally(summary.byAction, g.action, g.direction, g.n);
    tally(summary.byResourceType, g.resource_type, g.direction, g.n);
    const c = candidates.get(g.candidate_revision);
    if (c === undefined)
      candidates.set(g.candidate_revision, {
        revision: g.candidate_revision,
        count: g.n,
        first: group.first,
        last: group.last,
      });
    else {
      c.count += g.n;
      if (group.first < c.first) c.first = group.first;
      if (group.last > c.last) c.last = group.last;
    }
  }
  summary.candidates = [...candidates.values()].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  if (examples > 0 && groups.length > 0) {
    const rows = db
      .prepare(
        `SELECT * FROM (
           SELECT *, row_number() OVER (PARTITION BY ${GROUP} ORDER BY seq) AS k
           FROM shadow_disagreements WHERE time >= ?
         ) WHERE k <= ? ORDER BY seq`,
      )
      .all(since, examples) as (Row & Parameters<typeof keyOf>[0])[];
    for (const row of rows) found.get(keyOf(row))?.examples.push(readDisagreement(row));
  }
  return summary;
}
