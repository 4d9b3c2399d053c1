// The sidecar's settings come from one table: the README's table, the flags, the variables and the messages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  envOf,
  flagOf,
  renderSettingsTable,
  resolveConfig,
  SETTINGS,
  SettingError,
  type SettingName,
} from '../../server/config.js';
import { fleetguard } from '../support/cli.js';
import { REPO_DIR } from '../support/policies.js';

const NAMES = Object.keys(SETTINGS) as SettingName[];

describe('settings', () => {
  it("the README's settings table is the one the definitions render", () => {
    const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
    const start = readme.indexOf('| setting | flag | environment | default |');
    expect(start).toBeGreaterThan(0);
    const table = readme.slice(start, readme.indexOf('\n\n', start));
    expect(table, `paste this into README.md:\n${renderSettingsTable()}`).toBe(renderSettingsTable());
  });

  it('every setting is a flag of `fleetguard serve --help`, with its variable', () => {
    const help = fleetguard(['serve', '--help']);
    expect(help.status).toBe(0);
    for (const name of NAMES) {
      expect(help.stdout).toContain(flagOf(name));
      expect(help.stdout.replace(/\s+/g, ' ')).toContain(envOf(name));
    }
  });

  it('flags win over variables, which win over the defaults', () => {
    expect(resolveConfig({}, {}).port).toBe(8181);
    expect(resolveConfig({}, { FLEETGUARD_PORT: '9000' }).port).toBe(9000);
    expect(resolveConfig({ port: '9001' }, { FLEETGUARD_PORT: '9000' }).port).toBe(9001);
    expect(resolveConfig({}, { FLEETGUARD_BODY_LIMIT: '2048' }).bodyLimit).toBe(2048);
    expect(resolveConfig({}, { FLEETGUARD_LOG_BLOCK_ROWS: '10' }).logBlockRows).toBe(10);
    expect(resolveConfig({ watch: false }, { FLEETGUARD_WATCH: 'true' }).watch).toBe(false);
    expect(resolveConfig({}, { FLEETGUARD_WATCH: 'off' }).watch).toBe(false);
    expect(resolveConfig({}, { FLEETGUARD_LOG_REQUESTS: 'yes' }).logRequests).toBe(true);
    expect(resolveConfig({}, { FLEETGUARD_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
    ]);
    expect(resolveConfig({}, { FLEETGUARD_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(resolveConfig({}, { FLEETGUARD_TRUST_PROXY: 'TRUE' }).trustProxy).toBe(true);
    expect(resolveConfig({ trustProxy: 'loopback,::1' }, {}).trustProxy).toEqual(['loopback', '::1']);
    expect(() => resolveConfig({ trustProxy: '10.0.0.1,proxy.local' }, {})).toThrow(
      'invalid --trust-proxy "10.0.0.1,proxy.local" (FLEETGUARD_TRUST_PROXY): not an address or CIDR range',
    );
  });

  it('every variable is read: a value no setting accepts is reported under its own flag and variable', () => {
    for (const name of NAMES) {
      const anyText: SettingName[] = ['host', 'policies', 'shadowPolicies', 'db', 'socket', 'adminTokenFile'];
      if (anyText.includes(name)) continue; // any text is a host or a path
      const env = { [envOf(name)]: 'not-a-value' };
      expect(() => resolveConfig({}, env), name).toThrow(SettingError);
      expect(() => resolveConfig({}, env), name).toThrow(`invalid ${envOf(name)}`);
      expect(() => resolveConfig({}, env), name).toThrow(`(flag ${flagOf(name)})`);
      // A secret's value (a token, a store URL with its password) is never echoed.
      if (!('secret' in SETTINGS[name]))
        expect(() => resolveConfig({ [name]: 'not-a-value' }, {}), name).toThrow(
          `invalid ${flagOf(name)} "not-a-value" (${envOf(name)})`,
        );
    }
  });
});
