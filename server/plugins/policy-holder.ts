// Holds the engine being served. A reload compiles the directory off to the side and swaps the engine in
// one assignment: a decision is made by one synchronous call on one engine, so it can never see a
// half-loaded set, and it names the revision that made it. A set that fails to compile is not loaded.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compilePolicyDir,
  createEngine,
  formatDiagnostic,
  readPolicySources,
  type Engine,
} from '../../engine/index.js';
import { ENTITIES_FILE } from '../../engine/load/index.js';
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
  /** The digest of the files the last reload read (`digestPolicyDir`). */
  private digest: string | undefined;
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

  /** Reloads when the files differ from those the last reload read; otherwise does nothing. */
  reloadIfChanged(): ReloadStatus | undefined {
    const digest = digestPolicyDir(this.dir);
    return digest === this.digest ? undefined : this.reload(digest);
  }

  reload(digest = digestPolicyDir(this.dir)): ReloadStatus {
    this.digest = digest; // read before compiling: a change in between reloads once more, never zero times
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

/**
 * A digest of every file a reload reads: the policy sources and entities.yaml. Symlinks are followed, so a
 * ConfigMap's `..data` swap changes it. A directory that cannot be read gives the error, which is a
 * content like any other: it reloads once (and reports the error), not on every event.
 */
export function digestPolicyDir(dir: string): string {
  try {
    const hash = createHash('sha256');
    for (const source of readPolicySources(dir)) hash.update(source.path).update('\0').update(source.text).update('\0');
    const entities = join(dir, ENTITIES_FILE);
    if (existsSync(entities)) hash.update(ENTITIES_FILE).update('\0').update(readFileSync(entities));
    return hash.digest('base64');
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
}
