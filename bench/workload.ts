// The 1M-device workload: 10,000 fleets × 100 devices in 1,000 organizations, 1,000 users with random
// roles, provisioning keys, support agents and services, and a seeded stream of requests of which about
// half are allowed (cross-fleet attempts included).
import type { AuthorizeRequest, Decision, Entity } from '../engine/index.js';
import { seededRandom } from '../engine/verify/seeded-random.js';

export const FLEETS = 10_000;
export const DEVICES_PER_FLEET = 100;
export const ORGS = 1_000;
export const USERS = 1_000;
export const NOW = Date.parse('2026-06-01T00:00:00Z');

const ACTIONS = ['read', 'create', 'update', 'delete', 'register', 'ssh', 'reboot', 'manage_members'];
const SCOPED = ['device', 'device_variable', 'fleet_variable', 'release', 'build_log', 'image', 'provisioning_key'];

export function generateRequests(count: number, seed = 42): AuthorizeRequest[] {
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  const orgOf = (fleet: number) => `o-${fleet % ORGS}`;
  const iso = (ms: number) => new Date(ms).toISOString();

  const users: Entity[] = Array.from({ length: USERS }, (_, i) => {
    const fleets = () => Array.from({ length: int(4) }, () => `f-${int(FLEETS)}`);
    return {
      type: 'user',
      id: `u-${i}`,
      attributes: {
        adminOf: rand() < 0.1 ? [`o-${int(ORGS)}`] : [],
        memberOf: [`o-${int(ORGS)}`],
        developerOf: fleets(),
        operatorOf: fleets(),
        observerOf: fleets(),
      },
    };
  });
  // Fleets a user has some role in, to aim half of the user requests at them.
  const ownFleets = users.map((u) => {
    const a = u.attributes as Record<string, string[]>;
    return [...a.developerOf!, ...a.operatorOf!, ...a.observerOf!].map((f) => Number(f.slice(2)));
  });

  const resource = (type: string, fleet: number, id?: string): Entity => {
    if (type === 'organization') return { type, id: orgOf(fleet) };
    if (type === 'fleet')
      return {
        type,
        id: `f-${fleet}`,
        attributes: { organization: orgOf(fleet), supportAccessUntil: iso(NOW + (rand() < 0.5 ? 1 : -1) * 3_600_000) },
      };
    const attributes: Record<string, unknown> = { fleet: `f-${fleet}`, organization: orgOf(fleet) };
    if (type === 'device_variable') attributes.device = `d-${fleet}-${int(DEVICES_PER_FLEET)}`;
    return { type, id: id ?? `${type}-${int(1_000_000)}`, attributes };
  };

  const out: AuthorizeRequest[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rand();
    if (roll < 0.5) {
      // A device: its own device and fleet content half of the time, another fleet's otherwise.
      const fleet = int(FLEETS);
      const n = int(DEVICES_PER_FLEET);
      const principal: Entity = {
        type: 'device',
        id: `d-${fleet}-${n}`,
        attributes: { fleet: `f-${fleet}`, organization: orgOf(fleet) },
      };
      const own = rand() < 0.75;
      const target = own ? fleet : int(FLEETS);
      const type = pick(['device', 'fleet', 'device_variable', 'fleet_variable', 'release', 'image', 'build_log']);
      const res = type === 'device' && own ? resource('device', fleet, principal.id) : resource(type, target);
      if (type === 'device_variable' && own) (res.attributes as Record<string, unknown>).device = principal.id;
      out.push({ principal, action: rand() < 0.8 ? 'read' : pick(ACTIONS), resource: res, context: {} });
    } else if (roll < 0.85) {
      const u = int(USERS);
      const mine = ownFleets[u]!;
      const fleet = mine.length > 0 && rand() < 0.75 ? pick(mine) : int(FLEETS);
      out.push({
        principal: users[u]!,
        action: rand() < 0.7 ? 'read' : pick(ACTIONS),
        resource: resource(pick(['fleet', ...SCOPED]), fleet),
        context: { mfa: rand() < 0.5 },
      });
    } else if (roll < 0.95) {
      const fleet = int(FLEETS);
      const principal: Entity = {
        type: 'provisioning_key',
        id: `pk-${fleet}`,
        attributes: {
          fleet: `f-${fleet}`,
          organization: orgOf(fleet),
          expiresAt: iso(NOW + (rand() < 0.8 ? 1 : -1) * 86_400_000),
          allowedCidrs: rand() < 0.5 ? [] : ['10.0.0.0/8'],
          maxRegistrations: 100,
          registrations: int(120),
          revoked: rand() < 0.1,
        },
      };
      out.push({
        principal,
        action: rand() < 0.8 ? 'register' : pick(ACTIONS),
        resource: resource('fleet', rand() < 0.8 ? fleet : int(FLEETS)),
        context: { ip: rand() < 0.7 ? '10.1.2.3' : '192.0.2.1' },
      });
    } else {
      const principal: Entity =
        rand() < 0.5
          ? { type: 'support_agent', id: `s-${int(10)}` }
          : { type: 'service', id: 'svc', attributes: { name: rand() < 0.7 ? 'builder' : 'metrics' } };
      out.push({
        principal,
        action: pick(['read', 'create', 'update', 'ssh']),
        resource: resource(pick(['fleet', 'device', 'release', 'image', 'build_log']), int(FLEETS)),
        context: {},
      });
    }
  }
  return out;
}

