// One command runs the example service, against a sidecar or with the engine in process:
//   npm run example:device-api -- --embedded [DIR]          (DIR: a policy directory, default ./policies)
//   npm run example:device-api -- --sidecar http://127.0.0.1:8181
// Options: --port (default 3000), --host (default 127.0.0.1), --db FILE (default in memory). An empty
// database is filled with demo data, and the credentials it was given are printed.
import { parseArgs } from 'node:util';
import { createClient } from '../../client/client.js';
import { buildDeviceApi } from './app.js';
import { loadWorld, openDb } from './db.js';
import { demoWorld } from './demo-world.js';

const USAGE = 'usage: device-api (--embedded [DIR] | --sidecar URL) [--port N] [--host H] [--db FILE]';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      embedded: { type: 'boolean' },
      sidecar: { type: 'string' },
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      db: { type: 'string', default: ':memory:' },
    },
    allowPositionals: true,
  });
  if (Boolean(values.embedded) === (values.sidecar !== undefined) || positionals.length > (values.embedded ? 1 : 0)) {
    console.error(USAGE);
    process.exit(2);
  }
  const client = values.sidecar
    ? createClient({ url: values.sidecar })
    : createClient({ policies: positionals[0] ?? 'policies', watch: true });
  try {
    await client.ready();
  } catch (e) {
    console.error(`Fleetguard is not ready: ${(e as Error).message}`);
    process.exit(1);
  }

  const db = openDb(values.db);
  const empty = (db.prepare('SELECT count(*) AS n FROM fleets').get() as { n: number }).n === 0;
  const world = empty ? demoWorld() : undefined;
  if (world) loadWorld(db, world);

  const { app } = await buildDeviceApi(db, client);
  const address = await app.listen({ port: Number(values.port), host: values.host });
  console.log(
    `device-api listening on ${address}, deciding ${client.mode === 'http' ? `with ${values.sidecar}` : 'in process'}`,
  );
  if (world) {
    console.log('credentials (Authorization: Bearer …):');
    for (const d of world.devices) console.log(`  device ${d.id} (${d.fleet}): ${d.key}`);
    for (const u of world.users ?? []) console.log(`  user ${u.id} ${JSON.stringify(u.roles)}: ${u.token}`);
    const [device] = world.devices;
    console.log(`try: curl -s ${address}/releases -H 'authorization: Bearer ${device!.key}'`);
  }
  const stop = async () => {
    await app.close();
    await client.close();
    db.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
