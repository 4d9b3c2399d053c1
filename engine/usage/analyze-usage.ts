// Least privilege from the decision log: which rules matched in a window and how often, what each role
// and each known principal is granted (grants.ts) against what the log shows it used, and the rules that
// could be narrowed or removed. Pure: the caller reads the log and the principals and passes the window.
//
// A logged decision names the rules that decided it: the allow rules that matched, for an allow; the deny
// rules that matched, for a deny. So an allow rule "matched" when it allowed something, and a deny rule
// when it denied something; an allow rule overridden by a deny is not in the log.
import type { Entity, PolicySet } from '../types.js';
import { grantsOf, rolePrincipal, rolesOf, type Permission } from './grants.js';
import { mayApply } from './may-apply.js';

/** A logged decision, as much of it as the analysis reads. */
export interface UsageDecision {
  /** Epoch milliseconds. */
  time: number;
  principalType: string;
  principalId: string;
  action: string;
  resourceType: string;
  outcome: 'allow' | 'deny';
  /** Rule ids. */
  matched: readonly string[];
  policyRevision?: string;
}

/** A principal with its attributes, from a logged request or from the store. */
export interface KnownPrincipal {
  principal: Entity;
  source: 'request' | 'store';
}

export interface UsageWindow {
  /** Epoch milliseconds: decisions at or after `since` and before `until` count. */
  since: number;
  until: number;
  /** Bars in each rule's series. */
  buckets: number;
}

export interface ActionOnResource {
  action: string;
  resource: string;
}

export interface RuleUsage {
  id: string;
  policy: string;
  line: number;
  effect: 'allow' | 'deny';
  principal: string;
  matches: number;
  /** Epoch milliseconds, or null. */
  lastMatched: number | null;
  /** Matches in each of the window's buckets, oldest first. */
  series: number[];
  /** The action and resource type pairs the rule covers that the log shows it matched. */
  exercised: ActionOnResource[];
  /** The pairs it covers (and no unconditional deny takes back) that it never matched. */
  unexercised: ActionOnResource[];
  /**
   * `remove`: an allow rule that never matched; `narrow`: an allow rule that matched on some of its pairs
   * only; `unused-deny`: a deny rule that denied nothing in the window (a guard: keep it if it guards
   * against what did not happen); `used` otherwise.
   */
  verdict: 'used' | 'narrow' | 'remove' | 'unused-deny';
}

export interface RoleUsage {
  principal: string;
  /** The role's name (`adminOf`, `name = "builder"`); null for a principal type whose rules test no role. */
  role: string | null;
  granted: Permission[];
  exercised: Permission[];
  unexercised: Permission[];
  /** Allow rules granting to this role that matched on only some of the role's pairs through them. */
  narrow: string[];
  /** Allow rules granting to this role that never matched. */
  remove: string[];
}

export interface PrincipalUsage {
  type: string;
  id: string;
  source: 'request' | 'store';
  decisions: number;
  /** Granted, never allowed to it in the window. */
  unused: Permission[];
  granted: number;
}

export interface UsageReport {
  revision: string;
  since: number;
  until: number;
  bucketMs: number;
  decisions: number;
  /** Policy revisions the window's decisions were made by. */
  revisions: string[];
  rules: RuleUsage[];
  /** Ids of the rules with no match in the window, in policy order. */
  unusedRules: string[];
  /** Rule ids the log names that these policies do not hold (decided by another revision). */
  unknownRules: string[];
  roles: RoleUsage[];
  /** Known principals holding a grant they did not use, by type and id. */
  principals: PrincipalUsage[];
  /** Principals in the log whose attributes are not known (no request logged, not in the store). */
  principalsWithoutAttributes: number;
}

const pairKey = (action: string, resource: string) => `${action}\0${resource}`;
const principalKey = (type: string, id: string) => `${type}\0${id}`;

