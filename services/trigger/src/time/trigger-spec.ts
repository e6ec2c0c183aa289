import type { TriggerDefinition } from '@baton/domain';

/**
 * The stored spec of a trigger row. Rows written before triggers carried
 * their full definition hold only `{cron, timezone}`; they read as a cron
 * trigger with the default policies.
 */
export function triggerSpec(_type: string, spec: Record<string, unknown>, enabled: boolean): TriggerDefinition {
  if ('type' in spec) return spec as unknown as TriggerDefinition;
  return {
    type: 'cron',
    cron: String(spec.cron),
    timezone: typeof spec.timezone === 'string' ? spec.timezone : 'UTC',
    enabled,
    misfire: 'fire_once',
    catchUpLimit: 10,
    overlap: 'allow',
  };
}
