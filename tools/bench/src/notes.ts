/**
 * The "what limits it" paragraphs of docs/benchmarks.md, written by hand from
 * the CPU meter, a CPU profile of the platform (`--cpu-prof DIR`, fan-out of
 * 5,000 on MariaDB) and the code, on 2026-11-24 after results, dispatch,
 * readiness and run creation were batched; re-check them when the numbers move.
 */
export const NOTES = {
  status:
    'Written by hand on 2026-12-01 for the run of that day. Most speed targets are not met yet. The machine ran ' +
    'slower that day than on 2026-11-24: the peers of the run lost about 40 % (grpc-js 48,600 against 78,400 ' +
    'round trips/s, Graphile Worker 2,607 against 4,316 jobs/s, BullMQ 13,733 against 22,314 jobs/s), and Baton ' +
    'lost about as much, so compare Baton with the peers of the same run. The “what limits it” paragraphs ' +
    'below come from the 2026-11-24 CPU profile and have not been re-checked for this run. The fleet, fairness and ' +
    'small-runs scenarios are new and have no profile yet. Since then, statements per task on small runs fell from ' +
    '23–28 (issue 7) to 8.5–8.9: READ COMMITTED is set once per connection, and finished runs cost no transaction in ' +
    'consumers they do not concern. Still open, next to profile: fairness on MariaDB (B shares A’s 500-task ' +
    'dispatch and result transactions) and the cron p99 (one second’s 833 slots go through the trigger, then the ' +
    'run-request intake, in batches).',
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
    'Round trips and the single event loop, not one hot spot. Results from all agent streams are applied in one ' +
    'transaction per flush (successes of a run written with two statements, the run advanced once per batch), the ' +
    'dispatcher claims and assigns up to 500 tasks per transaction, and readiness reads only task keys and states. ' +
    'On MariaDB the platform uses well under one core and its profile is about one third idle; the top self time is ' +
    'socket writes, TypeORM parameter handling, GC and serving the bench’s own polls of the 10,000-task run: one ' +
    'flush and one dispatch transaction are in flight at a time, each waiting on its round trips in turn. The two ' +
    'agent processes take a large share of the 2 cores for 10,000 noop tasks (gRPC, journal file per result). On ' +
    'SQLite the single Node thread is saturated by TypeORM and better-sqlite3 work. The dispatch latency is mostly ' +
    'queueing for a free slot (1,000 slots, 10,000 ready tasks). Levers: several result transactions in flight for ' +
    'different runs, prepared statements instead of the query builder on the hot path, batched results per agent.',
  fanoutKafka:
    'Both replicas work (see tasks per agent process): a claim locks only its batch plus a margin, so the other ' +
    'replica — woken through Kafka and by its sweep — finds queued rows to take. It is slower than one standalone ' +
    'process because the whole fan-out is one run: result batches of both replicas serialise on that run’s row ' +
    'lock, and each replica pays its own round trips and its own outbox relay. Kafka itself is not on the path ' +
    '(the broker uses a few hundredths of a core). Many runs, as in real fleets, would not share that lock.',
  cron:
    'The pipeline of one second’s slots. About 833 slots fall due at the same instant: due triggers are claimed 200 ' +
    'per transaction and moved with one `CASE` update, their run requests written with one multi-row outbox insert, ' +
    'relayed in batches, and the scheduler creates each batch’s runs, tasks, events and ledger rows with multi-row ' +
    'inserts in one transaction. There is no backlog (the delay is flat over the window and no slot is missed or ' +
    'doubled), but the last slots of each second wait for the batches before them, which sets the p99. Levers: ' +
    'claiming slots shortly before they are due and creating their runs at the instant, larger batches.',
  peers:
    'The transport is far from the limit: a bare grpc-js stream (server in a child process) carries tens of ' +
    'thousands of round trips a second, so Baton’s per-transition milliseconds are spent in the engine and the ' +
    'database, not on the wire. BullMQ does one Redis script per state change and Graphile Worker one SQL function ' +
    'call per claim and per completion, each a single round trip; Baton still spends several ORM statements per ' +
    'task transition and per batch. Graphile Worker’s throughput varies between runs on this machine (PostgreSQL ' +
    'shares the 2 cores with everything else); the ratios use the figure from the same run as the Baton numbers.',
};
