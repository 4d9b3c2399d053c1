// The requests a policy directory's suites decide: every principal × resource × action each case lists,
// with its context and the suite's clock. For tests that need realistic traffic for a policy set.
import { join } from 'node:path';
import { parse } from 'yaml';
import { readPolicySources, type AuthorizeRequest } from '../../engine/index.js';

export /** Every request of the shipped suites (principal × resource × action as each case lists them). */
function suiteRequests(dir: string): AuthorizeRequest[] {
  const requests: AuthorizeRequest[] = [];
  for (const file of readPolicySources(join(dir, 'tests'))) {
    const suite = parse(file.text) as {
      principals: Record<string, AuthorizeRequest['principal']>;
      resources: Record<string, AuthorizeRequest['resource']>;
      contexts?: Record<string, Record<string, unknown>>;
      now?: string;
      tests: {
        principal: string | string[];
        resource: string | string[];
        context?: unknown;
        expect: Record<string, string>;
      }[];
    };
    for (const t of suite.tests) {
      const context =
        typeof t.context === 'string'
          ? suite.contexts?.[t.context]
          : (t.context as Record<string, unknown> | undefined);
      for (const p of [t.principal].flat())
        for (const r of [t.resource].flat())
          for (const action of Object.keys(t.expect))
            requests.push({
              principal: suite.principals[p]!,
              resource: suite.resources[r]!,
              action,
              context: { ...(suite.now ? { time: suite.now } : {}), ...context },
            });
    }
  }
  return requests;
}
