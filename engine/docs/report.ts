// The auditors' report as data: the permission matrix (principal type × resource type × action), every
// rule with its description and source, the invariants with their verification results, the revision.
// Rendering to HTML and Markdown is in render-report.ts.
import { bucketFor } from '../decide/bucket-for.js';
import type { PolicySet, SourcePosition } from '../types.js';
import type { RuleUsage, UsageReport } from '../usage/analyze-usage.js';
import type { VerifyResult } from '../verify/verify-invariants.js';
import { inWords } from './in-words.js';

export type Cell = { kind: 'allow' } | { kind: 'deny' } | { kind: 'conditional'; allowIf: string[]; unless: string[] };

export interface ReportRule {
  id: string;
  policy: string;
  at: SourcePosition;
  effect: 'allow' | 'deny';
  principal: string;
  actions: string[];
  resources: string[];
  description: string;
  condition: string | null;
  conditionInWords: string | null;
}

export interface Report {
  revision: string;
  actions: string[];
  matrix: { principal: string; rows: { resource: string; cells: Cell[] }[] }[];
  rules: ReportRule[];
  invariants: (VerifyResult & { at: SourcePosition })[];
  /** With a decision log: each rule's matches over the log's span. */
  usage?: ReportUsage;
}

export interface ReportUsage {
  /** Epoch milliseconds. */
  since: number;
  until: number;
  bucketMs: number;
  decisions: number;
  revisions: string[];
  rules: Pick<RuleUsage, 'id' | 'effect' | 'matches' | 'lastMatched' | 'series' | 'verdict' | 'unexercised'>[];
  unusedRules: string[];
}

const words = (conditions: { ir: Parameters<typeof inWords>[0] }[]) =>
  conditions.length === 0 ? 'always' : conditions.map((c) => inWords(c.ir)).join(', and ');

export function buildReport(set: PolicySet, verification: VerifyResult[], usage?: UsageReport): Report {
  const { actions } = set.schema;
  const matrix = [...set.schema.principals.keys()].map((principal) => ({
    principal,
    rows: [...set.schema.resources.keys()].map((resource) => ({
      resource,
      cells: actions.map((action): Cell => {
        const bucket = bucketFor(set.index, principal, action, resource);
        if (!bucket || bucket.allow.length === 0) return { kind: 'deny' };
        const unconditional = bucket.allow.some((r) => r.conditions.length === 0);
        const unconditionalDeny = bucket.deny.some((r) => r.conditions.length === 0);
        if (unconditionalDeny) return { kind: 'deny' };
        if (unconditional && bucket.deny.length === 0) return { kind: 'allow' };
        return {
          kind: 'conditional',
          allowIf: bucket.allow.map((r) => words(r.conditions)),
          unless: bucket.deny.map((r) => words(r.conditions)),
        };
      }),
    })),
  }));
  const rules = set.rules.map((r) => ({
    id: r.id,
    policy: r.ref.policy,
    at: r.at,
    effect: r.effect,
    principal: r.principal,
    actions: r.actions,
    resources: r.resources,
    description: r.description,
    condition: r.conditions.length === 0 ? null : r.conditions.map((c) => c.source).join(' and '),
    conditionInWords: r.conditions.length === 0 ? null : words(r.conditions),
  }));
  const invariants = verification.map((v) => ({ ...v, at: set.invariants.find((i) => i.id === v.id)!.at }));
  const report: Report = { revision: set.revision, actions, matrix, rules, invariants };
  if (usage)
    report.usage = {
      since: usage.since,
      until: usage.until,
      bucketMs: usage.bucketMs,
      decisions: usage.decisions,
      revisions: usage.revisions,
      rules: usage.rules.map(({ id, effect, matches, lastMatched, series, verdict, unexercised }) => ({
        id,
        effect,
        matches,
        lastMatched,
        series,
        verdict,
        unexercised,
      })),
      unusedRules: usage.unusedRules,
    };
  return report;
}
