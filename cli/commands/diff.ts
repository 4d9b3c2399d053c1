import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  compilePolicies,
  PolicyError,
  readPolicySources,
  type AuthorizeRequest,
  type PolicySet,
  type SourceFile,
} from '../../engine/index.js';
import { diffPolicies, replayDecisions, type AccessChange } from '../../engine/diff/index.js';
import { openDatabase } from '../../server/store/database.js';
import type { CliCommand } from '../command.js';
import { EXIT, out, UsageError } from '../io.js';

export function define(command: CliCommand): void {
  command
    .argument('<OLD>', 'the policies before: a directory, or REV:DIR for a git revision')
    .argument('<NEW>', 'the policies after: a directory, or REV:DIR')
    .option('--replay <DB>', "also re-decide the requests in this database's decision log")
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', '\nExit status: 0 access unchanged, 1 widened (anything newly allowed), 3 narrowed only.')
    .run(run);
}

/** A directory, or `REV:DIR` for the policies as they were at a git revision. */
function loadSide(spec: string): PolicySet {
  let sources: SourceFile[];
  const rev = /^([^:]+):(.+)$/.exec(spec);
  if (!existsSync(spec) && rev) {
    const [, ref, dir] = rev as unknown as [string, string, string];
    const git = (...args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    let names: string[];
    try {
      names = git('ls-tree', '--name-only', `${ref}:${dir}`)
        .split('\n')
        .filter((n) => /\.ya?ml$/.test(n) && n !== 'entities.yaml');
    } catch (e) {
      throw new UsageError(
        `${spec}: not a directory and not a git revision:path (${(e as Error).message.split('\n')[0]})`,
      );
    }
    sources = names.map((name) => ({ path: name, text: git('show', `${ref}:${dir.replace(/\/$/, '')}/${name}`) }));
  } else {
    sources = readPolicySources(spec);
  }
  const { policySet, diagnostics } = compilePolicies(sources);
  if (!policySet) throw new PolicyError(diagnostics.map((d) => ({ ...d, file: `${spec}/${d.file}` })));
  return policySet;
}

const describe = (c: AccessChange) => {
  const rules = (list: AccessChange['because']) =>
    list.map((r) => `${r.rule} (${r.policy}:${r.line}) when ${r.when}`).join('; ');
  const head = `${c.change === 'widened' ? 'WIDENED' : 'NARROWED'} ${c.principal} ${c.action} ${c.resource}`;
  const why =
    c.change === 'widened'
      ? `newly allowed by ${rules(c.because)}`
      : `no longer allowed; was allowed by ${rules(c.because)}${c.deniedBy.length ? `; now denied by ${rules(c.deniedBy)}` : ''}`;
  return `${head}: ${why}\n  example: ${JSON.stringify(c.example)}`;
};

async function run(oldSpec: string, newSpec: string, values: { replay?: string; json?: boolean }): Promise<number> {
  const oldSet = loadSide(oldSpec);
  const newSet = loadSide(newSpec);
  const now = Date.now();
  const result = await diffPolicies(oldSet, newSet, now);

  let flips: ReturnType<typeof replayDecisions> | undefined;
  let replayed = 0;
  if (values.replay) {
    if (!existsSync(values.replay)) throw new UsageError(`${values.replay}: no such database`);
    const db = openDatabase(values.replay);
    try {
      const rows = db
        .prepare(
          "SELECT id, time, outcome, request FROM decisions WHERE request IS NOT NULL AND principal_type <> 'credential' ORDER BY seq",
        )
        .all() as { id: string; time: number; outcome: 'allow' | 'deny'; request: string }[];
      replayed = rows.length;
      flips = replayDecisions(
        newSet,
        rows.map((r) => ({
          decisionId: r.id,
          time: r.time,
          outcome: r.outcome,
          request: JSON.parse(r.request) as AuthorizeRequest,
        })),
      );
    } finally {
      db.close();
    }
  }

  const widened = result.changes.some((c) => c.change === 'widened') || (flips ?? []).some((f) => f.now === 'allow');
  const narrowed = result.changes.some((c) => c.change === 'narrowed') || (flips ?? []).some((f) => f.now === 'deny');
  if (values.json) {
    out(JSON.stringify({ ...result, ...(flips ? { replay: { replayed, flips } } : {}), widened, narrowed }, null, 2));
  } else {
    out(`policy revision ${result.oldRevision} → ${result.newRevision}`);
    for (const c of result.changes) out(describe(c));
    for (const u of result.unknown) out(`UNKNOWN ${u}`);
    if (flips) {
      out(`replay: ${replayed} logged decision(s) re-decided, ${flips.length} flip(s)`);
      for (const f of flips)
        out(
          `  FLIP ${f.decisionId}: ${f.was} → ${f.now} (${f.request.principal.type} ${f.request.principal.id} ${f.request.action} ${f.request.resource.type} ${f.request.resource.id})`,
        );
    }
    out(widened ? 'access widened' : narrowed ? 'access narrowed only' : 'access unchanged');
  }
  return widened ? EXIT.found : narrowed ? EXIT.unknown : EXIT.ok;
}
