// Shadow disagreements in the sidecar's SQLite file. Every flush interval the disagreements found since
// the last one are written as one block: one row holding them as a JSON array, one insert (a row per
// disagreement, with its request and both sides each stringified, cost the batch route several times as
// much: bench/README.md). A decision thread hands its disagreements over already encoded, and the insert
// runs on the decision log's writer thread. The view `shadow_disagreements` unfolds the blocks, one row a
// disagreement, for the summary and for anyone with the sqlite3 command. The queue is bounded: beyond it
// disagreements are dropped and counted (the metric still counts every one), never left to grow the heap.
import type { Db } from '../store/database.js';
import { type Direction, type Disagreement, type EncodedDisagreements, encodeDisagreements } from './disagreement.js';
import type {
  DirectionCounts,
  ShadowGroup,
  ShadowQuery,
  ShadowStore,
  ShadowStoreStats,
  ShadowSummary,
  StoredDisagreement,
} from './shadow-store.js';

/** The first table (migration 5, server/store/migrations.ts), replaced by SHADOW_BLOCKS_DDL. */
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

/**
 * Blocks of disagreements and the view that unfolds them (migration 7): `data` is a JSON array of
 * Disagreement objects (disagreement.ts), in the order they were found; `seq` orders the view's rows.
 */
export const SHADOW_BLOCKS_DDL = `DROP TABLE shadow_disagreements;
CREATE TABLE shadow_blocks (
  seq INTEGER PRIMARY KEY,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX shadow_blocks_last_time ON shadow_blocks (last_time);
CREATE VIEW shadow_disagreements AS
  SELECT b.seq * 1000000 + r.key AS seq,
    r.value ->> 'time' AS time,
    r.value ->> 'decisionId' AS decision_id,
    r.value ->> 'direction' AS direction,
    r.value ->> 'liveRevision' AS live_revision,
    r.value ->> 'candidateRevision' AS candidate_revision,
    r.value -> 'principal' ->> 'type' AS principal_type,
    r.value -> 'principal' ->> 'id' AS principal_id,
    r.value ->> 'action' AS action,
    r.value -> 'resource' ->> 'type' AS resource_type,
    r.value -> 'resource' ->> 'id' AS resource_id,
    r.value AS data
  FROM shadow_blocks b, json_each(b.data) r;`;

export interface SqliteShadowStoreOptions {
  flushMs: number;
  /** Most disagreements waiting to be written. */
  queueMax: number;
  /** Blocks whose disagreements are all older than this are removed (0: kept). */
  retentionDays: number;
  clock: () => number;
  warn: (message: string, details?: Record<string, unknown>) => void;
  /**
   * Runs the block's insert. The sidecar passes its decision log's `runBeside`, which runs it on the log's
   * writer thread: on the request thread an insert waits for that thread's write lock. By default it
   * runs here, on `db`.
   */
  write?: (sql: string, params: unknown[]) => Promise<void>;
}

const INSERT = 'INSERT INTO shadow_blocks (first_time, last_time, data) VALUES (?, ?, ?)';

const GROUP = 'candidate_revision, direction, principal_type, action, resource_type';
const iso = (ms: number) => new Date(ms).toISOString();

export class SqliteShadowStore implements ShadowStore {
  /** Encoded chunks waiting for the next flush, and how many disagreements they hold. */
  private queue: EncodedDisagreements[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  readonly stats: ShadowStoreStats = { written: 0, dropped: 0, writeErrors: 0 };
  private readonly write: (sql: string, params: unknown[]) => Promise<void>;
  /** Blocks handed to `write` and not yet written (or failed). */
  private writing = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly options: SqliteShadowStoreOptions,
  ) {
    this.write =
      options.write ??
      (async (sql, params) => {
        db.prepare(sql).run(...params);
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
    if (disagreements.length > 0) this.appendEncoded(encodeDisagreements(disagreements));
  }

  appendEncoded(encoded: EncodedDisagreements): void {
    if (this.queued + encoded.count > this.options.queueMax) {
      this.stats.dropped += encoded.count;
      return;
    }
    this.queue.push(encoded);
    this.queued += encoded.count;
  }

  get queueDepth(): number {
    return this.queued;
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const chunks = this.queue;
    const count = this.queued;
    this.queue = [];
    this.queued = 0;
    let first = chunks[0]!.first;
    let last = chunks[0]!.last;
    for (const c of chunks) {
      if (c.first < first) first = c.first;
      if (c.last > last) last = c.last;
    }
    const written = this.write(INSERT, [first, last, `[${chunks.map((c) => c.json).join(',')}]`]).then(
      () => {
        this.stats.written += count;
      },
      (e: Error) => {
        this.stats.writeErrors++;
        if (this.queued + count <= this.options.queueMax) {
          this.queue = chunks.concat(this.queue); // retried on the next flush
          this.queued += count;
        } else this.stats.dropped += count;
        this.options.warn('shadow disagreements could not be written; retrying', { error: e.message });
      },
    );
    this.writing.add(written);
    void written.finally(() => this.writing.delete(written));
  }

  private prune(): void {
    if (this.options.retentionDays <= 0) return;
    const before = this.options.clock() - this.options.retentionDays * 86_400_000;
    try {
      this.db.prepare('DELETE FROM shadow_blocks WHERE last_time < ?').run(before);
    } catch (e) {
      this.options.warn('old shadow disagreements could not be removed', { error: (e as Error).message });
    }
  }

  /** Resolves once every disagreement appended so far is written (or has failed and is queued again). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.writing);
  }

  async summarize(query: ShadowQuery): Promise<ShadowSummary> {
    return summarizeShadow(this.db, query);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    await this.drain();
  }
}

interface Row {
  data: string;
}

function readDisagreement(row: Row): StoredDisagreement {
  const d = JSON.parse(row.data) as Disagreement;
  return { ...d, time: iso(d.time) };
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
           SELECT ${GROUP}, seq, data, row_number() OVER (PARTITION BY ${GROUP} ORDER BY seq) AS k
           FROM shadow_disagreements WHERE time >= ?
         ) WHERE k <= ? ORDER BY seq`,
      )
      .all(since, examples) as (Row & Parameters<typeof keyOf>[0])[];
    for (const row of rows) found.get(keyOf(row))?.examples.push(readDisagreement(row));
  }
  return summary;
}
