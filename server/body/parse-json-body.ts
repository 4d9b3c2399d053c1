// The JSON parser of every route: fastify's default parser (same results, same errors, but for a clearer
// one on prototype poisoning), minus two regular expressions over every body, and with a bound on
// nesting. The batch route and the decision threads call it on the text themselves (decide-batch.ts).
// It does not import fastify, which a decision thread would otherwise load only for two error messages.
import secureJson from 'secure-json-parse';
import { HttpError } from '../errors.js';

/**
 * secure-json-parse looks for `__proto__` and `constructor` keys, written plainly or with `\u` escapes,
 * with two regular expressions over the whole text. A text without a BOM and without a backslash can
 * only hold the plain forms, which one expression finds in one pass, a third of the cost; when it finds
 * neither, secure-json-parse would return `JSON.parse(text)`. (`includes` searches for the same words
 * are slower still: V8 searches long patterns byte by byte. Figures: bench/README.md.)
 */
const PLAIN_KEYS = /"(?:__proto__|constructor)"\s*:/;
function plain(text: string): boolean {
  return text.charCodeAt(0) !== 0xfeff && text.indexOf('\\') === -1 && !PLAIN_KEYS.test(text);
}

/** fastify's two errors of its JSON parser (FST_ERR_CTP_EMPTY_JSON_BODY, FST_ERR_CTP_INVALID_JSON_BODY), as answered. */
const EMPTY = "the body is not valid JSON: Body cannot be empty when content-type is set to 'application/json'";
const INVALID = "the body is not valid JSON: Body is not valid JSON but content-type is set to 'application/json'";

/** secure-json-parse's error for both refused keys. */
const POISONED = 'Object contains forbidden prototype property';

/** How deep objects and arrays may nest in a body (the body itself is level 1). */
export const MAX_BODY_DEPTH = 400;

/**
 * Whether `value`, a container at level `level`, holds containers deeper than MAX_BODY_DEPTH. JSON.parse
 * takes any depth, but what walks a value recursively (JSON.stringify for the decision log and the
 * stores, pino) overflows the stack a few thousand levels down, after the decision was made. The walk
 * recurses at most MAX_BODY_DEPTH frames, so it cannot overflow itself; it only looks at containers,
 * which is cheaper than scanning the text and stepping over every string (bench/README.md).
 */
function nestsTooDeep(value: object, level: number): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null && (level === MAX_BODY_DEPTH || nestsTooDeep(v, level + 1))) return true;
    }
    return false;
  }
  for (const key in value) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' && v !== null && (level === MAX_BODY_DEPTH || nestsTooDeep(v, level + 1))) return true;
  }
  return false;
}

/**
 * fastify's default JSON parser: fastify's own errors for malformed and empty bodies; a prototype
 * poisoning key refused with its own message; nesting deeper than MAX_BODY_DEPTH refused (a text
 * shorter than twice the bound cannot nest that deep, and is not walked).
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new HttpError('invalid_json', EMPTY);
  let value: unknown;
  try {
    value = plain(text)
      ? JSON.parse(text)
      : secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    if ((e as Error).message === POISONED) {
      throw new HttpError(
        'invalid_request',
        'a "__proto__" key, or a "constructor" key holding "prototype", is refused anywhere in the body (prototype poisoning)',
      );
    }
    throw new HttpError('invalid_json', INVALID);
  }
  if (text.length > 2 * MAX_BODY_DEPTH && typeof value === 'object' && value !== null && nestsTooDeep(value, 1)) {
    throw new HttpError('invalid_request', `the body nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return value;
}
