// The same rules as CASL abilities (per principal and context), for query plans and client-side rules.
// Deny-overrides is compiled in: every `cannot` is emitted after every `can` (CASL lets later rules win,
// casl#376), and a rule whose principal or context part cannot be evaluated becomes an unconditional
// `cannot` for its actions and types, as the fast path fails closed.
import {
  buildMongoQueryMatcher,
  createMongoAbility,
  subject as tagSubject,
  type MongoAbility,
  type RawRuleOf,
  type Subject,
} from '@casl/ability';
import { $and, $nor, $or, and, nor, or } from '@ucast/mongo2js';
import { findUnsupported, partialEvaluate, type KnownParts, type Residual } from '../lang/partial-evaluate.js';
import { convertValue } from '../lang/values.js';
import type { Entity, PolicySet } from '../types.js';

export type FleetAbility = MongoAbility<[string, Subject]>;
export type CaslRule = RawRuleOf<FleetAbility>;

const conditionsMatcher = buildMongoQueryMatcher({ $and, $or, $nor }, { and, or, nor });

export class NotExpressibleError extends Error {
  constructor(
    readonly rule: string,
    reason: string,
  ) {
    super(`rule ${rule} cannot be expressed as a CASL condition: ${reason}`);
    this.name = 'NotExpressibleError';
  }
}

export function toMongoQuery(r: Residual): Record<string, unknown> {
  switch (r.operator) {
    case 'and':
      return { $and: r.value.map(toMongoQuery) };
    case 'or':
      return { $or: r.value.map(toMongoQuery) };
    case 'not':
      return { $nor: [toMongoQuery(r.value)] };
    case 'contains':
      return { [r.field]: { $all: [r.value] } };
    case 'unsupported':
      throw new Error(r.reason);
    default:
      return { [r.field]: { [`$${r.operator}`]: r.value } };
  }
}

export interface CaslRulesOptions {
  /**
   * `throw` (default): a condition CASL cannot express is an error. `approximate`: such an allow rule is
   * left out and such a deny rule becomes unconditional (less is allowed, never more), and the
   * reasons are reported through `onApproximation`.
   */
  unsupported?: 'throw' | 'approximate';
  onApproximation?: (rule: string, reason: string) => void;
}

/** The CASL rules for one principal: resource conditions only, principal and context values substituted. */
export function caslRulesFor(set: PolicySet, known: KnownParts, options: CaslRulesOptions = {}): CaslRule[] {
  const allows: CaslRule[] = [];
  const denies: CaslRule[] = [];
  const failed: CaslRule[] = [];
  for (const rule of set.rules) {
    if (rule.principal !== known.principal.type) continue;
    const base = { action: rule.actions, subject: rule.resources, reason: rule.id };
    let residual: ReturnType<typeof partialEvaluate>;
    try {
      residual = partialEvaluate(rule.ir, known);
    } catch {
      failed.push({ ...base, inverted: true });
      continue;
    }
    if (residual === false) continue;
    const target = rule.effect === 'allow' ? allows : denies;
    const inverted = rule.effect === 'deny';
    if (residual === true) {
      target.push(inverted ? { ...base, inverted } : base);
      continue;
    }
    const unsupported = findUnsupported(residual);
    if (unsupported) {
      if (options.unsupported !== 'approximate') throw new NotExpressibleError(rule.id, unsupported);
      options.onApproximation?.(rule.id, unsupported);
      if (rule.effect === 'deny') failed.push({ ...base, inverted: true });
      continue;
    }
    const conditions = toMongoQuery(residual);
    target.push(inverted ? { ...base, conditions, inverted } : { ...base, conditions });
  }
  return [...allows, ...denies, ...failed];
}

export function buildAbility(set: PolicySet, known: KnownParts): FleetAbility {
  return createMongoAbility<FleetAbility>(caslRulesFor(set, known), { conditionsMatcher });
}

/** A resource as CASL sees it: attributes converted to run-time values (times in epoch ms). */
export function caslSubject(set: PolicySet, resource: Entity) {
  const def = set.schema.resources.get(resource.type);
  const fields: Record<string, unknown> = { id: resource.id };
  for (const [name, value] of Object.entries(resource.attributes ?? {})) {
    const attr = def?.attributes.get(name);
    try {
      fields[name] = attr ? convertValue(attr.type, value, name) : value;
    } catch {
      fields[name] = value;
    }
  }
  return tagSubject(resource.type, fields);
}
