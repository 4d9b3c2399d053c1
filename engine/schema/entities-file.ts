import { z } from 'zod';
import { Description, Name } from './common.js';

/** An entities file (a policy directory's `entities.yaml`, or `fleetguard entities import FILE`). */
export const EntitiesFile = z.strictObject({
  description: Description.optional(),
  entities: z.array(
    z.strictObject({
      type: Name,
      id: z.union([z.string().min(1), z.number().transform(String)]),
      attributes: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
});
export type EntitiesFile = z.infer<typeof EntitiesFile>;
export type StoredEntity = EntitiesFile['entities'][number];
