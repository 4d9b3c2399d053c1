// The CLI's main() run in the test's own process, with what it writes to stdout and stderr captured: what a
// command computes and prints, without the module loading (and solver start) each process pays again,
// 0.7–2.5 s of CPU here. Everything a command prints goes through cli/io.ts (`out`, `err`) or commander's
// help, both writes to process.stdout and process.stderr. What only a process shows (the launcher's exit
// once the output is written, stdin, a one-line error as the user sees it) stays with fleetguard() of
// cli.ts: each command keeps such checks there.
import { main } from '../../cli/main.js';
import type { CliResult } from './cli.js';

type Write = typeof process.stdout.write;

function capture(into: string[]): Write {
  return ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as Write;
}

/** `fleetguard ...args` in this process, run in `cwd` when given; the same result as fleetguard() gives. */
export async function fleetguardInProcess(args: string[], options: { cwd?: string } = {}): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, cwd: process.cwd() };
  if (options.cwd) process.chdir(options.cwd);
  process.stdout.write = capture(stdout);
  process.stderr.write = capture(stderr);
  let status: number;
  try {
    status = await main(args);
  } catch (e) {
    // As bin/fleetguard.js does with an error main() does not handle.
    stderr.push(`${e instanceof Error ? e.stack : String(e)}\n`);
    status = 2;
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.chdir(saved.cwd);
  }
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}
