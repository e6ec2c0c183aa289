/**
 * The "what limits it" paragraphs of docs/benchmarks.md, written by hand from
 * the CPU meter, CPU profiles of the platform (`--cpu-prof DIR`) and of the
 * agents, and the code; fan-out and fleet re-profiled on 2026-12-01 (night),
 * the others earlier: re-check them when the numbers move.
 */
export const NOTES = {
  status:
    'Written by hand on 2026-12-01 (23:40) for the run of 23:28, alone on the machine (peers slower than in the ' +
    'night run: Graphile Worker 2,435 jobs/s, BullMQ 14,922). The cron target is met on both databases (p99 30 ms ' +
    'on SQLite, 3 ms on MariaDB; 455 / 456 ms before): time triggers fire 1.75 s ahead and the runs wait ' +
    '`scheduled`, started together at the slot (section 3). The other throughput targets are not met; against the ' +
    'night run (same code on their path): fan-out 1,554 → 1,354 tasks/s (SQLite), 1,373 → 1,207 (MariaDB), 1,085 → ' +
    '1,008 (Kafka); fleet 1,126 → 1,022 and 818 → 875; chain 0.17 → 0.21 s and 0.43 → 0.60 s — run-to-run ' +
    'variance of this machine (the peers moved as much: Graphile Worker 3,124 → 2,435). Fairness: B’s p99 ratio ' +
    '9.5× (SQLite) and 32× (MariaDB; the commit before this session measured 28× in the same hour, 6.6× in the ' +
    'night run); the SQLite run left 369 of B’s tasks out (retried, their ready time gone), so its Jain index ' +
    '(0.932) is marked failed. The topology (small-runs-kafka): 6.6 statements per task and run p50 412 ms (met), ' +
    'machine 1.26 cores (not met). Sections 8 (reports, MariaDB, 1,000,000 attempts) and 9 (portal) were measured ' +
    'separately the same hour (23:16 and 23:23) and merged into these results.',
  chain:
    'Latency, not CPU: one task is in flight at a time and the platform stays well below one core. A transition is ' +
    'a chain of sequential steps: the result arrives over gRPC and joins the next result batch; one transaction ' +
    'locks the run row, reads the run’s tasks (one query serving the result and readiness), writes attempt and ' +
    'task, queues the next task (and, with Kafka, wakes the other scheduler replicas after the commit); then a ' +
    'dispatch transaction claims the task, moves it with one `CASE` update and inserts the attempt, and the Assign ' +
    'goes back over the stream. On SQLite these are in-process calls (about 1 ms a transition); on MariaDB each ' +
    'statement is a network round trip through TypeORM and mysql2, about ten per transition plus two commits, hence ' +
    'a few ms p50 and a p99 that follows the database.',
  fanout:
    'CPU of one event loop on SQLite, round trips on MariaDB. Profiled (night run): on SQLite the platform uses ' +
    'one core; its statements take under a third of it and the rest is TypeORM building queries (parameter ' +
    'handling, alias replacement), protobuf encoding of Assigns, task rendering and the GC. The largest single ' +
    'statements are the dispatcher’s claim, the ACK’s attempt and task updates and the COMMITs. On MariaDB the ' +
    'platform is about half idle, waiting on its round trips: one result flush and one dispatch transaction in ' +
    'flight at a time, each a sequence of statements. The agents now take about 0.3 cores for 1,500 noop tasks a ' +
    'second (gRPC and their journal). Dispatch latency is mostly queueing for a free slot (1,000 slots, 10,000 ready ' +
    'tasks). Levers: prepared statements instead of the query builder on the claim/ACK/result path, several result ' +
    'transactions in flight for different runs on MariaDB, ACK and start written in the claim’s statement shape.',
  fanoutKafka:
    'Both replicas work (see tasks per agent process): a claim locks only its batch plus a margin, so the other ' +
    'replica — woken through Kafka and by its sweep — finds queued rows to take. It is slower than one standalone ' +
    'process because the whole fan-out is one run: result batches of both replicas serialise on that run’s row ' +
    'lock, and each replica pays its own round trips and its own outbox relay. Kafka itself is not on the path ' +
    '(the broker uses a few hundredths of a core). Many runs, as in real fleets, would not share that lock.',
  cron:
    'Met since runs are created ahead of their slot. Time triggers fire BATON_TRIGGER_LEAD_MS (1.75 s) before a ' +
    'slot: the 833 runs of one second are claimed, requested and created `scheduled` between whole seconds, and at ' +
    'the slot one transaction starts them all (one update of the runs and one of their root tasks, each row named ' +
    'with its tenant, ~70 ms for 833 runs), its start time taken as it begins. Creating 833 runs costs ~0.5 s of one ' +
    'core, which used to sit between the slot and the run (p99 455 ms). On SQLite, one writer, the start ' +
    'transaction goes ahead of queued ones, and the intake and trigger transactions were cut to 100 rows (from 500 ' +
    'and 200, ~95 ms each) so the start never waits long behind the one in progress (before that cut: p99 93–204 ' +
    'ms). What is left of the delay is the alarm’s timer and that one transaction.',
  peers:
    'The transport is far from the limit: a bare grpc-js stream (server in a child process) carries tens of ' +
    'thousands of round trips a second, so Baton’s per-transition milliseconds are spent in the engine and the ' +
    'database, not on the wire. BullMQ does one Redis script per state change and Graphile Worker one SQL function ' +
    'call per claim and per completion, each a single round trip; Baton still spends several ORM statements per ' +
    'task transition and per batch. Graphile Worker’s throughput varies between runs on this machine (PostgreSQL ' +
    'shares the 2 cores with everything else); the ratios use the figure from the same run as the Baton numbers.',
  fleet:
    'The same single-flight pipeline as fan-out — one result flush and one dispatch transaction in flight at a ' +
    'time per process — with 1,000 runs in flight: runs of 10 tasks are below the size that is remembered between ' +
    'batches, so a result batch locks and reads each of its runs (now by run_id on SQLite too). Since the evening ' +
    'the agents cost a third of what they did (one journal file), which freed CPU for the platform on this 2-core ' +
    'machine. Levers: as for fan-out, prepared statements on the hot path and several result transactions in ' +
    'flight for different runs.',
  fairness:
    'B’s tasks share the dispatcher and the result queue with the flood. Each process runs one dispatch ' +
    'transaction at a time (up to 500 tasks placed) and applies agents’ results in one transaction per tenant ' +
    '(up to 500, the smallest tenant’s first); a task of B that becomes ready while a flood’s transaction runs waits ' +
    'for it, then for its own. Weights split each batch fairly, but only among tenants whose agents have free ' +
    'slots at that moment: the noop results of a flooding tenant come back in bursts of its 500 slots, so ' +
    'consecutive windows alternate between C and D, which the windowed Jain index reads as unfair although the ' +
    'totals are equal (8,928 and 8,774, index 0.9999 overall). Tried the same day under load from other work on ' +
    'the machine, not yet confirmed alone: batches capped at 100 while several tenants have work cut B’s p99 under ' +
    'the quick flood from 805 to 362 ms. Levers: short batches under contention, one dispatch and result pipeline ' +
    'per tenant (a flood’s transaction never holds a small tenant’s), and a flood’s share held for it when its ' +
    'agents free up rather than taken by whichever tenant freed first.',
  smallRuns:
    'Statements and transactions per task, not one hot spot. In one process results arrive together and share ' +
    'transactions (8.5–8.9 statements per task); on the topology 50 results a second spread over 3 replicas ' +
    'arrive alone, so each is a transaction of its own: per task 1.3 transactions (START + COMMIT), the run lock ' +
    '1.1, the run’s tasks 1.0, the attempt and the task 1.0 each, the next task queued 0.7; then dispatch (claim ' +
    'and quota reads 0.36 each), the ACK (0.2 each of a read and two updates), and per run its end (run update, ' +
    'outbox insert and relay read, 0.3–0.5 each), the dependency-trigger check 0.33 and the next-queued-run check ' +
    '0.34. Levers: apply a result and its ACK together when both wait in one flush; skip the next-queued-run read ' +
    'for jobs that cannot queue; per-tenant quotas and dependency triggers cached, invalidated by the catalog’s and ' +
    'tenancy’s events; a short linger so that a replica’s results share a transaction.',
  portal:
    'Written by hand on 2026-12-01 (23:23) from this run, its Timing columns and a cold load traced with long-task ' +
    'entries. Warm, both pages are under the goal; the first load of the grid is not (1.1 s). A cold load spends ' +
    'about 130 ms receiving 1.3–1.5 MiB of scripts (ECharts alone 705 KiB, which the home page loads), ' +
    'then about 300 ms compiling and running them (long tasks of 150, 73 and 94 ms) before the app reads ' +
    'the session; only then do the view’s API calls go out (first request at 370 ms on the home page, 530 ms on ' +
    'the grid), and the view draws once they are back. The grid’s own call (`GET /api/v1/jobs/{name}/grid`, 50,000 ' +
    'cells) takes about 175 ms on the server, then about 250 ms go to parsing its JSON and rendering the visible ' +
    'rows. Fixed on the way: the grid was asked for only after the job’s own request had come back (the tab mounts ' +
    'with the job); it is now requested beside it. Levers left: load ECharts only where a chart is drawn, after ' +
    'the first paint; let the view’s requests start with the session read instead of after it; drop the second ' +
    'session read at start (SessionCheck repeats boot’s); defer the route prefetches of the bar’s eight links, ' +
    'which start while the page is still loading; a denser grid payload or a first page of fewer runs.',
  reports:
    'Every report but the SLA lists scans the runs of its range, so its cost grows with the history (~100,000 ' +
    'runs in 30 days here, ~300,000 in 92; 30 → 92 days costs 2.5–3.3× on every line). The counts and heatmaps are ' +
    'index-only range scans of ix_runs_tenant_logical (100 ms for 30 days; by tenant 171 ms); the jobs report ' +
    'adds the percentiles (window functions rank each run twice, a filesort of the range per metric) and the ' +
    'retries, which, like the top failing tasks, look up every run’s task runs by run_id (one index seek and row ' +
    'read per run: EXPLAIN shows a ref on uq_task_runs_run_key per run of the range). A run’s lateness read its ' +
    'attempts by run_id, which no index holds: a scan of all million attempts (fixed after this run: by task run, ' +
    'EXPLAIN a range of ix_attempts_task_run reading the run’s rows only; not re-measured at this size). The ' +
    'server runs with the default 128 MiB InnoDB buffer pool, smaller than these tables. ≤ 200 ms needs a rollup ' +
    'per tenant, job and UTC day (runs by outcome, retries, SLA met/missed, failures per hour of day, per task ' +
    'runs/failed/attempts) kept in the transaction that ends or reopens a run, and percentiles from it (per-day ' +
    'values stored once a day closes; over a range from per-day histograms, approximate) — not built yet.',
};
