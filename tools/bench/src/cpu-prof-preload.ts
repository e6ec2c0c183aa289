// Preloaded into the platform (NODE_OPTIONS=--require) when the bench profiles it:
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so the profiler is driven through
// the inspector and the profile written on SIGUSR2.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => {
    session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => {
      session.post('Profiler.start');
    });
  });
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `platform-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
      process.send?.('profiled');
    });
  });
}
