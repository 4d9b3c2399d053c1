// `fleetguard <command>`: one module per command, each a thin layer over engine/ and server/. Only the module
// of the command asked for is loaded (all of them take half a second); the others are listed by name.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { PolicyError } from '../engine/index.js';
import { SettingError } from '../server/config.js';
import { CliCommand, type CommandModule } from './command.js';
import { EXIT, err, printDiagnostics, UsageError } from './io.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  check: { summary: 'decide one request or { "requests": [...] }', load: () => import('./commands/check.js') },
  validate: {
    summary: 'check every policy file; print all errors as file:line:col',
    load: () => import('./commands/validate.js'),
  },
  test: { summary: 'run the suites in DIR/tests', load: () => import('./commands/test.js') },
  schemas: { summary: 'write the JSON Schemas of the file formats', load: () => import('./commands/schemas.js') },
  plan: {
    summary: 'the query plan of /v1/plan: a condition and a SQL WHERE clause',
    load: () => import('./commands/plan.js'),
  },
  serve: { summary: 'run the sidecar', load: () => import('./commands/serve.js') },
  audit: { summary: 'query the decision log', load: () => import('./commands/audit.js') },
  sidecars: {
    summary: 'the sidecars on a shared store and the policy revision each serves',
    load: () => import('./commands/sidecars.js'),
  },
  'shadow-report': {
    summary: 'what a shadow candidate (serve --shadow-policies) decided otherwise, from the database',
    load: () => import('./commands/shadow-report.js'),
  },
  keys: { summary: 'provisioning keys, devices, users and their tokens', load: () => import('./commands/keys.js') },
  entities: { summary: 'load entities into the store', load: () => import('./commands/entities.js') },
  verify: {
    summary: 'prove every invariant of DIR/invariants.yaml (PROVED, VIOLATED, UNKNOWN)',
    load: () => import('./commands/verify.js'),
  },
  diff: { summary: 'what a policy change allows or denies', load: () => import('./commands/diff.js') },
  docs: { summary: "write the auditors' report: index.html and report.md", load: () => import('./commands/docs.js') },
  unused: {
    summary: 'rules and grants the decision log shows unused (least privilege)',
    load: () => import('./commands/unused.js'),
  },
  ci: {
    summary: 'validate, test, verify, diff against a git revision, replay a log: one command for a policy change',
    load: () => import('./commands/ci.js'),
  },
};

export async function main(argv: string[]): Promise<number> {
  const program = new CliCommand('fleetguard')
    .description('Policy-as-code authorization for IoT device fleets')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
    .configureOutput({ outputError: () => {} }); // printed below, as one line
  const asked = argv[0] === 'help' ? argv[1] : argv[0];
  for (const [name, { summary, load }] of Object.entries(COMMANDS)) {
    const command = program.command(name).description(summary);
    if (name === asked) (await load()).define(command);
  }
  const name = commandName(program, argv);
  const fail = (message: string) => {
    err(`${name}: ${message}`);
    return EXIT.usage;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return program.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      if (e.code === 'commander.help') return EXIT.usage; // no command: the help went to stderr
      return fail(`${e.message.replace(/^error: /, '').replaceAll('\n', ' ')} (see ${name} --help)`);
    }
    if (e instanceof PolicyError) {
      printDiagnostics(e.diagnostics);
      return EXIT.usage;
    }
    if (e instanceof UsageError || e instanceof SettingError || isSystemError(e)) return fail((e as Error).message);
    throw e;
  }
}

/** `fleetguard keys revoke`: the command the arguments name, as far as they name one. */
function commandName(program: CliCommand, argv: string[]): string {
  const path = ['fleetguard'];
  let command = program;
  for (const arg of argv) {
    const sub = command.commands.find((c) => c.name() === arg);
    if (!(sub instanceof CliCommand)) break;
    path.push(arg);
    command = sub;
  }
  return path.join(' ');
}

/** A missing file, a busy port, a directory that cannot be written: the user's to fix, not a bug. */
function isSystemError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && (/^E[A-Z]+$/.test(code) || code.startsWith('SQLITE_'));
}

/** cli/main.ts and dist/cli/main.js sit at different depths below the package. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}
