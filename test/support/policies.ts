// Compiling the shipped policies, optionally with extra files injected (for leak tests).
import { fileURLToPath } from 'node:url';
import { compilePolicies, formatDiagnostic, readPolicySources, type PolicySet, type SourceFile } from '../../engine/index.js';

export const POLICIES_DIR = fileURLToPath(new URL('../../policies', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

export function compileOrThrow(sources: SourceFile[]): PolicySet {
  const { policySet, diagnostics } = compilePolicies(sources);
  if (!policySet) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return policySet;
}

export function shippedPolicies(extra: Record<string, string> = {}): PolicySet {
  const injected = Object.entries(extra).map(([path, text]) => ({ path, text }));
  return compileOrThrow([...readPolicySources(POLICIES_DIR), ...injected]);
}
