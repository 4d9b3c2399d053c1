import { randomBytes } from 'node:crypto';

/**
 * Decision ids: a random per-process prefix and a counter. Unique across processes and restarts (64
 * random bits), ordered within a process, and ~10× cheaper than a UUID per decision on the hot path.
 */
export function decisionIdGenerator(): () => string {
  const prefix = randomBytes(8).toString('hex');
  let n = 0;
  return () => `${prefix}-${(n++).toString(16).padStart(8, '0')}`;
}
