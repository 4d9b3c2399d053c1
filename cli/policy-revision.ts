// Policies as they were at a git revision, read with `git ls-tree` and `git show` (nothing is checked out),
// and the `DIR or REV:DIR` argument of `diff` built on it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { compilePolicies, PolicyError, readPolicySources, type PolicySet, type SourceFile } from '../engine/index.js';
import { UsageError } from './io.js';

const firstLine = (e: unknown) => ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0];

/**
 * The policy files of `dir` at `rev` (YAML files directly in it, entities.yaml aside, as readPolicySources
 * reads a directory). `dir` is relative to the repository's top, or to `cwd` when it starts with `./`.
 */
export function policySourcesAt(rev: string, dir: string, cwd?: string): SourceFile[] {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  const path = dir.replace(/\/+$/, '') || '.';
  let names: string[];
  try {
    names = git('ls-tree', '--name-only', `${rev}:${path}`)
      .split('\n')
      .filter((n) => /\.ya?ml$/.test(n) && n !== 'entities.yaml');
  } catch (e) {
    throw new UsageError(`${rev}:${path}: not in git (${firstLine(e)})`);
  }
  return names.map((name) => ({ path: name, text: git('show', `${rev}:${path}/${name}`) }));
}

/** The policies of `dir` at `rev`, for `dir` a directory in the working tree (wherever the command runs). */
export function policySourcesOfDirAt(rev: string, dir: string): SourceFile[] {
  let prefix: string;
  try {
    prefix = execFileSync('git', ['rev-parse', '--show-prefix'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    throw new UsageError(`${dir}: not in a git working tree (${firstLine(e)})`);
  }
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8' }).trim();
  return policySourcesAt(rev, prefix || '.', top);
}

/** Compiles sources named `label`; invalid ones are a PolicyError whose file names carry the label. */
export function compileLabelled(sources: SourceFile[], label: string): PolicySet {
  const { policySet, diagnostics } = compilePolicies(sources);
  if (!policySet) throw new PolicyError(diagnostics.map((d) => ({ ...d, file: `${label}/${d.file}` })));
  return policySet;
}

/** `diff`'s argument: a directory, or `REV:DIR` for the policies as they were at a git revision. */
export function loadPolicySide(spec: string): PolicySet {
  const rev = /^([^:]+):(.+)$/.exec(spec);
  if (!existsSync(spec) && rev) return compileLabelled(policySourcesAt(rev[1]!, rev[2]!), spec);
  return compileLabelled(readPolicySources(spec), spec);
}
