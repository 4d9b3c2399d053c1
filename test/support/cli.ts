// Runs the built CLI (dist/, compiled by `npm test` before vitest starts) as a real process.
import { execFile, spawnSync } from 'node:child_process';
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
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking: for tests that run many commands at once. */
export function fleetguardAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_DIR, 'bin/fleetguard.js'), ...args],
      {
        cwd: options.cwd ?? REPO_DIR,
        env: { ...process.env, ...options.env },
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}
