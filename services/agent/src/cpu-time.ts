import { readFileSync } from 'node:fs';

/** Clock ticks a second of /proc times (USER_HZ: 100 on every Linux build Baton targets). */
const CLOCK_TICKS = 100;

/**
 * CPU time (user + system) of this process's waited-for children, in ms,
 * from /proc/self/stat (`cutime` + `cstime`): a task's shell is such a child,
 * and its own waited-for children count in it. Null where there is no /proc.
 */
export function reapedChildrenCpuMillis(
  read: () => string = () => readFileSync('/proc/self/stat', 'utf8'),
): number | null {
  try {
    const stat = read();
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cutime = Number(fields[13]);
    const cstime = Number(fields[14]);
    if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return null;
    return ((cutime + cstime) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * The CPU time of each task process, taken when its exit is reported: the
 * growth of the agent's reaped-children time since the previous exit. Exact
 * for tasks that end one at a time; tasks that end in the same event-loop
 * turn share one reading (the first gets it; usage per tenant and day is
 * still right when they are of one tenant).
 */
export class ChildCpuMeter {
  private last: number | null;

  constructor(private readonly read: () => number | null = () => reapedChildrenCpuMillis()) {
    this.last = read();
  }

  /** Milliseconds of CPU the children reaped since the last call used (0 when not measurable). */
  take(): number {
    const now = this.read();
    const before = this.last;
    this.last = now;
    if (now === null || before === null) return 0;
    return Math.max(0, Math.round(now - before));
  }
}

export const childCpu = new ChildCpuMeter();
