// What a decision from the wire must look like before it can allow anything: a hand check (a zod parse
// per decision is a cost coalesced batches of hundreds would feel; bench/README.md). Anything else is a deny.
import type { Decision } from '../engine/schema/index.js';

export function isDecision(x: unknown): x is Decision {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Record<string, unknown>;
  return (
    (d.decision === 'allow' || d.decision === 'deny') &&
    d.allowed === (d.decision === 'allow') &&
    typeof d.decisionId === 'string' &&
    typeof d.policyRevision === 'string' &&
    Array.isArray(d.matched)
  );
}
