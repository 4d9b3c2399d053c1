// AuthZEN on the server: the shapes are in api/authzen.ts (the client is typed from them too); the check of
// batch items, compiled like fastify's validators, is server code.
import { AzEvaluation } from '../api/authzen.js';
import { bodySchema } from './body/body-schema.js';

export {
  AzAction,
  AzActionSearch,
  AzContext,
  AzEntity,
  AzEvaluation,
  AzEvaluations,
  AzResourceSearch,
  AzSubjectSearch,
  Semantic,
} from '../api/authzen.js';
export type { AzPage } from '../api/authzen.js';

/**
 * The check of each item of a batch: AzEvaluation's body schema, compiled like every body's
 * (body-schema.ts); zod only words the error of an invalid one. They agree (tested).
 */
export const isAzEvaluation = bodySchema(AzEvaluation).validate;
