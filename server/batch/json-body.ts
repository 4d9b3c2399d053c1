// JSON bodies read the way fastify reads them, for a route that takes its body as text (the batch route:
// its text is decided on a decision thread, see decision-pool.ts). Same parser, same errors, same
// validator compiler and options as the routes fastify validates itself, so both paths accept and
// refuse exactly the same bodies.
import { AjvCompiler } from '@fastify/ajv-compiler';
import { errorCodes } from 'fastify';
import secureJson from 'secure-json-parse';

/** Validate exactly what was sent: no type coercion, no defaults, nothing removed. */
export const AJV_OPTIONS = { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false } };

export type BodyValidator = (body: unknown) => boolean;

export function compileBodyValidator(schema: Record<string, unknown>): BodyValidator {
  const compile = AjvCompiler()({}, AJV_OPTIONS);
  return compile({ schema, method: 'POST', url: '', httpPart: 'body' }) as BodyValidator;
}

/** fastify's default JSON parser: prototype poisoning refused, fastify's own errors for the 400. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY();
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
  }
}
