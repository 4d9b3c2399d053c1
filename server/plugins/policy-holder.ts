// Holds the engine being served. A reload compiles the directory off to the side and swaps the engine in
// one assignment: a decision is made by one synchronous call on one engine, so it can never see a
// half-loaded set, and it names the revision that made it. A set that fails to compile is not loaded.
import { compilePolicyDir, createEngine, formatDiagnostic, type Engine } from '../../engine/index.js';
import { HttpError } from '../errors.js';

export interface ReloadStatus {
  ok: boolean;
  at: string;
  revision: string | undefined;
  /** `file:line:col: message [code]` lines of the failed reload. */
  errors?: string[];
}

export interface PolicyHolderOptions {
  clock: () => number;
  newDecisionId: () => string;
}

export class PolicyHolder {
  private current: Engine | undefined;
  lastReload: ReloadStatus | undefined;
  reloads = 0;
  reloadFailures = 0;
  private readonly listeners: ((status: ReloadStatus) => void)[] = [];

  constructor(
    readonly dir: string,
    private readonly options: PolicyHolderOptions,
  ) {}

  get engine(): Engine | undefined {
    return this.current;
  }

  /** The engine to decide with, or a 503 for the caller when none is loaded. */
  serving(): Engine {
    if (!this.current) throw new HttpError('not_ready', 'no policy set is loaded');
    return this.current;
  }

  onReload(listener: (status: ReloadStatus) => void): void {
    this.listeners.push(listener);
  }

  reload(): ReloadStatus {
    const at = new Date(this.options.clock()).toISOString();
    let status: ReloadStatus;
    try {
      const { policySet, diagnostics } = compilePolicyDir(this.dir);
      if (policySet) {
        this.current = createEngine(policySet, this.options);
        this.reloads++;
        status = { ok: true, at, revision: policySet.revision };
      } else {
        this.reloadFailures++;
        status = { ok: false, at, revision: this.current?.revision, errors: diagnostics.map(formatDiagnostic) };
      }
    } catch (e) {
      this.reloadFailures++;
      status = { ok: false, at, revision: this.current?.revision, errors: [`${this.dir}: ${(e as Error).message}`] };
    }
    this.lastReload = status;
    for (const l of this.listeners) l(status);
    return status;
  }
}
