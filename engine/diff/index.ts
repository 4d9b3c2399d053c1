// What changes between two policy sets, as data; and which logged decisions a new set would flip.
export {
  diffPolicies,
  replayDecisions,
  type AccessChange,
  type PolicyDiff,
  type ReplayFlip,
  type RuleSummary,
} from './diff-policies.js';
