// The one place a decision is made for HTTP. Every route that decides (/v1/authorize and its batch, the
// AuthZEN evaluation, evaluations and searches, /v1/provision) calls this service and only translates
// its wire format to and from it. The service takes the engine being served (one revision for all of a
// request's decisions), resolves the principal (inline, or by key from the key store), completes
// entities from the store where the route's contract says so, checks names, decides, times, and hands
// each decision to the recorders (recorders.ts: the decision log, the metrics, and whatever else must
// see every decision).
//
// Latency means one thing everywhere: the time from the service taking the request, its principal not
// yet resolved, to its decision; neither the body's parsing nor writing the answer, nor a wait that is
// the store's (provisioning reads its key under the store's lock: its span starts when the store hands
// the key's principal over). A batch is timed as a whole and each of its decisions is logged with an
// equal share.
import type { AuthorizeRequest, Decision, Engine } from '../../engine/index.js';
import { BatchRequest, type HttpAuthorizeRequest } from '../../api/authorize.js';
import { bodySchema, type BodySchema } from '../body/body-schema.js';
import type { PolicyHolder } from '../plugins/policy-holder.js';
import { keyIdOf } from '../store/key-store.js';
import type { EntityStore, KeyStore } from '../store/stores.js';
import { decideBatch, type BatchObserver } from './decide-batch.js';
import type { DecisionPool } from './decision-pool.js';
import type { DecisionRecorder } from './recorders.js';
import { Denied, Refused, resolvePrincipal } from './resolve-principal.js';

export interface DecisionServiceDeps {
  policies: PolicyHolder;
  keys: KeyStore;
  entities: EntityStore;
  /** Every decision goes to each, in order. */
  recorders: readonly DecisionRecorder[];
  /** Decision threads for batches; without them (or none free) this thread decides, the same code. */
  pool?: DecisionPool | undefined;
  clock: () => number;
  /** The clock decisions are timed with, in milliseconds (performance.now; a test steps its own). */
  now?: (() => number) | undefined;
  logRequests: boolean;
  /** Most requests in one batch. */
  batchLimit: number;
  /** Shadow evaluation: batches decided on this thread are handed to it (decide-batch.ts `observe`). */
  shadow?: { readonly active: boolean; readonly observeBatch: BatchObserver } | undefined;
}

/** How a registration ended; every outcome but `invalid` is the policy's decision on the key's fleet. */
export type Registration =
  | {
      outcome: 'created';
      decision: Decision;
      device: { id: string; fleet: string; organization: string };
      deviceKey: string;
    }
  | { outcome: 'conflict'; decision: Decision }
  /** Denied by the policy, or allowed for an id another fleet's device holds (the refusal says which). */
  | { outcome: 'denied'; decision: Decision }
  /** The key was deleted between its check and the registration. */
  | { outcome: 'invalid'; decision: Decision };

export const PROVISIONING_DENIED = 'provisioning was denied';

