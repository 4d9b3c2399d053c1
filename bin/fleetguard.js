#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// It exits explicitly: the solver used by `verify` keeps worker threads alive. Output to a pipe is written
// asynchronously, so it exits only once stdout and stderr have taken everything written to them; exiting
// at once would cut a long answer short at the pipe's buffer.
import { main } from '../dist/cli/main.js';

function exit(code) {
  let open = 2;
  const done = () => {
    if (--open === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (err) => {
  console.error(err instanceof Error ? err.stack : err);
  exit(2);
});
