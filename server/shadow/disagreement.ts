// A shadow disagreement: one request the candidate policy set decides otherwise than the live set. Made
// where the live decision was made (the request thread or a decision thread), from the live decision and
// the request as decided (a principal given by key is the store's principal), at the live decision's time.
import {
  authorize,
  isAllowed,
  type AuthorizeRequest,
  type Decision,
  type Entity,
  type PolicySet,
  type RuleRef,
} from '../../engine/index.js';
import { type ChangedScope, mayDiffer } from './changed-scope.js';

/** `widened`: the candidate allows what the live set denies; `narrowed`: the converse. */
export type Direction = 'widened' | 'narrowed';

export interface ShadowSide {
  outcome: 'allow' | 'deny';
  matched: RuleRef[];
  reason?: string;
}

export interface Disagreement {
  /** The live decision's id: the decision log's row for the same request. */
  decisionId: string;
  /** Epoch milliseconds. */
  time: number;
  direction: Direction;
  liveRevision: string;
  candidateRevision: string;
  principal: Entity;
  action: string;
  resource: Entity;
  context?: Record<string, unknown>;
  live: ShadowSide;
  candidate: ShadowSide;
}

const side = (d: Decision): ShadowSide => ({
  outcome: d.decision,
  matched: [...d.matched],
  ...(d.reason === undefined ? {} : { reason: d.reason }),
});

/**
 * The disagreement when `candidate` decides `request` otherwise than `live` did, else undefined. The
 * candidate first answers on the engine's boolean path (no decision object); only a disagreement is
 * decided again in full, for the rules that made it.
 */
export function compareDecision(
  candidate: PolicySet,
  request: AuthorizeRequest,
  live: Decision,
  time: number,
): Disagreement | undefined {
  if (isAllowed(candidate, request, time) === live.allowed) return undefined;
  const shadow = authorize(candidate, request, time, live.decisionId);
  if (shadow.allowed === live.allowed) return undefined; // the full decision is the one recorded
  const { principal, action, resource, context } = request;
  return {
    decisionId: live.decisionId,
    time,
    direction: shadow.allowed ? 'widened' : 'narrowed',
    liveRevision: live.policyRevision,
    candidateRevision: candidate.revision,
    principal,
    action,
    resource,
    ...(context === undefined ? {} : { context: context as Record<string, unknown> }),
    live: side(live),
    candidate: side(shadow),
  };
}

/**
 * Disagreements as a decision thread hands them over: already JSON (the elements of an array, joined by
 * commas), so the request thread neither copies objects across nor serializes them; with what the
 * metric counts and the block's time span.
 */
export interface EncodedDisagreements {
  json: string;
  count: number;
  first: number;
  last: number;
  /** `[direction, principal type]` of each, in order. */
  labels: [Direction, string][];
}

export function encodeDisagreements(found: readonly Disagreement[]): EncodedDisagreements {
  let first = found[0]!.time;
  let last = first;
  const labels: [Direction, string][] = [];
  const parts: string[] = [];
  for (const d of found) {
    if (d.time < first) first = d.time;
    if (d.time > last) last = d.time;
    labels.push([d.direction, d.principal.type]);
    parts.push(JSON.stringify(d));
  }
  return { json: parts.join(','), count: found.length, first, last, labels };
}

/**
 * The disagreements among decisions made together (a batch), all at `time`; only requests `scope` says the
 * candidate may decide otherwise are decided again (changed-scope.ts; undefined: every request).
 */
export function compareBatch(
  candidate: PolicySet,
  requests: readonly AuthorizeRequest[],
  decisions: readonly Decision[],
  time: number,
  scope: ChangedScope | undefined,
): Disagreement[] {
  const found: Disagreement[] = [];
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const live = decisions[i]!;
    if (!mayDiffer(scope, live.policyRevision, r.principal.type, r.action, r.resource.type)) continue;
    const d = compareDecision(candidate, r, live, time);
    if (d) found.push(d);
  }
  return found;
}
