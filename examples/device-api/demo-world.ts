// The data the example starts with when its database is empty: two organizations, three fleets, their
// devices (each with a key), releases and variables, and two people. Keys are random at each start.
import { randomBytes } from 'node:crypto';
import type { World } from './db.js';

const secret = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

export function demoWorld(): World {
  return {
    fleets: [
      { id: 'f-thermo', organization: 'o-acme', name: 'Thermostats' },
      { id: 'f-pumps', organization: 'o-acme', name: 'Pumps' },
      { id: 'f-doors', organization: 'o-globex', name: 'Door locks' },
    ],
    devices: [
      { id: 'd-thermo-1', fleet: 'f-thermo', key: secret('dk') },
      { id: 'd-thermo-2', fleet: 'f-thermo', key: secret('dk') },
      { id: 'd-pumps-1', fleet: 'f-pumps', key: secret('dk') },
      { id: 'd-doors-1', fleet: 'f-doors', key: secret('dk') },
    ],
    releases: [
      { id: 'rel-thermo-1', fleet: 'f-thermo', version: '1.4.0' },
      { id: 'rel-pumps-1', fleet: 'f-pumps', version: '2.0.1' },
      { id: 'rel-doors-1', fleet: 'f-doors', version: '0.9.3' },
    ],
    fleetVariables: [
      { id: 'fv-thermo-1', fleet: 'f-thermo', name: 'TARGET_TEMP', value: '21' },
      { id: 'fv-doors-1', fleet: 'f-doors', name: 'UNLOCK_CODE', value: '4711' },
    ],
    deviceVariables: [
      { id: 'dv-thermo-1', device: 'd-thermo-1', name: 'ROOM', value: 'kitchen' },
      { id: 'dv-thermo-2', device: 'd-thermo-2', name: 'ROOM', value: 'hall' },
    ],
    users: [
      { id: 'alice', token: secret('ut'), roles: { developerOf: ['f-thermo'] } },
      { id: 'olivia', token: secret('ut'), roles: { observerOf: ['f-pumps'] } },
    ],
  };
}
