// Coalescing: `authorize` calls made in the same tick (or within the batch window) leave as one batch of
// at most `maxBatch`; a batch that fills up leaves at once. Each caller gets its own promise.
import type { AuthorizeRequest, ClientDecision } from './types.js';

export interface Pending {
  request: AuthorizeRequest;
  resolve: (decision: ClientDecision) => void;
}

export class Coalescer {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (batch: Pending[]) => void,
    private readonly maxBatch: number,
    private readonly windowMs: number,
  ) {}

  add(request: AuthorizeRequest): Promise<ClientDecision> {
    return new Promise((resolve) => {
      this.queue.push({ request, resolve });
      if (this.queue.length >= this.maxBatch) this.send(this.queue.splice(0, this.maxBatch));
      else if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the promise jobs of this tick: calls made across awaits still join.
        if (this.windowMs > 0) setTimeout(this.flush, this.windowMs);
        else setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    while (this.queue.length > 0) this.send(this.queue.splice(0, this.maxBatch));
  };
}