export class DecisionService {
  /** The batch body's schema, as the decision threads compile it too. */
  readonly batchBody: BodySchema;
  private readonly recorders: readonly DecisionRecorder[];
  private readonly now: () => number;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.batchBody = bodySchema(BatchRequest(deps.batchLimit));
    this.recorders = deps.recorders;
    this.now = deps.now ?? performance.now.bind(performance);
  }

  /** The engine a request is decided with, all of it: a 503 when no policy set is loaded. */
  serving(): Engine {
    return this.deps.policies.serving();
  }

  /** Hands one decision, timed from `started`, to every recorder. */
  private record(request: AuthorizeRequest, decision: Decision, started: number): void {
    const latencyUs = (this.now() - started) * 1000;
    const recorders = this.recorders;
    for (let i = 0; i < recorders.length; i++) recorders[i]!.decided(request, decision, latencyUs);
  }

  /**
   * One request of the decision API: the principal inline or by key; a name the schema does not declare
   * is a 400 (thrown, and logged when the request presented a key); a bad key is a deny.
   */
  authorize(item: HttpAuthorizeRequest): Decision {
    const started = this.now();
    const engine = this.deps.policies.serving();
    const resolved = resolvePrincipal(engine, this.deps.keys, item, undefined);
    if (resolved instanceof Refused) {
      if (resolved.logged) this.record(resolved.logged.request, resolved.logged.decision, started);
      throw resolved.error;
    }
    if (resolved instanceof Denied) {
      this.record(resolved.request, resolved.decision, started);
      return resolved.decision;
    }
    const decision = engine.authorize(resolved);
    this.record(resolved, decision, started);
    return decision;
  }

  /**
   * A batch of the decision API from its body's text to the response's: on a decision thread holding the
   * revision served when one is free, else here, by the same code (decide-batch.ts). Its 400s are thrown.
   */
  async authorizeBatch(text: string): Promise<string> {
    const engine = this.deps.policies.serving();
    const pooled = this.deps.pool?.run(text, engine.revision);
    const decided =
      (pooled && (await pooled)) ??
      decideBatch(text, {
        engine,
        body: this.batchBody,
        keys: this.deps.keys,
        clock: this.deps.clock,
        now: this.now,
        logRequests: this.deps.logRequests,
        observe: this.deps.shadow?.active ? this.deps.shadow.observeBatch : undefined,
      });
    if ('refused' in decided) {
      const { refused, latencyUs } = decided;
      if (refused.logged)
        for (const r of this.recorders) r.decided(refused.logged.request, refused.logged.decision, latencyUs);
      throw refused.error;
    }
    for (const r of this.recorders) r.decidedRows(decided.log);
    return decided.json;
  }

  /** Called once a request, before its lookups: the entity store sees what changed since. */
  refreshEntities(): void {
    this.deps.entities.refresh();
  }

  /** A stored entity's attributes (the store's, or the key store's devices, provisioning keys and users). */
  readonly storedAttributes = (type: string, id: string): Record<string, unknown> | undefined =>
    this.deps.entities.attributes(type, id) as Record<string, unknown> | undefined;

  /**
   * A request whose entities are completed from the store (AuthZEN): `ask` builds it, reading the store
   * through `storedAttributes`, inside the span. Every name is decided, an unknown one a deny that names
   * it (AuthZEN answers each evaluation with a decision).
   */
  decideCompleted(engine: Engine, ask: () => AuthorizeRequest): Decision {
    const started = this.now();
    const request = ask();
    const decision = engine.authorize(request);
    this.record(request, decision, started);
    return decision;
  }

  /**
   * Checks a provisioning key's secret before anything counts against the key: its subject, or the deny
   * logged for an invalid key (as `credential` with the key id, never the secret).
   */
  checkProvisioningKey(
    engine: Engine,
    secret: string,
    context: Record<string, unknown>,
  ): { subject: string } | { invalid: Decision } {
    const started = this.now();
    const key = this.deps.keys.verify(secret);
    if (key?.kind === 'provisioning_key') return { subject: key.subject };
    return { invalid: this.invalidKey(engine, secret, context, started) };
  }

  private invalidKey(engine: Engine, secret: string, context: Record<string, unknown>, started: number): Decision {
    const decision = engine.reject(PROVISIONING_DENIED, {
      code: 'invalid-credential',
      message: 'the provisioning key is not valid',
    });
    const request = {
      principal: { type: 'credential', id: keyIdOf(secret) ?? '-' },
      action: 'register',
      resource: { type: 'fleet', id: '-' },
      context,
    };
    this.record(request, decision, started);
    return decision;
  }

  /**
   * Registers `deviceId` with the provisioning key `subject` stands for: the policy decides `register` on
   * the key's fleet with the key's attributes, read under the store's lock, and the decision, the device,
   * its key and the key's new count are one store operation (KeyStore.provision).
   */
  async register(
    engine: Engine,
    secret: string,
    subject: string,
    deviceId: string,
    metadata: Record<string, unknown> | undefined,
    context: Record<string, unknown>,
  ): Promise<Registration> {
    const called = this.now();
    let asked: AuthorizeRequest | undefined;
    let latencyUs = 0;
    const result = await this.deps.keys.provision(subject, deviceId, metadata, (principal) => {
      // The span ends with the decision, inside the store's operation: the writes after it are the store's.
      const started = this.now();
      const { fleet, organization } = principal.attributes as { fleet: string; organization: string };
      asked = {
        principal,
        action: 'register',
        resource: { type: 'fleet', id: fleet, attributes: { organization } },
        context,
      };
      const decision = engine.authorize(asked);
      latencyUs = (this.now() - started) * 1000;
      return decision;
    });
    if (!result.decision || !asked)
      return { outcome: 'invalid', decision: this.invalidKey(engine, secret, context, called) };
    let registration: Registration;
    if (result.outcome === 'taken') {
      // The policy allowed it, but the id belongs to a device of another fleet: saying so would tell any
      // key holder which device ids exist in other organizations.
      const refusal = engine.reject(PROVISIONING_DENIED, {
        code: 'device-id-taken',
        message: `device id ${deviceId} belongs to another fleet`,
      });
      registration = { outcome: 'denied', decision: refusal };
    } else {
      registration = result as Registration;
    }
    for (const r of this.recorders) r.decided(asked, registration.decision, latencyUs);
    return registration;
  }
}
