import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../engine/schema/json-schemas.js';
import { REPO_DIR } from '../support/policies.js';

describe('JSON Schemas for editors', () => {
  it('the committed docs/schemas are what the zod schemas generate (run `npm run schemas` after a change)', () => {
    for (const [name, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(REPO_DIR, 'docs/schemas', name), 'utf8'), name).toBe(text);
    }
  });

  it('a policy rule requires id, description, effect, principal, actions and resources', () => {
    const schema = JSON.parse(jsonSchemas()['policy-file.json']!);
    const rule = schema.properties.rules.items;
    expect(rule.required.sort()).toEqual(['actions', 'description', 'effect', 'id', 'principal', 'resources']);
    expect(rule.additionalProperties).toBe(false);
  });
});
