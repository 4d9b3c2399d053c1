// Which requests a candidate can decide otherwise than the live set, from the two compiled sets alone. A
// decision is made from the schema and the rules of its (principal type, action, resource type) bucket,
// deny rules and allow rules each in order (engine/decide/). With the same schema (its file's text), a
// bucket whose deny and allow rules have the same conditions in the same order decides every request
// alike, so only requests in the other buckets need the candidate. Conditions are compared as written
// (their text): one reformatted counts as changed, which costs comparisons, never a miss. A schema that
// differs means every request is compared. test/server/shadow.test.ts checks the disagreements found
// this way against both engines over generated requests.
import type { Bucket, PolicySet } from '../../engine/index.js';

const SCHEMA_FILE = 'schema.yaml';

/** The buckets whose decisions may differ between `live` and the candidate it was made for. */
export interface ChangedScope {
  /** The live revision this scope holds for; a decision of another revision is compared anyway. */
  liveRevision: string;
  /** principal type → action → resource types whose buckets differ. */
  changed: Map<string, Map<string, Set<string>>>;
}

const schemaText = (set: PolicySet) => set.sources.find((s) => s.path === SCHEMA_FILE)?.text;

const conditions = (rules: Bucket['deny']) => rules.map((r) => r.conditions.map((c) => c.source));
const ruleKeys = (bucket: Bucket | undefined) =>
  bucket === undefined ? '' : JSON.stringify([conditions(bucket.deny), conditions(bucket.allow)]);

/** The buckets that differ, or undefined when every request must be compared (the schemas differ). */
export function changedScope(live: PolicySet, candidate: PolicySet): ChangedScope | undefined {
  const text = schemaText(live);
  if (text === undefined || text !== schemaText(candidate)) return undefined;
  const changed: ChangedScope['changed'] = new Map();
  const visit = (a: PolicySet, b: PolicySet) => {
    for (const [principal, actions] of a.index)
      for (const [action, resources] of actions)
        for (const [resource, bucket] of resources) {
          if (changed.get(principal)?.get(action)?.has(resource)) continue;
          const other = b.index.get(principal)?.get(action)?.get(resource);
          if (ruleKeys(bucket) === ruleKeys(other)) continue;
          let byAction = changed.get(principal);
          if (!byAction) changed.set(principal, (byAction = new Map()));
          let types = byAction.get(action);
          if (!types) byAction.set(action, (types = new Set()));
          types.add(resource);
        }
  };
  visit(live, candidate);
  visit(candidate, live);
  return { liveRevision: live.revision, changed };
}

/** Whether the candidate may decide a request of `revision` on these names otherwise. */
export function mayDiffer(
  scope: ChangedScope | undefined,
  revision: string,
  principalType: string,
  action: string,
  resourceType: string,
): boolean {
  if (scope === undefined || revision !== scope.liveRevision) return true;
  return scope.changed.get(principalType)?.get(action)?.has(resourceType) === true;
}
