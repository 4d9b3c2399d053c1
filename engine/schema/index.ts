// The shapes of the decision API: zod schemas only, so a sidecar client loads them without the compiler.
// The file formats' schemas are reached through the tools that read them (entities/, engine/index.ts).
export { AuthorizeRequest, Decision, Entity, PlanRequest, RulesRequest } from './request.js';
export { deepestIssue } from './zod-issues.js';
