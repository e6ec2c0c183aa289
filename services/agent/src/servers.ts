import { createHash } from 'node:crypto';

/**
 * The replica of a `--server` list an agent tries first: a stable hash of its
 * name, so a fleet given the same list spreads over the replicas (each agent
 * returns to the same one after a restart) instead of all sitting on the
 * first. A broken stream then moves on through the list in order.
 */
export function firstServerIndex(agentName: string, servers: number): number {
  if (servers <= 1) return 0;
  return createHash('sha256').update(agentName).digest().readUInt32BE(0) % servers;
}
