// The library entry point: read a policy directory, compile it, and wire the real clock and random ids.
import { decisionIdGenerator } from './decision-id.js';
import { compilePolicies, type CompileResult } from './compile/compile-policies.js';
import { PolicyError } from './diagnostics.js';
import { createEngine, type Engine, type EngineOptions } from './engine.js';
import { readPolicySources } from './load/read-policy-dir.js';
import type { PolicySet } from './types.js';

export function compilePolicyDir(dir: string): CompileResult {
  return compilePolicies(readPolicySources(dir), { clock: () => performance.now() });
}

/** Compiles DIR or throws a PolicyError carrying every diagnostic (file:line:col). */
export function loadPolicySet(dir: string): PolicySet {
  const { policySet, diagnostics } = compilePolicyDir(dir);
  if (!policySet) throw new PolicyError(diagnostics);
  return policySet;
}

export function loadEngine(policiesDir: string, options: Partial<EngineOptions> = {}): Engine {
  return createEngine(loadPolicySet(policiesDir), {
    clock: options.clock ?? Date.now,
    newDecisionId: options.newDecisionId ?? decisionIdGenerator(),
  });
}
