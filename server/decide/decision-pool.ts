// Decision threads for the batch route. A batch's body is mostly JSON to parse (about 60% of the
// route's CPU); on the request thread that caps batches at what one core parses. Here the request
// thread hands the body's text to a decision thread, which parses, validates, decides and serializes
// (decide-batch.ts) and hands back the response's text and the decision log's rows: the request thread
// only moves bytes. Measured in bench/README.md.
//
// Policies: each thread compiles the same sources and must arrive at the same revision. A new set is
// posted to every thread as soon as the request thread swaps it in; messages are handled in order, so a
// batch sent after the swap is decided on the new set, and a batch is only decided by a thread holding
// the revision the request thread served when it was sent. A thread that cannot answer (bad body, a key
// to resolve, another revision) says so as data, or crashes; either way the request thread decides the
// batch itself: the 400s, keys and errors have one implementation.
import { Worker } from 'node:worker_threads';
import type { PolicySet, SourceFile } from '../../engine/index.js';
import { workerUrl } from '../worker-url.js';
import type { DecidedBatch } from './decide-batch.js';
import type { EncodedDisagreements } from '../shadow/disagreement.js';
import type { ShadowThreads } from '../shadow/shadow.js';

export type PoolRequest =
  | { kind: 'policies'; sources: SourceFile[]; revision: string }
  /** The shadow candidate to compare every batch with (server/shadow/), or none. */
  | { kind: 'shadow'; candidate: { sources: SourceFile[]; revision: string } | undefined }
  /** Answered once every batch sent before it has been compared with the shadow candidate. */
  | { kind: 'sync'; id: number }
  | { kind: 'batch'; id: number; text: string; revision: string };
export type PoolReply =
  | { kind: 'loaded'; revision: string | undefined }
  | { kind: 'decided'; id: number; decided: DecidedBatch }
  /** Disagreements with the shadow candidate, and the decisions compared since the last report. */
  | { kind: 'shadowed'; compared: number; disagreements: EncodedDisagreements }
  | { kind: 'synced'; id: number; compared: number }
  | { kind: 'shadow-failed'; revision: string }
  /** Why a thread left a batch to the request thread: another revision, a key to resolve, a 400. */
  | { kind: 'undecided'; id: number; why: 'revision' | 'key store' | 'refused' };

export interface DecisionPoolOptions {
  threads: number;
  batchLimit: number;
  logRequests: boolean;
  warn: (message: string, details?: Record<string, unknown>) => void;
  /** Runs a thread's replacement once its delay is over (by default a timer; tests run it when they choose). */
  scheduleRestart?: (restart: () => void, delayMs: number) => void;
  /** Disagreements a thread found between a batch's decisions and the shadow candidate's. */
  onShadowed?: (disagreements: EncodedDisagreements | undefined, compared: number) => void;
}

const afterDelay = (restart: () => void, delayMs: number) => setTimeout(restart, delayMs).unref();

interface Thread {
  worker: Worker;
  /** Holds the last policy set posted to it (it compiled to the same revision). */
  loaded: boolean;
  pending: Map<number, (decided: DecidedBatch | undefined) => void>;
  /** `sync` messages not yet answered. */
  syncs: Map<number, () => void>;
  /** Sent a batch since its last `sync`: only such a thread can have comparisons to wait for. */
  unsynced: boolean;
}

/** A thread that stops is replaced after this delay, doubled on each failure in a row (up to a minute). */
const FIRST_RESTART_MS = 1000;
const LAST_RESTART_MS = 60_000;

export class DecisionPool implements ShadowThreads {
  private threads: Thread[] = [];
  private nextId = 0;
  private closing = false;
  /** The set being served, for threads started later. */
  private set: PolicySet | undefined;
  private restartMs = FIRST_RESTART_MS;
  /** The shadow candidate, for threads started later. */
  private shadow: PolicySet | undefined;
  private nextSync = 0;

  constructor(private readonly options: DecisionPoolOptions) {}

  /**
   * Starts the threads on the set being served. Called once the server listens, so that the threads'
   * start (loading modules, compiling the set) does not delay it; until a thread holds the set, the
   * request thread decides.
   */
  start(set: PolicySet): void {
    for (let i = 0; i < this.options.threads; i++) this.threads.push(this.spawn());
    this.load(set);
    if (this.shadow) this.loadShadow(this.shadow);
  }

  /** A replacement for a thread that stopped, once the delay is over. */
  private restartLater(): void {
    const delay = this.restartMs;
    this.restartMs = Math.min(delay * 2, LAST_RESTART_MS);
    (this.options.scheduleRestart ?? afterDelay)(() => {
      if (this.closing) return;
      const thread = this.spawn();
      this.threads.push(thread);
      if (this.set) thread.worker.postMessage(this.policiesMessage(this.set));
      if (this.shadow) thread.worker.postMessage(this.shadowMessage(this.shadow));
    }, delay);
  }

