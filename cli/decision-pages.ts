// Every decision of a time window through the store's DecisionReader, a page at a time (oldest first), so a
// command reads a long log without the reader returning it in one answer. Pages follow time: the next page
// starts at the last time seen, and the decisions of that millisecond already read are skipped.
import type { UsageDecision } from '../engine/usage/index.js';
import type { DecisionReader, LoggedDecision } from '../server/store/stores.js';

const PAGE = 10_000;

export async function* decisionsIn(
  reader: DecisionReader,
  window: { since?: number; until?: number },
  page = PAGE,
): AsyncGenerator<LoggedDecision> {
  let since = window.since;
  let limit = page;
  /** The latest time yielded, and the ids yielded at it (the next page starts there). */
  let boundary = Number.NEGATIVE_INFINITY;
  let atBoundary = new Set<string>();
  for (;;) {
    const rows = await reader.query({
      ...(since !== undefined ? { since } : {}),
      ...(window.until !== undefined ? { until: window.until } : {}),
      limit,
    });
    for (const row of rows) {
      const time = Date.parse(row.time);
      if (time === boundary && atBoundary.has(row.decisionId)) continue;
      if (time > boundary) {
        boundary = time;
        atBoundary = new Set();
      }
      atBoundary.add(row.decisionId);
      yield row;
    }
    if (rows.length < limit) return;
    // A full page within one millisecond moves no further: read it again with room for more.
    if (boundary === since) limit *= 2;
    else {
      since = boundary;
      limit = page;
    }
  }
}

/** A logged decision as the usage analysis reads it. */
export function usageDecisionOf(d: LoggedDecision): UsageDecision {
  return {
    time: Date.parse(d.time),
    principalType: d.principalType,
    principalId: d.principalId,
    action: d.action,
    resourceType: d.resourceType,
    outcome: d.outcome,
    matched: d.matched,
    policyRevision: d.policyRevision,
  };
}
