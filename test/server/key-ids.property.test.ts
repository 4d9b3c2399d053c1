import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyIdOf, newId } from '../../server/store/key-store.js';

describe('key ids', () => {
  it('never start with "-", so a command line never reads one as an option, and fit the key format', () => {
    fc.assert(
      fc.property(fc.integer(), () => {
        const id = newId();
        expect(id.startsWith('-')).toBe(false);
        expect(keyIdOf(`fg.${id}.${'a'.repeat(43)}`)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });
});
