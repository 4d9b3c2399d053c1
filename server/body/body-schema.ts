// The one way a request body is validated. A body's shape is its zod schema; from it comes a JSON Schema,
// compiled once by one Ajv instance of this thread with fastify's own compiler and options, and that
// compiled function is what checks every body: fastify's validation of a route (the app's validator
// compiler hands fastify the same function, see `validatorFor`), the batch route and the decision threads
// that parse their body themselves, and AuthZEN's batch items. zod runs only on a body already found
// invalid, to word the 400 (its path, and `batch_too_large` for a list over its limit). A rule JSON
// Schema has no keyword for (a CIDR range, an RFC 3339 time) is a format of its own, checked by the
// same function zod's refinement calls, so both say the same about every value (tested).
import { AjvCompiler } from '@fastify/ajv-compiler';
import { z } from 'zod';
import { describeInvalid } from '../../api/authorize.js';
import { parseCidr, parseTime } from '../../engine/lang/index.js';
import { HttpError } from '../errors.js';

/** Validate exactly what was sent: no type coercion, no defaults, nothing removed. */
export const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false },
};

export type BodyValidator = (body: unknown) => boolean;

/** The formats zod's refinements stand for, by name: `.meta({ format })` puts the name in the JSON Schema. */
export const FORMATS = {
  'fleetguard-cidr': (s: string) => parseCidr(s) !== undefined,
  'fleetguard-rfc3339': (s: string) => parseTime(s) !== undefined,
} as const;

/** A string a JSON Schema checks with one of FORMATS, and zod with the same function (to word the 400). */
export function formatted(format: keyof typeof FORMATS, message: string): z.ZodString {
  return z.string().refine(FORMATS[format], message).meta({ format }) as unknown as z.ZodString;
}

const addFormats = (ajv: {
  addFormat(name: string, format: { type: 'string'; validate: (s: string) => boolean }): unknown;
}) => {
  for (const [name, validate] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate });
};

export interface BodySchema<T = unknown> {
  readonly zod: z.ZodType<T>;
  /** The JSON Schema generated from `zod` (also what the OpenAPI document shows). */
  readonly json: Record<string, unknown>;
  /** Whether a parsed body is valid: the compiled JSON Schema. */
  readonly validate: BodyValidator;
  /** Throws the 400 for an invalid body. */
  check(body: unknown): asserts body is T;
  /** The 400 for a body `validate` refused, worded by zod. */
  invalid(body: unknown): HttpError;
}

/** `schema` as JSON Schema (draft 7, what fastify's Ajv reads); `output` for a response's shape. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  void $schema;
  return rest;
}

/** The 400 for a body that fails `schema`: a batch over its limit says so. */
export function invalidBody(schema: z.ZodType, body: unknown): HttpError {
  const { message, path, tooBig } = describeInvalid(schema, body);
  return new HttpError(tooBig ? 'batch_too_large' : 'invalid_request', message, path);
}

let compile: ReturnType<ReturnType<typeof AjvCompiler>> | undefined;
/**
 * Validators by the text of the JSON Schema they check: each app builds its routes' schemas anew, and the
 * same schema is compiled once a thread (a third of an app's start went to compiling them again).
 */
const validators = new Map<string, BodyValidator>();

/** The compiled validator of a JSON Schema: one Ajv instance a thread (made on first use: building one is costly). */
export function validatorFor(schema: Record<string, unknown>): BodyValidator {
  const text = JSON.stringify(schema);
  let validate = validators.get(text);
  if (validate === undefined) validators.set(text, (validate = compiledOnFirstUse(schema)));
  return validate;
}

/**
 * A validator compiled when it first validates: a sidecar serves a few of its routes, and compiling every
 * route's schema took a fifth of its start. It carries the compiled function's `errors` after each call,
 * which is what fastify reads when a body is refused.
 */
function compiledOnFirstUse(schema: Record<string, unknown>): BodyValidator {
  let fn: (BodyValidator & { errors?: unknown }) | undefined;
  const validate: BodyValidator & { errors?: unknown } = (body) => {
    if (fn === undefined) {
      compile ??= AjvCompiler()({}, { ...AJV_OPTIONS, onCreate: addFormats });
      fn = compile({ schema, method: 'POST', url: '', httpPart: 'body' }) as BodyValidator;
    }
    const ok = fn(body);
    validate.errors = fn.errors;
    return ok;
  };
  return validate;
}

export function bodySchema<T extends z.ZodType>(zod: T): BodySchema<z.infer<T>> {
  const json = jsonSchema(zod);
  const validate = validatorFor(json);
  const invalid = (body: unknown) => invalidBody(zod, body);
  return {
    zod: zod as z.ZodType<z.infer<T>>,
    json,
    validate,
    invalid,
    check(body: unknown): asserts body is z.infer<T> {
      if (!validate(body)) throw invalid(body);
    },
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's body schema (bodyRoute): fastify validates with it, the error handler words its 400. */
    body?: BodySchema;
  }
}

/** The options of a route whose body fastify parses and validates with `body`. */
export function bodyRoute(body: BodySchema): {
  schema: { body: Record<string, unknown> };
  config: { body: BodySchema };
} {
  return { schema: { body: body.json }, config: { body } };
}
