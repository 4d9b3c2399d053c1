// The example service's own data: fleets, devices, releases and variables in SQLite, and the credentials
// it accepts (device keys and user tokens, stored as hashes). Fleetguard holds none of this: the service
// looks rows up, hands Fleetguard their attributes, and filters lists with the plans it gets back.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { Entity } from '../../client/client.js';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fleets (id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, fleet_id TEXT NOT NULL REFERENCES fleets(id), organization_id TEXT NOT NULL,
  name TEXT NOT NULL, key_hash TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, fleet_id TEXT NOT NULL REFERENCES fleets(id), organization_id TEXT NOT NULL,
  version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fleet_variables (
  id TEXT PRIMARY KEY, fleet_id TEXT NOT NULL REFERENCES fleets(id), organization_id TEXT NOT NULL,
  name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_variables (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  fleet_id TEXT NOT NULL, organization_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL, roles TEXT NOT NULL);
`;

export function openDb(file = ':memory:'): Db {
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  return db;
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * Each resource type: its table and, for Fleetguard's plans, the column of each attribute (the plan's
 * WHERE clause names these columns).
 */
export const TABLES = {
  fleet: { table: 'fleets', columns: { id: 'id', organization: 'organization_id' } },
  device: { table: 'devices', columns: { id: 'id', fleet: 'fleet_id', organization: 'organization_id' } },
  release: { table: 'releases', columns: { id: 'id', fleet: 'fleet_id', organization: 'organization_id' } },
  fleet_variable: {
    table: 'fleet_variables',
    columns: { id: 'id', fleet: 'fleet_id', organization: 'organization_id' },
  },
  device_variable: {
    table: 'device_variables',
    columns: { id: 'id', device: 'device_id', fleet: 'fleet_id', organization: 'organization_id' },
  },
} as const;
export type ResourceType = keyof typeof TABLES;

/** The columns a list answers with (never a secret). */
const PUBLIC_COLUMNS: Record<ResourceType, string> = {
  fleet: 'id, organization_id AS organization, name',
  device: 'id, fleet_id AS fleet, organization_id AS organization, name',
  release: 'id, fleet_id AS fleet, organization_id AS organization, version',
  fleet_variable: 'id, fleet_id AS fleet, organization_id AS organization, name, value',
  device_variable: 'id, device_id AS device, fleet_id AS fleet, organization_id AS organization, name, value',
};

export type Row = Record<string, string>;

export function findRow(db: Db, type: ResourceType, id: string): Row | undefined {
  return db.prepare(`SELECT ${PUBLIC_COLUMNS[type]} FROM ${TABLES[type].table} WHERE id = ?`).get(id) as
    | Row
    | undefined;
}

/** A row as the resource Fleetguard decides on: its type, id and the attributes the schema declares. */
export function entityOf(type: ResourceType, row: Row): Entity {
  const attributes: Record<string, string> = {};
  for (const attribute of Object.keys(TABLES[type].columns))
    if (attribute !== 'id') attributes[attribute] = row[attribute]!;
  return { type, id: row.id!, attributes };
}

/** The rows of a type that `where` (a plan's clause over TABLES' columns) admits, with an optional fleet filter. */
export function listRows(
  db: Db,
  type: ResourceType,
  where: { where: string; params: (string | number)[] },
  fleet?: string,
): Row[] {
  const byFleet = fleet !== undefined && 'fleet' in TABLES[type].columns;
  const sql = `SELECT ${PUBLIC_COLUMNS[type]} FROM ${TABLES[type].table} WHERE (${where.where})${
    byFleet ? ' AND fleet_id = ?' : type === 'fleet' && fleet !== undefined ? ' AND id = ?' : ''
  } ORDER BY id`;
  return db.prepare(sql).all(...where.params, ...(fleet === undefined ? [] : [fleet])) as Row[];
}

export type Roles = {
  adminOf?: string[];
  memberOf?: string[];
  developerOf?: string[];
  operatorOf?: string[];
  observerOf?: string[];
};

/** The principal a bearer secret stands for: a device by its key, a user by its token; undefined if neither. */
export function principalFor(db: Db, secret: string): Entity | undefined {
  const hash = hashSecret(secret);
  const device = db.prepare('SELECT id, fleet_id, organization_id FROM devices WHERE key_hash = ?').get(hash) as
    | { id: string; fleet_id: string; organization_id: string }
    | undefined;
  if (device)
    return {
      type: 'device',
      id: device.id,
      attributes: { fleet: device.fleet_id, organization: device.organization_id },
    };
  const user = db.prepare('SELECT id, roles FROM users WHERE token_hash = ?').get(hash) as
    | { id: string; roles: string }
    | undefined;
  return user ? { type: 'user', id: user.id, attributes: JSON.parse(user.roles) as Roles } : undefined;
}

export interface World {
  fleets: { id: string; organization: string; name?: string }[];
  devices: { id: string; fleet: string; key?: string; name?: string }[];
  releases: { id: string; fleet: string; version?: string }[];
  fleetVariables: { id: string; fleet: string; name?: string; value?: string }[];
  deviceVariables: { id: string; device: string; name?: string; value?: string }[];
  users?: { id: string; token: string; roles: Roles }[];
}

/** Replaces every row with `world` (organizations follow from the fleets). */
export function loadWorld(db: Db, world: World): void {
  const orgOf = new Map(world.fleets.map((f) => [f.id, f.organization]));
  const fleetOf = new Map(world.devices.map((d) => [d.id, d.fleet]));
  db.transaction(() => {
    for (const table of ['device_variables', 'fleet_variables', 'releases', 'devices', 'fleets', 'users'])
      db.prepare(`DELETE FROM ${table}`).run();
    const fleet = db.prepare('INSERT INTO fleets VALUES (?, ?, ?)');
    for (const f of world.fleets) fleet.run(f.id, f.organization, f.name ?? f.id);
    const device = db.prepare('INSERT INTO devices VALUES (?, ?, ?, ?, ?)');
    for (const d of world.devices)
      device.run(d.id, d.fleet, orgOf.get(d.fleet), d.name ?? d.id, d.key === undefined ? null : hashSecret(d.key));
    const release = db.prepare('INSERT INTO releases VALUES (?, ?, ?, ?)');
    for (const r of world.releases) release.run(r.id, r.fleet, orgOf.get(r.fleet), r.version ?? '1.0.0');
    const fleetVariable = db.prepare('INSERT INTO fleet_variables VALUES (?, ?, ?, ?, ?)');
    for (const v of world.fleetVariables)
      fleetVariable.run(v.id, v.fleet, orgOf.get(v.fleet), v.name ?? 'NAME', v.value ?? 'value');
    const deviceVariable = db.prepare('INSERT INTO device_variables VALUES (?, ?, ?, ?, ?, ?)');
    for (const v of world.deviceVariables) {
      const f = fleetOf.get(v.device)!;
      deviceVariable.run(v.id, v.device, f, orgOf.get(f), v.name ?? 'NAME', v.value ?? 'value');
    }
    const user = db.prepare('INSERT INTO users VALUES (?, ?, ?)');
    for (const u of world.users ?? []) user.run(u.id, hashSecret(u.token), JSON.stringify(u.roles));
  })();
}
