// Reading the decision index that compile/build-index.ts builds: the rules that can apply to a
// (principal type, action, resource type), deny rules first. Every tool that decides or reasons about
// decisions looks rules up here.
import type { Bucket, DecisionIndex } from '../types.js';

export function bucketFor(
  index: DecisionIndex,
  principal: string,
  action: string,
  resource: string,
): Bucket | undefined {
  return index.get(principal)?.get(action)?.get(resource);
}
