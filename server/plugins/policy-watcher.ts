// Reloads the policies when the files a reload reads change. The directory is watched, not the files: an
// atomic save (a new file renamed over the old one, as `sed -i` and editors do) replaces the file's inode,
// and a watch on the old inode sees nothing afterwards; a Kubernetes ConfigMap volume swaps its `..data`
// symlink by a rename in the directory. Any event re-reads the files after a short quiet time (editors
// write in several steps) and reloads only when their contents differ from what is served, so spurious
// events cost one read. A watcher that cannot start or fails (EMFILE, ENOSPC: inotify's limits) is
// replaced by polling, which /health and the metrics report.
import { watch, type FSWatcher, type WatchListener } from 'node:fs';
import type { PolicyHolder } from './policy-holder.js';

/** `fs.watch` on one directory, without recursion (injectable so tests can make it fail). */
export type WatchDirectory = (dir: string, listener: WatchListener<string>) => FSWatcher;

export type WatchMode = 'events' | 'polling' | 'off';

export interface PolicyWatcherOptions {
  /** Quiet time after the last event before the files are read. */
  debounceMs?: number;
  /** How often the files are read when events are not available. */
  pollMs?: number;
  watchDirectory?: WatchDirectory;
  warn: (message: string, details?: Record<string, unknown>) => void;
}

const watchDirectory: WatchDirectory = (dir, listener) => watch(dir, { persistent: false }, listener);

export class PolicyWatcher {
  mode: WatchMode = 'off';
  /** Why the watcher fell back to polling. */
  error: string | undefined;
  /** Times the files were compared with what is served (tests wait on it). */
  checks = 0;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly policies: PolicyHolder,
    private readonly options: PolicyWatcherOptions,
  ) {}

  start(): this {
    try {
      this.watcher = (this.options.watchDirectory ?? watchDirectory)(this.policies.dir, () => this.changed());
      this.watcher.on('error', (e) => this.fallBack(e));
      this.mode = 'events';
    } catch (e) {
      this.fallBack(e as Error);
    }
    this.check(); // anything changed between the first load and the watch
    return this;
  }

  close(): void {
    this.closed = true;
    this.mode = 'off';
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.poll);
  }

  private changed(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), this.options.debounceMs ?? 150);
    this.debounce.unref();
  }

  private check(): void {
    if (this.closed) return;
    this.checks++;
    this.policies.reloadIfChanged();
  }

  private fallBack(e: Error): void {
    if (this.closed || this.mode === 'polling') return;
    this.watcher?.close();
    this.watcher = undefined;
    this.mode = 'polling';
    this.error = e.message;
    const pollMs = this.options.pollMs ?? 1000;
    this.options.warn('cannot watch the policy directory; polling it instead', { error: e.message, pollMs });
    this.poll = setInterval(() => this.check(), pollMs);
    this.poll.unref();
  }
}
