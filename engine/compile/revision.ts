import { createHash } from 'node:crypto';
import type { SourceFile } from '../load/yaml-source.js';

/** The policy revision: a hash of every source's name and text, independent of read order. */
export function policyRevision(sources: SourceFile[]): string {
  const hash = createHash('sha256');
  for (const s of [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(s.path).update('\0').update(s.text).update('\0');
  }
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}
