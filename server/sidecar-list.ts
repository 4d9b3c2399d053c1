// Which sidecars serve which policy revision: what `GET /v1/admin/sidecars` and `fleetguard sidecars` list.
// On a shared store every sidecar registers there (store/postgres/sidecar-registry.ts); on its own SQLite
// file a sidecar knows only itself.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export interface SidecarInfo {
  id: string;
  host: string;
  /** Where it listens (`host:port` or a socket path). */
  address: string;
  policyRevision: string;
  /** RFC 3339. */
  startedAt: string;
  /** RFC 3339: its last heartbeat (or, for the sidecar answering, now). */
  lastSeen: string;
  /** No heartbeat for longer than the registry's stale limit: stopped without saying so, or cut off. */
  stale: boolean;
}

export interface SidecarList {
  /** Every sidecar known, ordered by id. */
  list(): Promise<SidecarInfo[]>;
}

/** The sidecar's own entry: its id is its host with a random suffix (several share a host, and restart). */
export interface SidecarSelf {
  id: string;
  host: string;
  address: string;
  startedAt: number;
}

export function sidecarSelf(address: string, startedAt = Date.now()): SidecarSelf {
  const host = hostname();
  return { id: `${host}-${randomBytes(3).toString('hex')}`, host, address, startedAt };
}

/** A sidecar on its own store: the list is itself. */
export class LocalSidecarList implements SidecarList {
  constructor(
    private readonly self: SidecarSelf,
    private readonly revision: () => string,
  ) {}

  async list(): Promise<SidecarInfo[]> {
    return [
      {
        id: this.self.id,
        host: this.self.host,
        address: this.self.address,
        policyRevision: this.revision(),
        startedAt: new Date(this.self.startedAt).toISOString(),
        lastSeen: new Date().toISOString(),
        stale: false,
      },
    ];
  }
}
