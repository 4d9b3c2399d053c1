// The only file-system access in the engine: a policy directory read into plain source files.
//   DIR/schema.yaml       types, attributes, context, actions (required)
//   DIR/invariants.yaml   what must always hold (optional)
//   DIR/entities.yaml     entities for the sidecar's store (not part of the policy set)
//   DIR/*.yaml            policy files
//   DIR/tests/**/*.yaml   policy test suites
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { SourceFile } from './yaml-source.js';

export const SCHEMA_FILE = 'schema.yaml';
export const INVARIANTS_FILE = 'invariants.yaml';
export const ENTITIES_FILE = 'entities.yaml';
const NOT_POLICIES = new Set([ENTITIES_FILE]);

const isYaml = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml');

function read(dir: string, path: string): SourceFile {
  return { path: relative(dir, path).split(sep).join('/'), text: readFileSync(path, 'utf8') };
}

/** schema.yaml, invariants.yaml and the policy files, sorted by name (the revision hashes exactly these). */
export function readPolicySources(dir: string): SourceFile[] {
  return readdirSync(dir)
    .filter((name) => isYaml(name) && !NOT_POLICIES.has(name) && statSync(join(dir, name)).isFile())
    .sort()
    .map((name) => read(dir, join(dir, name)));
}

/** Every YAML file under DIR/tests (or DIR itself when it has no schema, i.e. it is a suites folder). */
export function readSuiteSources(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (isYaml(name)) out.push(read(dir, path));
    }
  };
  try {
    walk(join(dir, 'tests'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return out;
}
