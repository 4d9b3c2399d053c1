import { randomBytes } from 'node:crypto';

/**
 * Decision ids: a random per-process prefix and a decimal counter. Unique across processes and restarts
 * (64 random bits), and far cheaper than a UUID per decision on the hot path (a UUID cost ~0.13 µs, more
 * than deciding; padding the counter to sort as text cost another ~0.03 µs).
 */
export function decisionIdGenerator(): () => string {
  const prefix = `${randomBytes(8).toString('hex')}-`;
  let n = 0;
  return () => prefix + n++;
}