/** The shipped rules written by hand as one JavaScript function: the speed of light for this workload. */
export function handWritten(req: AuthorizeRequest, now: number): boolean {
  const p = req.principal;
  const r = req.resource;
  const pa = (p.attributes ?? {}) as Record<string, any>;
  const ra = (r.attributes ?? {}) as Record<string, any>;
  const ctx = (req.context ?? {}) as Record<string, any>;
  const a = req.action;
  const time = ctx.time === undefined ? now : Date.parse(ctx.time);
  switch (p.type) {
    case 'device':
      if (r.type === 'device') return (a === 'read' || a === 'update') && r.id === p.id && ra.fleet === pa.fleet;
      if (a !== 'read') return false;
      if (r.type === 'fleet') return r.id === pa.fleet;
      if (r.type === 'device_variable') return ra.device === p.id && ra.fleet === pa.fleet;
      return (
        (r.type === 'fleet_variable' || r.type === 'release' || r.type === 'build_log' || r.type === 'image') &&
        ra.fleet === pa.fleet
      );
    case 'provisioning_key': {
      if (a !== 'register' || r.type !== 'fleet' || r.id !== pa.fleet || pa.revoked !== false) return false;
      if (!(time < Date.parse(pa.expiresAt))) return false;
      if (pa.allowedCidrs.length > 0 && !(typeof ctx.ip === 'string' && ctx.ip.startsWith('10.'))) return false; // the workload only uses 10.0.0.0/8
      return pa.maxRegistrations === undefined || pa.registrations < pa.maxRegistrations;
    }
    case 'user': {
      const mfa = ctx.mfa === true;
      if (a === 'delete' && (r.type === 'fleet' || r.type === 'organization') && !mfa) return false;
      if (a === 'manage_members' && !mfa) return false;
      if (r.type === 'image' && (a === 'create' || a === 'update')) return false;
      if (r.type === 'organization') return pa.adminOf.includes(r.id) || (a === 'read' && pa.memberOf.includes(r.id));
      if (pa.adminOf.includes(ra.organization)) return true;
      const fleet = r.type === 'fleet' ? r.id : ra.fleet;
      const dev = pa.developerOf.includes(fleet);
      const op = pa.operatorOf.includes(fleet);
      const obs = pa.observerOf.includes(fleet);
      switch (r.type) {
        case 'fleet':
          return a === 'read' && (dev || op || obs);
        case 'device':
          return (
            (dev && ['read', 'create', 'update', 'delete', 'ssh', 'reboot'].includes(a)) ||
            (op && ['read', 'update', 'ssh', 'reboot'].includes(a)) ||
            (obs && a === 'read')
          );
        case 'device_variable':
        case 'fleet_variable':
          return (dev || op) && ['read', 'create', 'update', 'delete'].includes(a);
        case 'release':
          return (dev && ['read', 'create', 'update', 'delete'].includes(a)) || ((op || obs) && a === 'read');
        case 'build_log':
          return a === 'read' && (dev || op || obs);
        case 'image':
          return a === 'read' && (dev || op);
        case 'provisioning_key':
          return a === 'create' && (dev || op);
        default:
          return false;
      }
    }
    case 'support_agent': {
      if (!['fleet', 'device', 'release', 'build_log'].includes(r.type)) return false;
      if (!(a === 'read' || (a === 'ssh' && r.type === 'device'))) return false;
      return ra.supportAccessUntil !== undefined && time < Date.parse(ra.supportAccessUntil);
    }
    case 'service':
      if (pa.name !== 'builder') return false;
      return (
        ((a === 'create' || a === 'update') && (r.type === 'image' || r.type === 'release')) ||
        (a === 'read' && r.type === 'build_log')
      );
    default:
      return false;
  }
}

/**
 * The i-th decision of a decision log like a sidecar's (random devices of a 1M-device fleet, half allowed),
 * for the log and store benches: the decision, its request, its time from the log's start and its latency.
 */
export function logWorkloadDecision(
  i: number,
  decisionId: string,
): { decision: Decision; request: AuthorizeRequest; offsetMs: number; latencyUs: number } {
  const device = `d-${(i * 7919) % 1_000_000}`;
  const request: AuthorizeRequest = {
    principal: { type: 'device', id: device },
    action: i % 3 ? 'read' : 'update',
    resource: { type: 'device', id: i % 2 ? device : `d-${(i * 104729) % 1_000_000}` },
  };
  const allowed = i % 2 === 1;
  const decision: Decision = {
    allowed,
    decision: allowed ? 'allow' : 'deny',
    decisionId,
    matched: allowed ? [{ policy: 'devices.yaml', rule: 'device-reads-self', effect: 'allow' }] : [],
    policyRevision: 'sha256:0123456789abcdef',
  };
  return { decision, request, offsetMs: Math.floor(i / 40), latencyUs: 3 + ((i * 37) % 1000) / 100 };
}
