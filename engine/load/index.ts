// Reading a policy pack from disk: its entities file, and positions in its YAML.
export { ENTITIES_FILE } from './read-policy-dir.js';
export { readEntitiesFile } from './read-entities.js';
export type { PathSegment, SourceFile } from './yaml-source.js';
