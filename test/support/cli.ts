// Runs the built CLI (dist/, compiled by `npm test` before vitest starts) as a real process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './policies.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function fleetguard(
  args: string[],
  options: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  if (!existsSync(join(REPO_DIR, 'dist/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin/fleetguard.js'), ...args], {
    cwd: options.cwd ?? REPO_DIR,
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
