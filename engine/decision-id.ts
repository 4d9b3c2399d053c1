import { randomBytes } from 'node:crypto';

const DIGITS = Array.from({ length: 1000 }, (_, i) => String(i));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Decision ids: a random per-process prefix and a decimal counter. Unique across processes and restarts
 * (64 random bits), and far cheaper than a UUID per decision on the hot path. No number is formatted per
 * id: the counter's last three digits come from a table and the digits before them are written once per
 * thousand ids, so an id costs one concatenation.
 */
export function decisionIdGenerator(): () => string {
  const prefix = `${randomBytes(8).toString('hex')}-`;
  let head = prefix;
  let low = DIGITS;
  let thousands = 0;
  let n = 0;
  return () => {
    const id = head + low[n]!;
    if (++n === 1000) {
      n = 0;
      head = prefix + ++thousands;
      low = THREE_DIGITS;
    }
    return id;
  };
}