export function analyzeUsage(
  set: PolicySet,
  decisions: Iterable<UsageDecision>,
  principals: readonly KnownPrincipal[],
  window: UsageWindow,
): UsageReport {
  const buckets = Math.max(1, Math.floor(window.buckets));
  const bucketMs = Math.max(1, Math.ceil((window.until - window.since) / buckets));
  const ruleIds = new Set(set.rules.map((r) => r.id));
  const perRule = new Map(
    set.rules.map((r) => [
      r.id,
      { matches: 0, last: null as number | null, series: new Array<number>(buckets).fill(0), pairs: new Set<string>() },
    ]),
  );
  const unknownRules = new Set<string>();
  const revisions = new Set<string>();
  /** Allowed (principal type, action, resource) → the rules that matched, as `rule\0pair` keys. */
  const allowedThrough = new Map<string, Set<string>>();
  const perPrincipal = new Map<string, { type: string; id: string; decisions: number; allowed: Set<string> }>();
  let count = 0;

  for (const d of decisions) {
    if (d.time < window.since || d.time >= window.until) continue;
    count++;
    if (d.policyRevision) revisions.add(d.policyRevision);
    const pair = pairKey(d.action, d.resourceType);
    const pk = principalKey(d.principalType, d.principalId);
    let p = perPrincipal.get(pk);
    if (!p) perPrincipal.set(pk, (p = { type: d.principalType, id: d.principalId, decisions: 0, allowed: new Set() }));
    p.decisions++;
    if (d.outcome === 'allow') p.allowed.add(pair);
    for (const id of d.matched) {
      const u = perRule.get(id);
      if (!u) {
        unknownRules.add(id);
        continue;
      }
      u.matches++;
      if (u.last === null || d.time > u.last) u.last = d.time;
      u.series[Math.min(buckets - 1, Math.floor((d.time - window.since) / bucketMs))]!++;
      u.pairs.add(pair);
      if (d.outcome === 'allow') {
        const key = pairKey(d.principalType, pair);
        let through = allowedThrough.get(key);
        if (!through) allowedThrough.set(key, (through = new Set()));
        through.add(id);
      }
    }
  }

  const rules: RuleUsage[] = set.rules.map((r) => {
    const u = perRule.get(r.id)!;
    const nobody = { principal: { type: r.principal, id: '~principal' }, known: new Set<string>() };
    const exercised: ActionOnResource[] = [];
    const unexercised: ActionOnResource[] = [];
    for (const action of r.actions) {
      for (const resource of r.resources) {
        if (u.pairs.has(pairKey(action, resource))) exercised.push({ action, resource });
        else if (r.effect === 'deny') unexercised.push({ action, resource });
        else {
          // A pair an unconditional deny takes back is not the rule's to narrow.
          const deny = set.index.get(r.principal)?.get(action)?.get(resource)?.deny ?? [];
          if (!deny.some((x) => mayApply(x, nobody) === 'always')) unexercised.push({ action, resource });
        }
      }
    }
    const verdict: RuleUsage['verdict'] =
      u.matches === 0
        ? r.effect === 'deny'
          ? 'unused-deny'
          : 'remove'
        : r.effect === 'allow' && unexercised.length > 0
          ? 'narrow'
          : 'used';
    return {
      id: r.id,
      policy: r.ref.policy,
      line: r.at.line,
      effect: r.effect,
      principal: r.principal,
      matches: u.matches,
      lastMatched: u.last,
      series: u.series,
      exercised,
      unexercised,
      verdict,
    };
  });

  const roles: RoleUsage[] = [];
  for (const type of set.schema.principals.keys()) {
    const typeRoles = rolesOf(set, type);
    for (const role of typeRoles.length > 0 ? typeRoles : [undefined]) {
      const granted = grantsOf(set, rolePrincipal(type, role, typeRoles));
      if (granted.length === 0) continue;
      const exercised: Permission[] = [];
      const unexercised: Permission[] = [];
      /** rule → [pairs granted through it, pairs used through it] */
      const through = new Map<string, [number, number]>();
      for (const g of granted) {
        const used = allowedThrough.get(pairKey(type, pairKey(g.action, g.resource)));
        (g.rules.some((id) => used?.has(id)) ? exercised : unexercised).push(g);
        for (const id of g.rules) {
          const t = through.get(id) ?? [0, 0];
          t[0]++;
          if (used?.has(id)) t[1]++;
          through.set(id, t);
        }
      }
      roles.push({
        principal: type,
        role: role?.name ?? null,
        granted,
        exercised,
        unexercised,
        narrow: [...through].filter(([, [all, used]]) => used > 0 && used < all).map(([id]) => id),
        remove: [...through].filter(([, [, used]]) => used === 0).map(([id]) => id),
      });
    }
  }

  const known = new Map<string, KnownPrincipal>();
  for (const k of principals) known.set(principalKey(k.principal.type, k.principal.id), k);
  const principalUsage: PrincipalUsage[] = [];
  for (const k of known.values()) {
    const def = set.schema.principals.get(k.principal.type);
    if (!def) continue;
    const seen = perPrincipal.get(principalKey(k.principal.type, k.principal.id));
    const granted = grantsOf(set, { principal: k.principal, known: new Set(['id', ...def.attributes.keys()]) });
    const unused = granted.filter((g) => !seen?.allowed.has(pairKey(g.action, g.resource)));
    if (unused.length > 0)
      principalUsage.push({
        type: k.principal.type,
        id: k.principal.id,
        source: k.source,
        decisions: seen?.decisions ?? 0,
        unused,
        granted: granted.length,
      });
  }
  principalUsage.sort((a, b) =>
    a.type === b.type ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.type < b.type ? -1 : 1,
  );
  let withoutAttributes = 0;
  for (const key of perPrincipal.keys()) if (!known.has(key)) withoutAttributes++;

  return {
    revision: set.revision,
    since: window.since,
    until: window.until,
    bucketMs,
    decisions: count,
    revisions: [...revisions].sort(),
    rules,
    unusedRules: rules.filter((r) => r.matches === 0).map((r) => r.id),
    unknownRules: [...unknownRules].filter((id) => !ruleIds.has(id)).sort(),
    roles,
    principals: principalUsage,
    principalsWithoutAttributes: withoutAttributes,
  };
}
