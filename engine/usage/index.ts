// Least privilege from the decision log: rules that never matched, grants by role and by principal against
// what was used.
export {
  analyzeUsage,
  type ActionOnResource,
  type KnownPrincipal,
  type PrincipalUsage,
  type RoleUsage,
  type RuleUsage,
  type UsageDecision,
  type UsageReport,
  type UsageWindow,
} from './analyze-usage.js';
export { grantsOf, rolesOf, type Permission, type Role } from './grants.js';
