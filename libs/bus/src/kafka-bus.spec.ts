import { describe, expect, it } from 'vitest';
import type { BusEvent } from './events.js';
import {
  KAFKA_HEADERS,
  decodeHeaders,
  fromKafkaMessage,
  retryDelayMs,
  toKafkaMessage,
  toTopicMessages,
} from './kafka-bus.js';

const event = (over: Partial<BusEvent> = {}): BusEvent => ({
  id: '0190f1a2-0000-7000-8000-000000000001',
  topic: 'baton.run-events',
  type: 'run.finished',
  key: 'tenant-a',
  tenantId: 'tenant-a',
  payload: { runId: 'r1', state: 'succeeded', n: 1 },
  headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  occurredAt: 1_700_000_000_123,
  ...over,
});

/** What a consumer gets back: strings become Buffers, as kafkajs delivers them. */
const asReceived = (m: ReturnType<typeof toKafkaMessage>) => ({
  key: typeof m.key === 'string' ? Buffer.from(m.key) : (m.key ?? null),
  value: typeof m.value === 'string' ? Buffer.from(m.value) : (m.value ?? null),
  headers: Object.fromEntries(
    Object.entries(m.headers ?? {}).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]),
  ),
  timestamp: m.timestamp ?? '0',
});

describe('toKafkaMessage', () => {
  it('keys by event.key, carries the JSON event and the id, type, tenant and trace headers', () => {
    const e = event();
    const m = toKafkaMessage(e);
    expect(m.key).toBe('tenant-a');
    expect(JSON.parse(m.value as string)).toEqual(e);
    expect(m.timestamp).toBe('1700000000123');
    expect(m.headers).toEqual({
      [KAFKA_HEADERS.id]: e.id,
      [KAFKA_HEADERS.type]: 'run.finished',
      [KAFKA_HEADERS.tenant]: 'tenant-a',
      traceparent: e.headers.traceparent,
    });
  });

  it('leaves out tenant-id for platform events and lets the bus headers win', () => {
    const m = toKafkaMessage(event({ tenantId: null, key: 'platform', headers: { 'event-id': 'spoofed', x: 'y' } }));
    expect(m.headers).toEqual({
      'event-id': '0190f1a2-0000-7000-8000-000000000001',
      'event-type': 'run.finished',
      x: 'y',
    });
  });
});

describe('toTopicMessages', () => {
  it('groups per topic and keeps the order inside each topic', () => {
    const events = [event({ id: '1', topic: 'a' }), event({ id: '2', topic: 'b' }), event({ id: '3', topic: 'a' })];
    const grouped = toTopicMessages(events);
    expect(
      grouped.map((t) => [t.topic, t.messages.map((m) => (JSON.parse(m.value as string) as BusEvent).id)]),
    ).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
  });
});

describe('fromKafkaMessage', () => {
  it('round-trips a BusEvent, taking the topic from the record', () => {
    const e = event();
    expect(fromKafkaMessage('baton.run-events', asReceived(toKafkaMessage(e)))).toEqual(e);
    expect(fromKafkaMessage('renamed', asReceived(toKafkaMessage(e)))?.topic).toBe('renamed');
  });

  it('round-trips a platform event (tenantId null)', () => {
    const e = event({ tenantId: null, key: 'platform', headers: {} });
    expect(fromKafkaMessage(e.topic, asReceived(toKafkaMessage(e)))).toEqual(e);
  });

  it('fills missing fields from the headers, key and timestamp', () => {
    const got = fromKafkaMessage('t', {
      key: Buffer.from('tenant-b'),
      value: Buffer.from(JSON.stringify({ payload: { a: 1 } })),
      headers: { 'event-id': Buffer.from('e1'), 'event-type': 'x.y', 'tenant-id': Buffer.from('tenant-b'), tp: 'v' },
      timestamp: '42',
    });
    expect(got).toEqual({
      id: 'e1',
      topic: 't',
      type: 'x.y',
      key: 'tenant-b',
      tenantId: 'tenant-b',
      payload: { a: 1 },
      headers: { tp: 'v' },
      occurredAt: 42,
    });
  });

  it.each([
    ['no value', null],
    ['not JSON', Buffer.from('{nope')],
    ['not an object', Buffer.from('[1,2]')],
    ['no id or type', Buffer.from('{"payload":1}')],
  ])('returns null for a record with %s', (_name, value) => {
    expect(fromKafkaMessage('t', { key: null, value, headers: {}, timestamp: '0' })).toBeNull();
  });
});

describe('decodeHeaders', () => {
  it('decodes Buffers and arrays (last value wins) and drops the bus headers unless asked', () => {
    const h = { a: Buffer.from('1'), b: ['x', Buffer.from('y')], 'event-id': 'e', c: undefined };
    expect(decodeHeaders(h)).toEqual({ a: '1', b: 'y' });
    expect(decodeHeaders(h, true)).toEqual({ a: '1', b: 'y', 'event-id': 'e' });
  });
});

describe('retryDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 10, 100].map((n) => retryDelayMs(n, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});
