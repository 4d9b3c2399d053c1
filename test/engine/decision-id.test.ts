// Decision ids: a per-process prefix and a decimal counter, written without formatting a number per id.
import { describe, expect, it } from 'vitest';
import { decisionIdGenerator } from '../../engine/index.js';

describe('decisionIdGenerator', () => {
  it('counts in decimal after its prefix, across every change of the thousands', () => {
    const next = decisionIdGenerator();
    const first = next();
    expect(first).toMatch(/^[0-9a-f]{16}-0$/);
    const prefix = first.slice(0, -1);
    for (let n = 1; n < 1_002_005; n++) {
      const id = next();
      if (id !== prefix + n) expect(id).toBe(prefix + n);
    }
  });

  it('gives each generator its own prefix', () => {
    expect(decisionIdGenerator()().slice(0, 17)).not.toBe(decisionIdGenerator()().slice(0, 17));
  });
});
