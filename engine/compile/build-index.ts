// Stage: the decision index. Rules are bucketed by (principal type, action, resource type), deny rules
// first, so deciding is three Map lookups and a short loop whatever the order of rules and files.
import type { Bucket, CompiledRule, DecisionIndex } from '../types.js';

export function buildIndex(rules: CompiledRule[]): DecisionIndex {
  const index: DecisionIndex = new Map();
  for (const rule of rules) {
    let byAction = index.get(rule.principal);
    if (!byAction) index.set(rule.principal, (byAction = new Map()));
    for (const action of rule.actions) {
      let byResource = byAction.get(action);
      if (!byResource) byAction.set(action, (byResource = new Map()));
      for (const resource of rule.resources) {
        let bucket: Bucket | undefined = byResource.get(resource);
        if (!bucket) byResource.set(resource, (bucket = { deny: [], allow: [] }));
        bucket[rule.effect].push(rule);
      }
    }
  }
  return index;
}
