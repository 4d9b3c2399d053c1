// The compiler: a table of named stages (OPA's idea), run in order over one shared state. Each stage adds
// diagnostics; a stage whose inputs are missing is skipped so every independent error is still reported.
import { diagnostic, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { INVARIANTS_FILE, SCHEMA_FILE } from '../load/read-policy-dir.js';
import { parseYaml, type SourceFile, type YamlSource } from '../load/yaml-source.js';
import { InvariantsFile } from '../schema/invariants-file.js';
import { PolicyFile } from '../schema/policy-file.js';
import { SchemaFile } from '../schema/schema-file.js';
import type { Decider } from '../decide/outcome.js';
import type { CompiledRule, DecisionIndex, InvariantDef, PolicySet, Schema } from '../types.js';
import { buildIndex } from './build-index.js';
import { buildSchema } from './build-schema.js';
import { checkInvariants } from './check-invariants.js';
import { checkRules } from './check-rules.js';
import { generateDecider } from './generate-decider.js';
import { policyRevision } from './revision.js';
import { validateStructure } from '../load/validate-structure.js';

interface CompileState {
  sources: SourceFile[];
  diagnostics: Diagnostic[];
  yaml: YamlSource[];
  schemaFile?: { source: YamlSource; file: SchemaFile };
  invariantsFile?: { source: YamlSource; file: InvariantsFile };
  policyFiles: { source: YamlSource; file: PolicyFile }[];
  schema?: Schema;
  rules?: CompiledRule[];
  invariants?: InvariantDef[];
  index?: DecisionIndex;
  decide?: Decider;
  revision?: string;
}

type Stage = (state: CompileState) => void;

export const STAGES: readonly (readonly [string, Stage])[] = [
  [
    'parse-yaml',
    (s) => {
      for (const file of s.sources) {
        const { source, diagnostics } = parseYaml(file);
        s.diagnostics.push(...diagnostics);
        if (source) s.yaml.push(source);
      }
      if (!s.sources.some((f) => f.path === SCHEMA_FILE)) {
        s.diagnostics.push(
          diagnostic(
            'missing-schema',
            { file: SCHEMA_FILE, line: 1, col: 1 },
            'the policy directory needs a schema.yaml declaring principal types, resource types and actions',
          ),
        );
      }
    },
  ],
  [
    'validate-structure',
    (s) => {
      for (const source of s.yaml) {
        if (source.file === SCHEMA_FILE) {
          const { value, diagnostics } = validateStructure(source, SchemaFile);
          s.diagnostics.push(...diagnostics);
          if (value) s.schemaFile = { source, file: value };
        } else if (source.file === INVARIANTS_FILE) {
          const { value, diagnostics } = validateStructure(source, InvariantsFile);
          s.diagnostics.push(...diagnostics);
          if (value) s.invariantsFile = { source, file: value };
        } else {
          const { value, diagnostics } = validateStructure(source, PolicyFile);
          s.diagnostics.push(...diagnostics);
          if (value) s.policyFiles.push({ source, file: value });
        }
      }
    },
  ],
  [
    'build-schema',
    (s) => {
      if (!s.schemaFile) return;
      const { schema, diagnostics } = buildSchema(s.schemaFile.source, s.schemaFile.file);
      s.schema = schema;
      s.diagnostics.push(...diagnostics);
    },
  ],
  [
    'check-rules',
    (s) => {
      if (!s.schema) return;
      const { rules, diagnostics } = checkRules(s.policyFiles, s.schema);
      s.rules = rules;
      s.diagnostics.push(...diagnostics);
    },
  ],
  [
    'check-invariants',
    (s) => {
      if (!s.schema) return;
      const { invariants, diagnostics } = checkInvariants(s.invariantsFile, s.schema);
      s.invariants = invariants;
      s.diagnostics.push(...diagnostics);
    },
  ],
  [
    'build-index',
    (s) => {
      if (s.rules) s.index = buildIndex(s.rules);
    },
  ],
  [
    'generate-decider',
    (s) => {
      if (s.index) s.decide = generateDecider(s.index);
    },
  ],
  [
    'hash-revision',
    (s) => {
      s.revision = policyRevision(s.sources);
    },
  ],
];

export interface CompileResult {
  /** Present only when there is not a single diagnostic: a policy set with errors is never served. */
  policySet?: PolicySet;
  diagnostics: Diagnostic[];
  /** Milliseconds per stage, when the caller passed a clock. */
  timings: Record<string, number>;
}

export function compilePolicies(sources: SourceFile[], options: { clock?: () => number } = {}): CompileResult {
  const state: CompileState = { sources, diagnostics: [], yaml: [], policyFiles: [] };
  const timings: Record<string, number> = {};
  for (const [name, stage] of STAGES) {
    const start = options.clock?.();
    stage(state);
    if (start !== undefined && options.clock) timings[name] = options.clock() - start;
  }
  const diagnostics = sortDiagnostics(state.diagnostics);
  const { schema, rules, invariants, index, decide, revision } = state;
  if (diagnostics.length > 0 || !schema || !rules || !invariants || !index || !decide || !revision)
    return { diagnostics, timings };
  return { policySet: { revision, schema, rules, invariants, index, decide, sources }, diagnostics, timings };
}
