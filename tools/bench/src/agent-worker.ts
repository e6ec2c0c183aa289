// A child process holding several agent connections (fan-out, fleet, fairness and small-runs scenarios).
import { type AgentGroup, type AgentSpec, startInProcess } from './agents.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_AGENT_SPEC ?? '{}') as AgentSpec;
  let group: AgentGroup | null = null;
  const stop = async () => {
    await group?.stop();
    process.exit(0);
  };
  const connect = async () => {
    try {
      group = await startInProcess(spec);
      process.send?.({ ready: true });
    } catch (err) {
      process.send?.({ error: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    }
  };
  process.on('message', (m: { stop?: boolean; connect?: boolean }) => {
    if (m.stop) void stop();
    if (m.connect) void connect();
  });
  // The bench process died: do not linger.
  process.on('disconnect', () => void stop());
  // Deferred (BENCH_AGENT_DEFER): loaded now, connected when the bench says so.
  if (process.env.BENCH_AGENT_DEFER) process.send?.({ loaded: true });
  else await connect();
}

void main();
