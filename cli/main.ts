// `fleetguard <command>`: one module per command, each a thin layer over engine/ and server/.
import { PolicyError } from '../engine/index.js';
import { EXIT, err, out, printDiagnostics, UsageError } from './io.js';

interface Command {
  summary: string;
  run(args: string[]): number | Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  check: () => import('./commands/check.js'),
  validate: () => import('./commands/validate.js'),
  test: () => import('./commands/test.js'),
  schemas: () => import('./commands/schemas.js'),
  plan: () => import('./commands/plan.js'),
  serve: () => import('./commands/serve.js'),
  audit: () => import('./commands/audit.js'),
  keys: () => import('./commands/keys.js'),
  entities: () => import('./commands/entities.js'),
  verify: () => import('./commands/verify.js'),
  diff: () => import('./commands/diff.js'),
  docs: () => import('./commands/docs.js'),
};

async function usage(): Promise<string> {
  const lines = ['usage: fleetguard <command> [options]', ''];
  for (const load of Object.values(COMMANDS)) lines.push(`  ${(await load()).summary}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(await usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  const load = COMMANDS[name];
  if (!load) {
    err(`unknown command \`${name}\`\n${await usage()}`);
    return EXIT.usage;
  }
  try {
    return await (await load()).run(args);
  } catch (e) {
    if (e instanceof PolicyError) {
      printDiagnostics(e.diagnostics);
      return EXIT.usage;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`fleetguard ${name}: ${(e as Error).message}`);
      return EXIT.usage;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      err(`fleetguard ${name}: ${(e as Error).message}`);
      return EXIT.usage;
    }
    throw e;
  }
}
