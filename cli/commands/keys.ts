import { parseTime } from '../../engine/lang/index.js';
import { checkEntities } from '../../engine/entities/index.js';
import { loadPolicySet } from '../../engine/index.js';
import { helpOf, resolveSetting } from '../../server/config.js';
import { ProvisioningKeyRequest, userEntity, userPath, UsersImport } from '../../server/schemas.js';
import { packScope } from '../../server/store/entity-store.js';
import { PackOwnedError } from '../../server/store/stores.js';
import type { CliCommand } from '../command.js';
import { addDbOption, withStores, type StoreFlags } from '../database-option.js';
import { out, parseOrUsage, readJson, UsageError } from '../io.js';

/** The flag of each field of a provisioning key, so that an invalid value is reported under the flag given. */
const PROVISIONING_FLAGS = {
  fleet: '--fleet',
  organization: '--organization',
  expiresAt: '--expires-at',
  allowedCidrs: '--cidr',
  maxRegistrations: '--max-registrations',
  singleUse: '--single-use',
} satisfies Record<keyof typeof ProvisioningKeyRequest.shape, string>;

export function define(command: CliCommand): void {
  const sub = (name: string, description: string) => addDbOption(command.command(name).description(description));
  sub('create-provisioning', 'create a provisioning key for a fleet; prints { "id", "key" }')
    .requiredOption('--fleet <F>', 'the fleet its devices join')
    .requiredOption('--organization <O>', "the fleet's organization")
    .requiredOption('--expires-at <T>', 'RFC 3339 time after which the key registers nothing')
    .option('--cidr <C>', 'a client address range the key is accepted from (repeat for several)', collect)
    .option('--max-registrations <N>', 'most devices the key registers')
    .option('--single-use', 'the key registers one device')
    .run(createProvisioning);
  sub('list', 'list keys (never a secret)').run((values: StoreFlags) =>
    withStores(values, { create: false }, async ({ keys }) => out(JSON.stringify(await keys.listKeys(), null, 2))),
  );
  sub('revoke', 'revoke a key')
    .argument('<KEY_ID>')
    .run((id: string, values: StoreFlags) =>
      withStores(values, { create: false }, async ({ keys }) => {
        if (!(await keys.revokeKey(id))) throw new UsageError(`no key ${id}`);
        out(JSON.stringify({ id, revoked: true }));
      }),
    );
  sub('delete-device', 'delete a device and its keys')
    .argument('<DEVICE_ID>')
    .run((id: string, values: StoreFlags) =>
      withStores(values, { create: false }, async ({ keys }) => {
        if (!(await keys.deleteDevice(id))) throw new UsageError(`no device ${id}`);
        out(JSON.stringify({ id, deleted: true }));
      }),
    );
  const policies = helpOf('policies');
  sub('import-users', 'load users and their roles, checked against the schema of --policies')
    .argument('<FILE>', 'JSON: { "users": [ { "id", "adminOf"?, "memberOf"?, … } ] }')
    .option(policies.flags, `${policies.description}: the users must match its schema`)
    .run((file: string, values: StoreFlags & { policies?: string }) => {
      const raw = readJson(file);
      const { users } = parseOrUsage(UsersImport, Array.isArray(raw) ? { users: raw } : raw, 'invalid users file');
      // Users are entities: checked against the schema of the policies the sidecars serve.
      const policies = resolveSetting('policies', values.policies, process.env);
      const checked = checkEntities(loadPolicySet(policies).schema, users.map(userEntity));
      const problem = checked.problems[0];
      if (!checked.entities)
        throw new UsageError(`invalid users file: ${userPath(problem!.path).join('.')}: ${problem!.message}`);
      const valid = checked.entities;
      // A user the pack's entities.yaml declares is the file's to change: refused, nothing stored.
      return withStores(values, { create: true, pack: packScope(policies) }, async ({ entities }) => {
        try {
          out(JSON.stringify({ imported: await entities.upsert(valid) }));
        } catch (e) {
          if (e instanceof PackOwnedError) throw new UsageError(e.message);
          throw e;
        }
      });
    });
  sub('create-token', 'issue an API token for an imported user; prints { "id", "token" }')
    .argument('<USER_ID>')
    .run((id: string, values: StoreFlags) =>
      withStores(values, { create: false, lookups: true }, async ({ keys, entities }) => {
        if (!entities.has('user', id)) throw new UsageError(`no user ${id}; import it first`);
        const { id: tokenId, key } = await keys.issue('user', id);
        out(JSON.stringify({ id: tokenId, token: key }));
      }),
    );
}

function createProvisioning(values: {
  db?: string;
  store?: string;
  fleet: string;
  organization: string;
  expiresAt: string;
  cidr?: string[];
  maxRegistrations?: string;
  singleUse?: boolean;
}): Promise<number> {
  const max = values.maxRegistrations;
  const input = parseOrUsage(
    ProvisioningKeyRequest,
    {
      fleet: values.fleet,
      organization: values.organization,
      expiresAt: values.expiresAt,
      allowedCidrs: values.cidr,
      maxRegistrations: max === undefined ? undefined : Number(max),
      singleUse: values.singleUse ?? false,
    },
    'invalid provisioning key',
    (path) => PROVISIONING_FLAGS[path.split('.')[0] as keyof typeof PROVISIONING_FLAGS] ?? path,
  );
  return withStores(values, { create: true }, async ({ keys }) =>
    out(JSON.stringify(await keys.createProvisioningKey({ ...input, expiresAt: parseTime(input.expiresAt)! }))),
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
