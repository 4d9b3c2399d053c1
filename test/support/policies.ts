// Compiling the shipped policies, optionally with extra files injected (for leak tests).
import { fileURLToPath } from 'node:url';
import {
  compilePolicies,
  formatDiagnostic,
  readPolicySources,
  type PolicySet,
  type SourceFile,
} from '../../engine/index.js';

export const POLICIES_DIR = fileURLToPath(new URL('../../policies', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

export function compileOrThrow(sources: SourceFile[]): PolicySet {
  const { policySet, diagnostics } = compilePolicies(sources);
  if (!policySet) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return policySet;
}

/** The shipped policies, with files added or replaced by name. */
export function shippedPolicies(files: Record<string, string> = {}): PolicySet {
  const kept = readPolicySources(POLICIES_DIR).filter((s) => !(s.path in files));
  return compileOrThrow([...kept, ...Object.entries(files).map(([path, text]) => ({ path, text }))]);
}
