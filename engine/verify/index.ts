// Invariants proved, violated or unknown over every request, not only the tested ones.
export { verifyInvariants, type VerifyOptions, type VerifyResult, type VerifyStatus } from './verify-invariants.js';
