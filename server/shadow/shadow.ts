// Shadow evaluation (issue 19): every decision the sidecar makes is decided a second time with a candidate
// policy set, and where the two differ the disagreement is counted and recorded. The answer never
// depends on it: the candidate decides after the live decision is recorded, off the request path.
//
// Where the second decision is made: decisions made on the request thread are queued here and decided
// together on the next turn of the event loop (setImmediate), after the responses of that turn are
// written; batches decided on a decision thread are decided again there, after the thread has posted the
// response (decide/decision-worker.ts), and only disagreements come back. Measured in bench/README.md.
//
// Only requests in the buckets where the candidate's rules differ from the live set's are decided again
// (changed-scope.ts); a candidate with another schema is asked about every request.
//
// The candidate is a policy directory compiled and reloaded as the live one is (PolicyHolder, PolicyWatcher):
// a candidate that does not compile is refused, and the last good one stays.
import type { AuthorizeRequest, Decision, PolicySet } from '../../engine/index.js';
import type { Log } from '../log.js';
import { PolicyHolder, type ReloadStatus } from '../plugins/policy-holder.js';
import { PolicyWatcher, type WatchDirectory } from '../plugins/policy-watcher.js';
import { compareDecision, type Direction, type Disagreement, type EncodedDisagreements } from './disagreement.js';
import { type ChangedScope, changedScope, mayDiffer } from './changed-scope.js';
import type { ShadowStore } from './shadow-store.js';
import type { DecisionRecorder } from '../decide/recorders.js';

/** What a decision thread pool does for shadow evaluation (decide/decision-pool.ts). */
export interface ShadowThreads {
  /** Posts the candidate (or none) to every thread. */
  loadShadow(set: PolicySet | undefined): void;
  /** Resolves once every batch a thread decided so far has been compared and its disagreements returned. */
  shadowIdle(): Promise<void>;
}

export interface ShadowOptions {
  store: ShadowStore;
  log: Log;
  /** Whether the candidate's directory is watched for changes (the `watch` setting). */
  watch: boolean;
  watchDirectory?: WatchDirectory;
  threads?: ShadowThreads | undefined;
  /**
   * The live set being served: where the candidate differs from it (changed-scope.ts), and the principal
   * types the metric's label may take (its, the candidate's, or `unknown`).
   */
  liveSet: () => PolicySet | undefined;
  clock: () => number;
}

/** The candidate being shadowed, as `GET /v1/admin/shadow` shows it. */
export interface ShadowStatus {
  policies: string;
  revision: string | undefined;
  lastReload: ReloadStatus | undefined;
}

/** The candidate in `dir`, compiled; the failed reload's status (its `errors`) when it does not compile. */
export function loadCandidate(dir: string, clock: () => number): PolicyHolder | ReloadStatus {
  // Candidate decisions take the live decision's id and time (disagreement.ts): this holder's engine makes none.
  const holder = new PolicyHolder(dir, { clock, newDecisionId: () => '' });
  const status = holder.reload();
  return status.ok ? holder : status;
}

/**
 * The shadow at the decision seam (decide/recorders.ts): each decision made on the request thread is
 * queued for the candidate. Batches arrive there as log rows, without their requests: they are handed
 * over where they are decided (decide-batch.ts `observe`), on a decision thread or this one.
 */
export function shadowRecorder(shadow: Shadow, clock: () => number): DecisionRecorder {
  return {
    decided: (request, decision) => {
      if (shadow.active) shadow.observe(request, decision, clock());
    },
    decidedRows: () => {},
  };
}

/** Decisions waiting for the candidate beyond this are not compared (counted as skipped). */
const QUEUE_MAX = 100_000;

export const UNKNOWN_PRINCIPAL_TYPE = 'unknown';

export class Shadow {
  private candidate: PolicyHolder | undefined;
  private watcher: PolicyWatcher | undefined;
  private set: PolicySet | undefined;
  private requests: AuthorizeRequest[] = [];
  private decisions: Decision[] = [];
  private times: number[] = [];
  private scheduled = false;
  private idle: (() => void)[] = [];
  /** `direction\0principal_type` → disagreements counted. */
  readonly counts = new Map<string, number>();
  /** Decisions compared (here and on decision threads), and those left uncompared because the queue was full. */
  compared = 0;
  skipped = 0;

  /** Where disagreements are recorded. */
  readonly store: ShadowStore;

  constructor(private readonly options: ShadowOptions) {
    this.store = options.store;
  }

  /** Whether a candidate is loaded: decisions are then compared. */
  get active(): boolean {
    return this.set !== undefined;
  }

  get status(): ShadowStatus | undefined {
    const c = this.candidate;
    return c && { policies: c.dir, revision: c.engine?.revision, lastReload: c.lastReload };
  }

  /**
   * Shadows the policy directory `dir` from now on. When it does not compile the status says why (its
   * `errors`, as `file:line:col: message [code]`) and the candidate shadowed so far, if any, stays.
   */
  use(dir: string): ReloadStatus {
    const holder = loadCandidate(dir, this.options.clock);
    if (!(holder instanceof PolicyHolder)) return holder;
    this.adopt(holder);
    return holder.lastReload!;
  }

