// The sidecar as a real child process (`fleetguard serve`), for signal and crash tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_DIR } from './policies.js';

export interface SidecarProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

export async function spawnSidecar(args: string[], env: Record<string, string> = {}): Promise<SidecarProcess> {
  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/fleetguard.js'), 'serve', '--port', '0', ...args], {
    cwd: REPO_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    // Only a hang detector: a sidecar starts in well under a second, but a busy machine can stretch that.
    const timer = setTimeout(() => reject(new Error(`sidecar did not start:\n${out}`)), 120_000);
    const check = () => {
      const line = out.split('\n').find((l) => l.includes('fleetguard sidecar listening'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).address);
      }
    };
    child.stdout!.on('data', check);
    exited.then(() => reject(new Error(`sidecar exited:\n${out}`)));
  });
  return { child, url, exited, output: () => out };
}
