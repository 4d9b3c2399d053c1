import { diffPolicies } from '../../engine/diff/index.js';
import { describeChange } from '../access-changes.js';
import type { CliCommand } from '../command.js';
import { EXIT, out } from '../io.js';
import { loadPolicySide } from '../policy-revision.js';
import { replayLog, type Replay } from '../replay-log.js';

export function define(command: CliCommand): void {
  command
    .argument('<OLD>', 'the policies before: a directory, or REV:DIR for a git revision')
    .argument('<NEW>', 'the policies after: a directory, or REV:DIR')
    .option('--replay <DB>', "also re-decide the requests in this database's decision log")
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', '\nExit status: 0 access unchanged, 1 widened (anything newly allowed), 3 narrowed only.')
    .run(run);
}

async function run(oldSpec: string, newSpec: string, values: { replay?: string; json?: boolean }): Promise<number> {
  const oldSet = loadPolicySide(oldSpec);
  const newSet = loadPolicySide(newSpec);
  const result = await diffPolicies(oldSet, newSet, Date.now());
  const replay: Replay | undefined = values.replay ? await replayLog(values.replay, newSet) : undefined;
  const flips = replay?.flips ?? [];

  const widened = result.changes.some((c) => c.change === 'widened') || flips.some((f) => f.now === 'allow');
  const narrowed = result.changes.some((c) => c.change === 'narrowed') || flips.some((f) => f.now === 'deny');
  if (values.json) {
    out(
      JSON.stringify(
        { ...result, ...(replay ? { replay: { replayed: replay.replayable, flips } } : {}), widened, narrowed },
        null,
        2,
      ),
    );
  } else {
    out(`policy revision ${result.oldRevision} → ${result.newRevision}`);
    for (const c of result.changes) out(describeChange(c));
    for (const u of result.unknown) out(`UNKNOWN ${u}`);
    if (replay) {
      out(`replay: ${replay.replayable} logged decision(s) re-decided, ${flips.length} flip(s)`);
      for (const f of flips)
        out(
          `  FLIP ${f.decisionId}: ${f.was} → ${f.now} (${f.request.principal.type} ${f.request.principal.id} ${f.request.action} ${f.request.resource.type} ${f.request.resource.id})`,
        );
    }
    out(widened ? 'access widened' : narrowed ? 'access narrowed only' : 'access unchanged');
  }
  return widened ? EXIT.found : narrowed ? EXIT.unknown : EXIT.ok;
}
