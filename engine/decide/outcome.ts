// What a decision says apart from its id and revision: allowed or not, the matched rules and why. The
// generated decision function answers with an outcome; a decision is an outcome stamped with an id and
// a revision. Outcomes of the generated function are built once per set of matched rules and shared by
// every decision that has them, so they and their `matched` lists are frozen.
import type { RuleRef } from '../types.js';

export const REASONS = {
  allowed: 'allowed by a matching rule',
  denied: 'denied by a matching deny rule',
  noAllow: 'no rule allows this request',
  error: 'a rule could not be evaluated; failing closed',
  unknown: 'the request names a type or action the schema does not declare',
} as const;

export interface Outcome {
  readonly decision: 'allow' | 'deny';
  readonly allowed: boolean;
  readonly matched: RuleRef[];
  readonly reason: string | undefined;
}

/**
 * The outcome of a request's bucket of rules, or undefined when no rule is written for its principal
 * type, action and resource type. Throws when a condition raises an error: the caller then decides rule
 * by rule to report every error (any error means deny).
 */
export type Decider = (req: import('../types.js').AuthorizeRequest, now: number) => Outcome | undefined;

export const NO_MATCH: RuleRef[] = Object.freeze([]) as unknown as RuleRef[];

export const NO_ALLOW: Outcome = Object.freeze({
  decision: 'deny',
  allowed: false,
  matched: NO_MATCH,
  reason: REASONS.noAllow,
});

/** Deny rules matched: deny, whatever allows there are. Allow rules matched (and no deny): allow. */
export function outcomeOf(effect: 'allow' | 'deny', matched: RuleRef[]): Outcome {
  return effect === 'deny'
    ? { decision: 'deny', allowed: false, matched, reason: REASONS.denied }
    : { decision: 'allow', allowed: true, matched, reason: undefined };
}
