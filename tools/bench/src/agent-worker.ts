// A child process holding several agent connections for the fan-out scenario.
import { type AgentGroup, type AgentSpec, startInProcess } from './agents.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_AGENT_SPEC ?? '{}') as AgentSpec;
  let group: AgentGroup | null = null;
  const stop = async () => {
    await group?.stop();
    process.exit(0);
  };
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop) void stop();
  });
  // The bench process died: do not linger.
  process.on('disconnect', () => void stop());
  try {
    group = await startInProcess(spec);
    process.send?.({ ready: true });
  } catch (err) {
    process.send?.({ error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
}

void main();
