/**
 * The "what limits it" paragraphs of docs/benchmarks.md. They are written by
 * hand from what the bench's CPU meter, CPU profiles of the platform
 * (`--cpu-prof DIR`, fan-out at 2,000 tasks on both databases) and the code
 * showed on 2026-11-24; re-check them when the numbers move.
 */
export const NOTES = {
  chain:
    'Latency, not CPU: one task is in flight at a time, and the platform process is below one core (see CPU). Each ' +
    'transition is a chain of sequential steps: the agent result arrives over gRPC, one transaction records it ' +
    '(locks the run row, updates attempt and task, reloads all task rows of the run, decides readiness, writes the ' +
    'outbox), then the dispatcher is kicked and a second transaction claims and assigns the next task, and the ' +
    'assignment goes back over the stream. On SQLite these statements are in-process calls and a transition takes ' +
    'about 1 ms; on MariaDB each is a network round trip through TypeORM and mysql2, about 10–15 of them per ' +
    'transition, hence 3–4 ms p50 and a p99 that follows the database (fsync of the two commits). The first measured ' +
    'MariaDB run can still be slower than the others; the median is not moved by it.',
  fanout:
    'Result processing, one run at a time. Dispatch is not the bottleneck: assignments go out in transactions of up ' +
    'to 500 and 1,000 slots fill at once; what holds the middle layer back is turning results into state. On SQLite ' +
    'the platform process runs at about one core (the single Node thread is saturated); its profile is dominated by ' +
    'TypeORM (query building, `BetterSqlite3QueryRunner.query`, entity hydration) and GC, with ' +
    '`RunEngine.advance`/`resolveReadiness` next: every result batch reloads all task rows of the run and ' +
    're-evaluates the whole DAG, so the cost per result grows with N (2,000 tasks ran at about 1,170 tasks/s, 9,998 ' +
    'at about 330). On MariaDB the platform is only about half busy and its profile is about 40 % idle: ' +
    'transactions on one run serialise on its row lock (`SELECT … FOR UPDATE` of the run) and each waits for a ' +
    'dozen sequential round trips (`writeBuffer`, mysql2 and TypeORM overhead are the top self time), so neither ' +
    'the database nor the CPU is full. The dispatch latency p50/p99 is mostly queueing: a task becomes ready with ' +
    'the other 9,997 and waits until a slot is freed by a processed result. Batching results of the same run into ' +
    'one transaction, and deciding readiness only for the finished task’s downstream, are the levers.',
  fanoutKafka:
    'One scheduler replica does the work. In development runs (middle layers of 500 and 2,000, 2026-11-24) every ' +
    'middle task ran on the agents of the replica that processed the `start` result, the second replica used ' +
    '0.03–0.11 cores and throughput was that of one replica, about 1,000–1,400 tasks/s, like the ' +
    'standalone platform on MariaDB at 500. From the dispatcher code: the replica that queues the tasks kicks its ' +
    'own dispatcher at once, and its claim locks up to 4 × its free slots of queued rows (`FOR UPDATE SKIP ' +
    'LOCKED`); the other replica is woken only through Kafka (`task-events`, after the outbox relay), finds the ' +
    'rows locked or already claimed, and is not woken again while results keep arriving at the first replica, ' +
    'whose freed slots re-claim the rest. Kafka itself is not on the path: the broker used about 0.03–0.06 cores. ' +
    'Whether the second replica joins at the default size (more queued rows than one claim locks) shows in the ' +
    '"tasks per agent process" column.',
  cron:
    'Run creation per slot. Firing claims due triggers 200 per transaction but updates each trigger and writes its ' +
    'run request to the outbox one statement at a time; each request then becomes a run in its own transaction ' +
    '(dedupe lookup, job and version lookups, run and task inserts, outbox, processed-event row). About 833 slots ' +
    'fall due at the same instant every second. On SQLite that work is serial in-process calls at about half a core: ' +
    'it keeps up, but the last slots of each second wait for the first ones, hence p50 ≈ 0.35 s and p99 ≈ 0.8 s, ' +
    'flat over the window. On MariaDB the same statements are network round trips and the platform creates far ' +
    'fewer than 833 runs a second with neither process saturated (platform about 0.7 cores, mariadbd about 0.4), so ' +
    'a backlog builds and the delay grows through the window (the worst second is the last). No slot was missed or ' +
    'doubled on either database: the compare-and-set claim and the dedupe key held. This analysis is from the CPU ' +
    'meter and the code; the cron path was not profiled.',
  peers:
    'The transport is far from the limit: a bare grpc-js stream (server in a child process) carries tens of ' +
    'thousands of round trips a second with 0.03–0.07 ms per round trip, so Baton’s per-transition milliseconds are ' +
    'spent in the engine and the database, not on the wire. BullMQ does one Redis script per state change and ' +
    'Graphile Worker one SQL function call per claim and per completion, each a single round trip; Baton spends 10 ' +
    'or more ORM statements per task transition. Graphile Worker’s throughput moved between about 2,200 and 5,200 ' +
    'jobs/s across runs on this machine during development (PostgreSQL shares the 2 cores with everything else); ' +
    'the ratios use the figure from the same run as the Baton numbers.',
};
