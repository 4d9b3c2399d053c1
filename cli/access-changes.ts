// An access change of `diff` as one line for people, shared by `diff` and `ci`.
import type { AccessChange, RuleSummary } from '../engine/diff/index.js';

const rules = (list: RuleSummary[]) => list.map((r) => `${r.rule} (${r.policy}:${r.line}) when ${r.when}`).join('; ');

export function describeChange(c: AccessChange): string {
  const head = `${c.change === 'widened' ? 'WIDENED' : 'NARROWED'} ${c.principal} ${c.action} ${c.resource}`;
  const why =
    c.change === 'widened'
      ? `newly allowed by ${rules(c.because)}`
      : `no longer allowed; was allowed by ${rules(c.because)}${c.deniedBy.length ? `; now denied by ${rules(c.deniedBy)}` : ''}`;
  return `${head}: ${why}\n  example: ${JSON.stringify(c.example)}`;
}
