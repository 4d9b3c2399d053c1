// Rules for front ends: the principal's CASL rules, packed, with principal and context substituted, so a
// web UI can build an ability and show or hide buttons. Conditions CASL cannot express are approximated
// towards deny and reported (`partial`).
import { packRules } from '@casl/ability/extra';
import { caslRulesFor } from '../decide/casl.js';
import type { Entity, PolicySet } from '../types.js';

export interface ClientRules {
  rules: unknown[];
  policyRevision: string;
  partial?: true;
  reason?: string;
}

export function clientRules(
  set: PolicySet,
  principal: Entity,
  context: Record<string, unknown>,
  now: number,
): ClientRules {
  const reasons: string[] = [];
  const rules = caslRulesFor(
    set,
    { principal, context, now },
    {
      unsupported: 'approximate',
      onApproximation: (rule, reason) => reasons.push(`rule ${rule}: ${reason}`),
    },
  );
  const out: ClientRules = { rules: packRules(rules), policyRevision: set.revision };
  if (reasons.length > 0) {
    out.partial = true;
    out.reason = reasons.join('; ');
  }
  return out;
}
