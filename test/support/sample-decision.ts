// One request and a deny decision for it, for the tests of what stores decisions (the log, beside it).
import type { AuthorizeRequest, Decision } from '../../engine/index.js';

export const sampleRequest: AuthorizeRequest = {
  principal: { type: 'device', id: 'd-1' },
  action: 'read',
  resource: { type: 'fleet', id: 'f-1' },
};

/** A deny of `sampleRequest` with the decision id `id`. */
export const denyDecision = (id: string): Decision => ({
  decision: 'deny',
  allowed: false,
  decisionId: id,
  policyRevision: 'sha256:x',
  matched: [],
});
