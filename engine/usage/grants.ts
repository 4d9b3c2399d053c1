// What the policies grant, as actions × resource types with the allow rules that grant each: for a role
// of a principal type, or for one principal as known. A permission is granted when some allow rule of its
// (principal type, action, resource type) may apply and no deny rule always applies.
import { bucketFor } from '../decide/bucket-for.js';
import { nodesOf } from '../lang/ir.js';
import type { PolicySet } from '../types.js';
import { mayApply, type PartialPrincipal } from './may-apply.js';

export interface Permission {
  action: string;
  resource: string;
  /** The allow rules that may grant it. */
  rules: string[];
}

/**
 * A role: a list attribute the rules test the resource's membership in (`resource.fleet in
 * principal.developerOf`), or an attribute compared with a text (`principal.name == "builder"`).
 */
export interface Role {
  name: string;
  attribute: string;
  /** For a role by value: the value. */
  value?: string;
}

export function grantsOf(set: PolicySet, who: PartialPrincipal): Permission[] {
  const out: Permission[] = [];
  for (const action of set.schema.actions) {
    for (const resource of set.schema.resources.keys()) {
      const bucket = bucketFor(set.index, who.principal.type, action, resource);
      if (!bucket || bucket.allow.length === 0) continue;
      if (bucket.deny.some((r) => mayApply(r, who) === 'always')) continue;
      const rules = bucket.allow.filter((r) => mayApply(r, who) !== 'never').map((r) => r.id);
      if (rules.length > 0) out.push({ action, resource, rules });
    }
  }
  return out;
}

/** The roles the rules of a principal type test, in the order the schema declares their attributes. */
export function rolesOf(set: PolicySet, principalType: string): Role[] {
  const roles = new Map<string, Role>();
  for (const rule of set.rules) {
    if (rule.principal !== principalType) continue;
    for (const node of nodesOf(rule.ir)) {
      if (
        node.k === 'in' &&
        node.mode === 'member' &&
        node.right.k === 'attr' &&
        node.right.root === 'principal' &&
        node.left.k === 'attr' &&
        node.left.root === 'resource'
      ) {
        const name = node.right.name;
        if (!roles.has(name)) roles.set(name, { name, attribute: name });
      }
      if (node.k === 'compare' && node.op === '==' && !node.type.list) {
        const [attr, value] =
          node.left.k === 'attr' && node.right.k === 'const'
            ? [node.left, node.right.value]
            : node.right.k === 'attr' && node.left.k === 'const'
              ? [node.right, node.left.value]
              : [undefined, undefined];
        // A name compared with a text is a role (`principal.name == "builder"`); a flag or a count is state.
        if (attr?.root === 'principal' && typeof value === 'string') {
          const name = `${attr.name} = ${JSON.stringify(value)}`;
          if (!roles.has(name)) roles.set(name, { name, attribute: attr.name, value });
        }
      }
    }
  }
  const declared = [...(set.schema.principals.get(principalType)?.attributes.keys() ?? [])];
  const rank = (r: Role) => (r.attribute === 'id' ? -1 : declared.indexOf(r.attribute));
  return [...roles.values()].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A principal holding `role` and no other role of its type; everything else about it is open. */
export function rolePrincipal(principalType: string, role: Role | undefined, roles: Role[]): PartialPrincipal {
  const attributes: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const r of roles) {
    if (r.value !== undefined) continue;
    attributes[r.attribute] = r === role ? ['~role'] : [];
    known.add(r.attribute);
  }
  if (role?.value !== undefined) {
    attributes[role.attribute] = role.value;
    known.add(role.attribute);
  }
  return { principal: { type: principalType, id: '~principal', attributes }, known };
}
