import { describe, expect, it } from 'vitest';

import {
  EVENT_ROOTS,
  WEBHOOK_ROOTS,
  defaultEventKey,
  dependencySatisfied,
  eventTopicError,
  matchesEventFilter,
  parseSignatureHeader,
  renderMapping,
  renderParams,
  timestampFresh,
  validateEventFilter,
  validateMapping,
  webhookSignedPayload,
} from './event-triggers.js';

const body = { order: { id: 42, lines: [{ sku: 'a-1' }], 'ship to': 'Berlin' }, note: null };

describe('renderMapping', () => {
  it.each<[string, unknown]>([
    ['{{ body.order.id }}', 42],
    ['{{body.order}}', body.order],
    ['order-{{ body.order.id }}', 'order-42'],
    ['{{ body.order.lines[0].sku }}', 'a-1'],
    ['{{ body.order["ship to"] }}', 'Berlin'],
    ['{{ body.note }}', null],
    ['{{ headers.x-source }}', 'shop'],
    ['plain', 'plain'],
  ])('%s', (template, expected) => {
    expect(renderMapping(template, WEBHOOK_ROOTS, { body, headers: { 'x-source': 'shop' } })).toEqual({
      ok: true,
      value: expected,
    });
  });

  it.each<[string, string]>([
    ['{{ body.order.missing }}', 'body.order.missing is missing'],
    ['{{ body.order.lines[3] }}', 'body.order.lines[3] is missing'],
    ['{{ body.constructor }}', 'body.constructor is missing'],
    ['{{ value.id }}', 'unknown variable "value" (expected one of body, headers)'],
  ])('%s fails: %s', (template, error) => {
    expect(renderMapping(template, WEBHOOK_ROOTS, { body, headers: {} })).toEqual({ ok: false, error });
  });

  it.each<[string, string | null]>([
    ['{{ value.id }}', null],
    ['{{ value.id', 'unclosed "{{" at column 1'],
    ['{{ value.id | upper }}', 'unexpected "| upper" in "value.id | upper" (filters are not supported here)'],
    ['{{ value[x] }}', '"[x]" must be an index or a quoted field name'],
    ['{{ }}', '"" is not a path (expected one of topic, partition, offset, key, headers, value)'],
  ])('validates %s', (template, error) => {
    expect(validateMapping(template, EVENT_ROOTS)).toBe(error);
  });

  it('renders params and names the one that fails', () => {
    expect(renderParams({ id: '{{ body.order.id }}' }, WEBHOOK_ROOTS, { body })).toEqual({
      ok: true,
      value: { id: 42 },
    });
    expect(renderParams({ id: '{{ body.id }}' }, WEBHOOK_ROOTS, { body })).toEqual({
      ok: false,
      error: 'params.id: body.id is missing',
    });
  });
});

describe('event filters', () => {
  const record = {
    topic: 'tenant.acme.orders',
    partition: 1,
    offset: '17',
    key: 'k1',
    headers: { source: 'shop' },
    value: { kind: 'order', amount: 250, tags: ['eu'] },
  };

  it.each<[string, boolean]>([
    ['value.kind == "order" && value.amount > 100', true],
    ['value.amount > 1000', false],
    ['headers.source == "shop"', true],
    ['key == "k1" && topic.endsWith(".orders")', true],
    ['"eu" in value.tags', true],
    ['has(value.missing)', false],
  ])('%s -> %s', (expr, match) => {
    expect(matchesEventFilter(expr, record)).toEqual({ match, error: null });
  });

  it('does not match a record it cannot evaluate, and says why', () => {
    const r = matchesEventFilter('value.missing == 1', record);
    expect(r.match).toBe(false);
    expect(r.error).toBeTruthy();
    expect(matchesEventFilter('value == "x"', { ...record, value: 'x' })).toEqual({ match: true, error: null });
  });

  it.each<[string, string | null]>([
    ['value.amount > 1', null],
    ['params.x == 1', expect.stringContaining('params') as unknown as string],
    ['1 + 2', 'must be a boolean expression, got int'],
    ['', 'must not be empty'],
  ])('validates %s', (expr, error) => {
    expect(validateEventFilter(expr)).toEqual(error);
  });
});

describe('topics, keys, signatures, dependencies', () => {
  it.each<[string, string, string | null]>([
    ['tenant.acme.orders', 'acme', null],
    ['tenant.acme.orders.eu', 'acme', null],
    ['tenant.other.orders', 'acme', 'tenant acme may only bind topics named tenant.acme.*'],
    ['baton.run-events', 'acme', 'must be a topic named tenant.<tenant name>.<name>'],
    ['tenant.acme.', 'acme', 'must be a topic named tenant.<tenant name>.<name>'],
  ])('topic %s for tenant %s', (topic, tenant, error) => {
    expect(eventTopicError(topic, tenant)).toBe(error);
  });

  it('defaults the event key to the event-id header, else the record coordinates', () => {
    expect(defaultEventKey({ topic: 't', partition: 2, offset: '9', eventId: 'e-1' })).toBe('e-1');
    expect(defaultEventKey({ topic: 't', partition: 2, offset: '9', eventId: null })).toBe('t/2/9');
  });

  it('signs "<timestamp>.<raw body>"', () => {
    const signed = webhookSignedPayload('1700000000', new TextEncoder().encode('{"a":1}'));
    expect(new TextDecoder().decode(signed)).toBe('1700000000.{"a":1}');
  });

  it.each<[string | undefined, string | null]>([
    [`sha256=${'ab'.repeat(32)}`, 'ab'.repeat(32)],
    [`SHA256=${'AB'.repeat(32)}`, 'ab'.repeat(32)],
    [`sha1=${'ab'.repeat(20)}`, null],
    ['sha256=xyz', null],
    [undefined, null],
  ])('signature header %s', (header, digest) => {
    expect(parseSignatureHeader(header)).toBe(digest);
  });

  it.each<[string | undefined, boolean]>([
    ['1700000000', true],
    ['1700000299', true],
    ['1699999699', false],
    ['1700000301', false],
    ['17e8', false],
    [undefined, false],
  ])('timestamp %s is fresh: %s', (ts, fresh) => {
    expect(timestampFresh(ts, 1_700_000_000_000, 300_000)).toBe(fresh);
  });

  it.each<[string, string[], Array<[string, number]>, number | null, boolean]>([
    [
      'all succeeded',
      ['x', 'y'],
      [
        ['x', 1],
        ['y', 5],
      ],
      null,
      true,
    ],
    ['one missing', ['x', 'y'], [['x', 1]], null, false],
    [
      'within the window',
      ['x', 'y'],
      [
        ['x', 1_000],
        ['y', 4_000],
      ],
      3_000,
      true,
    ],
    [
      'outside the window',
      ['x', 'y'],
      [
        ['x', 1_000],
        ['y', 4_001],
      ],
      3_000,
      false,
    ],
  ])('dependency: %s', (_name, jobs, finished, within, ok) => {
    expect(dependencySatisfied(jobs, new Map(finished), within)).toBe(ok);
  });
});
