// Retries as a share of calls (the idea of gRPC's retry throttling and Finagle's RetryBudget): each call
// adds `ratio` of a token, each retry takes a whole one, and the balance is capped. A brief fault is
// retried; an outage is not multiplied into a storm of retries against a service that is already down.
export class RetryBudget {
  private tokens: number;
  constructor(
    private readonly ratio = 0.2,
    private readonly cap = 10,
  ) {
    this.tokens = cap;
  }

  deposit(): void {
    this.tokens = Math.min(this.cap, this.tokens + this.ratio);
  }

  withdraw(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Exponential backoff with jitter: 20 ms, 40 ms, … capped at 200 ms, each scaled by a random [0.5, 1). */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.min(200, 20 * 2 ** attempt) * (0.5 + random() / 2);
}