  private policiesMessage(set: PolicySet): PoolRequest {
    return { kind: 'policies', sources: set.sources, revision: set.revision };
  }

  private shadowMessage(set: PolicySet | undefined): PoolRequest {
    return { kind: 'shadow', candidate: set && { sources: set.sources, revision: set.revision } };
  }

  private spawn(): Thread {
    const worker = new Worker(workerUrl(new URL('./decision-worker.js', import.meta.url)), {
      workerData: { batchLimit: this.options.batchLimit, logRequests: this.options.logRequests },
    });
    const thread: Thread = { worker, loaded: false, pending: new Map(), syncs: new Map(), unsynced: false };
    worker.on('message', (m: PoolReply) => {
      if (m.kind === 'shadowed') {
        this.options.onShadowed?.(m.disagreements, m.compared);
        return;
      }
      if (m.kind === 'synced') {
        if (m.compared > 0) this.options.onShadowed?.(undefined, m.compared);
        thread.syncs.get(m.id)?.();
        thread.syncs.delete(m.id);
        return;
      }
      if (m.kind === 'shadow-failed') {
        this.options.warn('a decision thread did not compile the shadow policies; its batches are not compared', {
          revision: m.revision,
        });
        return;
      }
      if (m.kind === 'loaded') {
        thread.loaded = m.revision !== undefined;
        if (thread.loaded) this.restartMs = FIRST_RESTART_MS;
        else
          this.options.warn(
            'a decision thread did not compile the policy set; the request thread decides batches instead',
          );
        return;
      }
      const resolve = thread.pending.get(m.id);
      thread.pending.delete(m.id);
      resolve?.(m.kind === 'decided' ? m.decided : undefined);
    });
    const lost = (why: string) => {
      if (!this.threads.includes(thread)) return;
      this.threads = this.threads.filter((t) => t !== thread);
      for (const resolve of thread.pending.values()) resolve(undefined);
      thread.pending.clear();
      for (const resolve of thread.syncs.values()) resolve(); // its comparisons are lost with it
      thread.syncs.clear();
      if (this.closing) return;
      this.options.warn('a decision thread stopped; the request thread decides batches until it is replaced', {
        why,
        restartInMs: this.restartMs,
      });
      this.restartLater();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return thread;
  }

  /** Posts the set being served to every thread (call it when the set is swapped in). */
  load(set: PolicySet): void {
    this.set = set;
    const message = this.policiesMessage(set);
    for (const t of this.threads) t.worker.postMessage(message);
  }

  /** Posts the shadow candidate (or none) to every thread: each batch decided afterwards is compared with it. */
  loadShadow(set: PolicySet | undefined): void {
    this.shadow = set;
    const message = this.shadowMessage(set);
    for (const t of this.threads) t.worker.postMessage(message);
  }

  /**
   * Messages are handled in order: a thread answers `sync` once the batches sent before it are compared.
   * A thread sent no batch since its last `sync` is not asked (one still starting would answer only once
   * it has compiled the policies).
   */
  async shadowIdle(): Promise<void> {
    await Promise.all(
      this.threads
        .filter((t) => t.unsynced)
        .map(
          (t) =>
            new Promise<void>((resolve) => {
              t.unsynced = false;
              const id = this.nextSync++;
              t.syncs.set(id, resolve);
              t.worker.postMessage({ kind: 'sync', id } satisfies PoolRequest);
            }),
        ),
    );
  }

  /** Threads running, and how many of them hold the policy set last posted (the others decide nothing). */
  get status(): { running: number; loaded: number } {
    return { running: this.threads.length, loaded: this.threads.filter((t) => t.loaded).length };
  }

  /**
   * The batch decided on a thread holding `revision`; `undefined` (at once, or once the thread says so)
   * when the request thread must decide it.
   */
  run(text: string, revision: string): Promise<DecidedBatch | undefined> | undefined {
    // The thread with the fewest batches out; among equals, the next in turn (so that idle threads
    // share the work too).
    let best: Thread | undefined;
    const n = this.threads.length;
    for (let k = 0; k < n; k++) {
      const t = this.threads[(this.nextId + k) % n]!;
      if (t.loaded && (best === undefined || t.pending.size < best.pending.size)) best = t;
    }
    if (best === undefined) return undefined;
    const id = this.nextId++;
    const thread = best;
    return new Promise((resolve) => {
      thread.pending.set(id, resolve);
      thread.unsynced = true;
      thread.worker.postMessage({ kind: 'batch', id, text, revision } satisfies PoolRequest);
    });
  }

  /** Stops the threads; a batch still out is answered `undefined` (decided by the request thread). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