  /** Shadows a candidate already loaded (loadCandidate). */
  adopt(holder: PolicyHolder): void {
    this.watcher?.close();
    this.candidate = holder;
    holder.onReload((s) => this.loaded(s));
    this.loaded(holder.lastReload!);
    this.watcher = this.options.watch
      ? new PolicyWatcher(holder, {
          watchDirectory: this.options.watchDirectory,
          warn: (message, details) => this.options.log.warn(details ?? {}, `shadow policies: ${message}`),
        }).start()
      : undefined;
  }

  /** Reloads the candidate's directory (SIGHUP, as the live set); undefined when there is none. */
  reload(): ReloadStatus | undefined {
    return this.candidate?.reload();
  }

  /** Stops shadowing; what was recorded stays. */
  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.candidate = undefined;
    this.set = undefined;
    this.options.threads?.loadShadow(undefined);
  }

  private loaded(status: ReloadStatus): void {
    if (!status.ok) {
      this.options.log.error(
        { errors: status.errors, revision: status.revision },
        'shadow policy reload failed; still shadowing the last good candidate',
      );
      return;
    }
    this.set = this.candidate!.engine!.policySet;
    this.options.threads?.loadShadow(this.set);
    this.options.log.info({ policies: this.candidate!.dir, revision: status.revision }, 'shadow policies loaded');
  }

  /** A decision made on this thread, to compare once the event loop turns. */
  observe(request: AuthorizeRequest, decision: Decision, time: number): void {
    if (this.set === undefined) return;
    if (this.requests.length >= QUEUE_MAX) {
      this.skipped++;
      return;
    }
    this.requests.push(request);
    this.decisions.push(decision);
    this.times.push(time);
    this.schedule();
  }

  /** Decisions of a batch made on this thread, all at `time`. */
  readonly observeBatch = (
    requests: readonly AuthorizeRequest[],
    decisions: readonly Decision[],
    time: number,
  ): void => {
    if (this.set === undefined) return;
    const room = QUEUE_MAX - this.requests.length;
    const n = Math.min(room, requests.length);
    this.skipped += requests.length - n;
    for (let i = 0; i < n; i++) {
      this.requests.push(requests[i]!);
      this.decisions.push(decisions[i]!);
      this.times.push(time);
    }
    if (n > 0) this.schedule();
  };

  /** What a decision thread found comparing `compared` decisions. */
  fromThread(encoded: EncodedDisagreements | undefined, compared: number): void {
    this.compared += compared;
    if (encoded === undefined) return;
    for (const [direction, type] of encoded.labels) this.count(direction, type);
    this.options.store.appendEncoded(encoded);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.compareQueued);
  }

  private readonly compareQueued = (): void => {
    this.scheduled = false;
    const { requests, decisions, times, set } = this;
    this.requests = [];
    this.decisions = [];
    this.times = [];
    if (set !== undefined) {
      const scope = this.scopeFor(set);
      let found: Disagreement[] | undefined;
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i]!;
        const live = decisions[i]!;
        if (!mayDiffer(scope, live.policyRevision, r.principal.type, r.action, r.resource.type)) continue;
        const d = compareDecision(set, r, live, times[i]!);
        if (d) (found ??= []).push(d);
      }
      this.compared += requests.length;
      if (found) this.record(found);
    }
    this.idle.splice(0).forEach((resolve) => resolve());
  };

  private scoped: { live: string; candidate: string; scope: ChangedScope | undefined } | undefined;

  /** Where `candidate` differs from the live set (recomputed when either changes). */
  private scopeFor(candidate: PolicySet): ChangedScope | undefined {
    const live = this.options.liveSet();
    if (live === undefined) return undefined;
    const s = this.scoped;
    if (s?.live !== live.revision || s.candidate !== candidate.revision)
      this.scoped = { live: live.revision, candidate: candidate.revision, scope: changedScope(live, candidate) };
    return this.scoped!.scope;
  }

  private record(disagreements: readonly Disagreement[]): void {
    if (disagreements.length === 0) return;
    for (const d of disagreements) this.count(d.direction, d.principal.type);
    this.options.store.append(disagreements);
  }

  /** One disagreement in the metric, under a principal type the live or the candidate schema declares, else `unknown`. */
  private count(direction: Direction, type: string): void {
    const label =
      this.options.liveSet()?.schema.principals.has(type) || this.set?.schema.principals.has(type)
        ? type
        : UNKNOWN_PRINCIPAL_TYPE;
    const key = `${direction}\0${label}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** The counts as the metric's series. */
  *series(): Iterable<{ direction: Direction; principalType: string; count: number }> {
    for (const [key, count] of this.counts) {
      const [direction, principalType] = key.split('\0') as [Direction, string];
      yield { direction, principalType, count };
    }
  }

  /** Resolves once every decision observed so far is compared and its disagreements are written. */
  async drain(): Promise<void> {
    if (this.scheduled) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.options.threads?.shadowIdle();
    await this.options.store.drain();
  }

  close(): void {
    this.watcher?.close();
  }
}
