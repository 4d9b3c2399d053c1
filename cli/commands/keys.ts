import { parseArgs } from 'node:util';
import { parseTime } from '../../engine/lang/values.js';
import { ProvisioningKeyRequest, userEntity, UsersImport } from '../../server/schemas.js';
import { openDatabase } from '../../server/store/database.js';
import { KeyStore } from '../../server/store/key-store.js';
import { EntityStore } from '../../server/store/entity-store.js';
import { EXIT, out, parseOrUsage, readJson, UsageError } from '../io.js';

export const summary =
  'keys <create-provisioning|list|revoke|delete-device|import-users|create-token> [--db FILE] …   manage keys';

const USAGE = `usage:
  fleetguard keys create-provisioning --fleet F --organization O --expires-at T [--cidr C]… [--max-registrations N] [--single-use]
  fleetguard keys list
  fleetguard keys revoke KEY_ID
  fleetguard keys delete-device DEVICE_ID
  fleetguard keys import-users FILE          (JSON: { "users": [ { "id", "adminOf"?, … } ] })
  fleetguard keys create-token USER_ID
  every command takes --db FILE (default FLEETGUARD_DB or data/fleetguard.db)`;

export function run(args: string[]): number {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      db: { type: 'string', default: process.env.FLEETGUARD_DB ?? 'data/fleetguard.db' },
      fleet: { type: 'string' },
      organization: { type: 'string' },
      'expires-at': { type: 'string' },
      cidr: { type: 'string', multiple: true },
      'max-registrations': { type: 'string' },
      'single-use': { type: 'boolean', default: false },
    },
  });
  const db = openDatabase(values.db!);
  const entities = new EntityStore(db, Date.now);
  const keys = new KeyStore(db, Date.now, entities);
  const arg = (what: string) => {
    const v = positionals[0];
    if (!v) throw new UsageError(`missing ${what}\n${USAGE}`);
    return v;
  };
  try {
    switch (sub) {
      case 'create-provisioning': {
        const max = values['max-registrations'];
        const input = parseOrUsage(
          ProvisioningKeyRequest,
          {
            fleet: values.fleet,
            organization: values.organization,
            expiresAt: values['expires-at'],
            allowedCidrs: values.cidr,
            maxRegistrations: max === undefined ? undefined : Number(max),
            singleUse: values['single-use'],
          },
          'invalid provisioning key',
          (path) => `--${path.split('.')[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        );
        out(JSON.stringify(keys.createProvisioningKey({ ...input, expiresAt: parseTime(input.expiresAt)! })));
        return EXIT.ok;
      }
      case 'list':
        out(JSON.stringify(keys.listKeys(), null, 2));
        return EXIT.ok;
      case 'revoke': {
        const id = arg('KEY_ID');
        if (!keys.revokeKey(id)) throw new UsageError(`no key ${id}`);
        out(JSON.stringify({ id, revoked: true }));
        return EXIT.ok;
      }
      case 'delete-device': {
        const id = arg('DEVICE_ID');
        if (!keys.deleteDevice(id)) throw new UsageError(`no device ${id}`);
        out(JSON.stringify({ id, deleted: true }));
        return EXIT.ok;
      }
      case 'import-users': {
        const raw = readJson(arg('FILE'));
        const { users } = parseOrUsage(UsersImport, Array.isArray(raw) ? { users: raw } : raw, 'invalid users file');
        out(JSON.stringify({ imported: entities.upsert(users.map(userEntity)) }));
        return EXIT.ok;
      }
      case 'create-token': {
        const id = arg('USER_ID');
        if (!entities.has('user', id)) throw new UsageError(`no user ${id}; import it first`);
        const { id: tokenId, key } = keys.issue('user', id);
        out(JSON.stringify({ id: tokenId, token: key }));
        return EXIT.ok;
      }
      default:
        throw new UsageError(USAGE);
    }
  } finally {
    db.close();
  }
}
