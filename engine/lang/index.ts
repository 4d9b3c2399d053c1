// The condition language's values as the edges meet them: times and address ranges in the caller's
// strings, and the attribute definitions a schema declares.
export { parseCidr, parseTime } from './values.js';
export type { AttributeDef, EntityTypeDef } from './ir.js';
export type { ValueType } from './types.js';
