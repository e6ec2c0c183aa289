import { describe as suite, expect, it } from 'vitest';
import { type Hello, LogChunk_Stream, type Result, Result_Status } from '@baton/proto';
import { checkAck, checkFileEvent, checkHeartbeat, checkHello, checkLogChunk, checkResult } from './messages.js';

const ID = '019a0000-0000-7000-8000-000000000001';
const NOW = 1_800_000_000_000;

const hello = (over: Partial<Hello>): Hello => ({
  token: 'tok',
  name: 'agent-1',
  labels: { zone: 'eu' },
  slots: 4,
  cpuMillis: 0,
  memoryMb: 0,
  version: '1.0',
  runningAttemptIds: [],
  ...over,
});

const result = (over: Partial<Result>): Result => ({
  attemptId: ID,
  status: Result_Status.SUCCEEDED,
  exitCode: 0,
  outputJson: '',
  error: '',
  startedAtMs: NOW - 10,
  finishedAtMs: NOW,
  cpuMillis: 0,
  ...over,
});

suite('agent message validation', () => {
  it.each<[string, Partial<Hello>, string | null]>([
    ['a valid Hello', {}, null],
    ['no token', { token: '' }, 'hello.token'],
    ['a name with a slash', { name: 'a/b' }, 'hello.name'],
    ['no slots (missing field)', { slots: 0 }, 'hello.slots'],
    ['negative slots', { slots: -3 }, 'hello.slots'],
    ['absurd slots', { slots: 2_000_000 }, 'hello.slots'],
    ['negative memory', { memoryMb: -1 }, 'hello.memory_mb'],
    ['a bad label name', { labels: { 'no spaces': 'x' } }, 'hello.labels.no spaces'],
    ['a running id that is not an id', { runningAttemptIds: [ID, 'x'] }, 'hello.running_attempt_ids[1]'],
  ])('Hello: %s', (_name, over, field) => {
    const v = checkHello(hello(over));
    expect(v.ok ? null : v.field).toBe(field);
  });

  it.each<[string, Partial<Result>, string | null]>([
    ['a valid result', {}, null],
    ['valid output', { outputJson: '{"rows":3}' }, null],
    ['no timestamps (an old agent)', { startedAtMs: 0, finishedAtMs: 0 }, null],
    ['status out of range', { status: 99 as Result_Status }, 'result.status'],
    ['status missing', { status: Result_Status.STATUS_UNSPECIFIED }, 'result.status'],
    ['an attempt id that is not one', { attemptId: 'att-1' }, 'result.attempt_id'],
    ['output that is not JSON', { outputJson: '{oops' }, 'result.output_json'],
    ['output that is a JSON array (an HTTP endpoint answered one)', { outputJson: '[1]' }, null],
    ['output that is a JSON number', { outputJson: '42' }, null],
    ['a negative finish time', { finishedAtMs: -5 }, 'result.finished_at_ms'],
    ['a finish time years ahead', { finishedAtMs: NOW + 400 * 86_400_000 }, 'result.finished_at_ms'],
    ['finished before it started', { startedAtMs: NOW, finishedAtMs: NOW - 1 }, 'result.finished_at_ms'],
    ['a fractional exit code', { exitCode: 1.5 }, 'result.exit_code'],
    ['CPU time on one core', { cpuMillis: 10 }, null],
    ['CPU time of many cores (parallel processes)', { cpuMillis: 640 }, null],
    ['negative CPU time', { cpuMillis: -1 }, 'result.cpu_millis'],
    ['fractional CPU time', { cpuMillis: 0.5 }, 'result.cpu_millis'],
    ['CPU time without timestamps', { cpuMillis: 5, startedAtMs: 0, finishedAtMs: 0 }, 'result.cpu_millis'],
    ['more CPU time than 1024 cores could spend', { cpuMillis: 1011 * 1024 + 1 }, 'result.cpu_millis'],
  ])('Result: %s', (_name, over, field) => {
    const v = checkResult(result(over), NOW);
    expect(v.ok ? null : v.field).toBe(field);
  });

  it.each<[string, () => ReturnType<typeof checkAck>, string | null]>([
    ['an ACK of an attempt id', () => checkAck({ attemptId: ID }), null],
    ['an ACK of nothing', () => checkAck({ attemptId: '' }), 'ack.attempt_id'],
    ['a heartbeat', () => checkHeartbeat({ runningAttemptIds: [ID], freeSlots: 1, load: 0.5 }), null],
    [
      'negative free slots',
      () => checkHeartbeat({ runningAttemptIds: [], freeSlots: -1, load: 0 }),
      'heartbeat.free_slots',
    ],
    [
      'a load that is not a number',
      () => checkHeartbeat({ runningAttemptIds: [], freeSlots: 0, load: NaN }),
      'heartbeat.load',
    ],
    [
      'a log chunk',
      () => checkLogChunk({ attemptId: ID, seq: 0, data: Buffer.from('x'), stream: LogChunk_Stream.STDERR }),
      null,
    ],
    [
      'a log stream out of range',
      () => checkLogChunk({ attemptId: ID, seq: 0, data: Buffer.alloc(0), stream: 7 as LogChunk_Stream }),
      'log_chunk.stream',
    ],
    [
      'a negative log sequence',
      () => checkLogChunk({ attemptId: ID, seq: -1, data: Buffer.alloc(0), stream: LogChunk_Stream.STDOUT }),
      'log_chunk.seq',
    ],
    ['a file event', () => checkFileEvent({ triggerId: ID, path: '/in/a.csv', size: 3, mtimeMs: NOW }, NOW), null],
    [
      'a file event with a negative size',
      () => checkFileEvent({ triggerId: ID, path: '/in/a.csv', size: -3, mtimeMs: NOW }, NOW),
      'file_event.size',
    ],
  ])('%s', (_name, check, field) => {
    const v = check();
    expect(v.ok ? null : v.field).toBe(field);
  });
});
