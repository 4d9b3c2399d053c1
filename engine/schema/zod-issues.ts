// Reading zod's union failures: every branch failed, and the branch that got furthest says best what is
// wrong (`principal.id: expected string`, `unknown field excpt`), not the union's "Invalid input". Zod 4
// keeps branch issue paths relative to the union; they are made absolute here.
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

const score = (i: Issue) =>
  i.path.length * 2 + (i.code === 'unrecognized_keys' ? 1 : 0) + (i.message.endsWith('received undefined') ? 0 : 1);

/** The issues of the union's best branch, with absolute paths; undefined when no branch says more. */
export function bestUnionBranch(issue: Issue): Issue[] | undefined {
  if (issue.code !== 'invalid_union') return undefined;
  let best: Issue[] | undefined;
  let bestScore = -1;
  for (const branch of issue.errors) {
    const absolute = branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
    const s = Math.max(...absolute.map(score));
    if (s > bestScore) {
      best = absolute;
      bestScore = s;
    }
  }
  // A branch that failed only at the union's own level says nothing more than the union.
  return best?.some((i) => i.path.length > issue.path.length || i.code === 'unrecognized_keys') ? best : undefined;
}

/** The single most telling issue, looking through unions. */
export function deepestIssue(issue: Issue): Issue {
  const branch = bestUnionBranch(issue);
  if (!branch) return issue;
  return deepestIssue(branch.reduce((a, b) => (score(b) > score(a) ? b : a)));
}
