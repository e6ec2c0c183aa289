import { Injectable } from '@nestjs/common';

/** Counters of this scheduler process, exported in the Prometheus text format. */
@Injectable()
export class SchedulerMetrics {
  readonly counters = new Map<string, number>();

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = labelled(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }
}

export function labelled(name: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`);
  return parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
}
