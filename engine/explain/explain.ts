// Why a decision came out as it did, as data: every rule of the principal type, and for each whether it
// matched, which condition failed, or which error it raised. Rendering to text is separate.
import { authorize, ruleError } from '../decide/authorize.js';
import type { AuthorizeRequest, CompiledRule, Decision, DecisionError, PolicySet, SourcePosition } from '../types.js';

export type RuleOutcome =
  | { outcome: 'matched' }
  | { outcome: 'condition-false'; condition: string; conditionAt: SourcePosition }
  | { outcome: 'error'; error: DecisionError }
  | { outcome: 'not-applicable'; why: string };

export type RuleTrace = {
  policy: string;
  rule: string;
  effect: 'allow' | 'deny';
  description: string;
  at: SourcePosition;
} & RuleOutcome;

export interface Explanation {
  request: AuthorizeRequest;
  decision: Decision;
  rules: RuleTrace[];
}

export function explain(set: PolicySet, req: AuthorizeRequest, now: number, decisionId: string): Explanation {
  const decision = authorize(set, req, now, decisionId);
  const rules = set.rules.filter((r) => r.principal === req.principal.type).map((rule) => traceRule(rule, req, now));
  // Deny rules first, as they are decided.
  rules.sort((a, b) => (a.effect === b.effect ? 0 : a.effect === 'deny' ? -1 : 1));
  return { request: req, decision, rules };
}

function traceRule(rule: CompiledRule, req: AuthorizeRequest, now: number): RuleTrace {
  const base = {
    policy: rule.ref.policy,
    rule: rule.id,
    effect: rule.effect,
    description: rule.description,
    at: rule.at,
  };
  if (!rule.actions.includes(req.action)) {
    return { ...base, outcome: 'not-applicable', why: `covers actions ${rule.actions.join(', ')}, not ${req.action}` };
  }
  if (!rule.resources.includes(req.resource.type)) {
    return {
      ...base,
      outcome: 'not-applicable',
      why: `covers resource types ${rule.resources.join(', ')}, not ${req.resource.type}`,
    };
  }
  for (const part of rule.conditions) {
    try {
      if (!part.test(req, now))
        return { ...base, outcome: 'condition-false', condition: part.source, conditionAt: part.at };
    } catch (e) {
      return { ...base, outcome: 'error', error: ruleError(rule.ref, e) };
    }
  }
  return { ...base, outcome: 'matched' };
}

export function renderExplanation(x: Explanation): string {
  const { request: r, decision: d } = x;
  const lines = [
    `${d.decision.toUpperCase()}: ${r.principal.type} ${r.principal.id} → ${r.action} → ${r.resource.type} ${r.resource.id}`,
    `  policy revision ${d.policyRevision}; ${d.reason ?? 'allowed by a matching rule'}`,
  ];
  for (const e of d.errors ?? []) lines.push(`  error: ${e.message}${e.rule ? ` (rule ${e.rule})` : ''}`);
  if (x.rules.length === 0) lines.push(`  no rule is written for principal type ${r.principal.type}: default deny`);
  const skipped = x.rules.filter((t) => t.outcome === 'not-applicable').length;
  for (const t of x.rules) {
    const head = `  ${t.effect.padEnd(5)} ${t.rule} (${t.policy}:${t.at.line})`;
    if (t.outcome === 'matched') lines.push(`${head}: MATCHED`);
    else if (t.outcome === 'condition-false')
      lines.push(`${head}: did not apply, because this is false (line ${t.conditionAt.line}): ${t.condition}`);
    else if (t.outcome === 'error') lines.push(`${head}: ERROR ${t.error.message}`);
  }
  if (skipped > 0) {
    lines.push(`  ${skipped} other rule(s) for ${r.principal.type} do not cover ${r.action} on ${r.resource.type}`);
  }
  return lines.join('\n');
}
