// The shadow's Prometheus series, read when Prometheus scrapes (counted in plain integers meanwhile).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Shadow } from './shadow.js';
import type { ShadowStore } from './shadow-store.js';

export function registerShadowMetrics(registry: Registry, shadow: Shadow, store: ShadowStore): void {
  new Counter({
    name: 'fleetguard_shadow_disagreements_total',
    help: 'Decisions the shadow candidate makes otherwise: widened (it allows what is denied) or narrowed, by principal type (one the live or candidate schema declares, else unknown).',
    labelNames: ['direction', 'principal_type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of shadow.series()) this.inc({ direction: s.direction, principal_type: s.principalType }, s.count);
    },
  });
  new Counter({
    name: 'fleetguard_shadow_compared_total',
    help: 'Decisions checked against the shadow candidate (decided again where its rules differ from the live set).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(shadow.compared);
    },
  });
  new Gauge({
    name: 'fleetguard_shadow_revision_info',
    help: 'The shadow candidate being compared (value 1); absent without one.',
    labelNames: ['revision'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const revision = shadow.status?.revision;
      if (revision !== undefined) this.set({ revision }, 1);
    },
  });
  new Counter({
    name: 'fleetguard_shadow_not_recorded_total',
    help: 'Shadow work left undone, counted: decisions not compared (the queue was full) and disagreements not written (the store queue was full).',
    labelNames: ['what'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ what: 'not_compared' }, shadow.skipped);
      this.inc({ what: 'not_written' }, store.stats.dropped);
    },
  });
}
