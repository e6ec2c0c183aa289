import { describe, expect, it } from 'vitest';

import type { TaskState } from './task-state.js';
import { TRIGGER_RULES, evaluateTriggerRule, resolveReadiness, runOutcome } from './trigger-rules.js';
import type { ReadinessNode, TriggerRule } from './trigger-rules.js';

type S = TaskState;

describe('evaluateTriggerRule', () => {
  it.each(TRIGGER_RULES)('%s runs a task without upstream', (rule) => {
    expect(evaluateTriggerRule(rule, [])).toBe('run');
  });

  it.each<[TriggerRule, S[], ReturnType<typeof evaluateTriggerRule>]>([
    ['all_success', ['succeeded', 'succeeded'], 'run'],
    ['all_success', ['succeeded', 'running'], 'wait'],
    ['all_success', ['up_for_retry', 'succeeded'], 'wait'],
    ['all_success', ['failed', 'running'], 'upstream_failed'],
    ['all_success', ['timed_out', 'succeeded'], 'upstream_failed'],
    ['all_success', ['lost', 'succeeded'], 'upstream_failed'],
    ['all_success', ['upstream_failed', 'pending'], 'upstream_failed'],
    ['all_success', ['skipped', 'succeeded'], 'skip'],
    ['all_success', ['skipped', 'running'], 'skip'],
    ['all_success', ['skipped', 'failed'], 'upstream_failed'],
    ['all_success', ['cancelled', 'succeeded'], 'upstream_failed'],

    ['all_done', ['succeeded', 'failed', 'skipped', 'upstream_failed'], 'run'],
    ['all_done', ['succeeded', 'running'], 'wait'],
    ['all_done', ['failed', 'up_for_retry'], 'wait'],
    ['all_done', ['succeeded', 'compensating'], 'wait'],

    ['one_success', ['succeeded', 'running'], 'run'],
    ['one_success', ['failed', 'running'], 'wait'],
    ['one_success', ['failed', 'skipped'], 'upstream_failed'],
    ['one_success', ['skipped', 'skipped'], 'skip'],
    ['one_success', ['failed', 'timed_out'], 'upstream_failed'],

    ['one_failed', ['failed', 'running'], 'run'],
    ['one_failed', ['lost', 'succeeded'], 'run'],
    ['one_failed', ['succeeded', 'running'], 'wait'],
    ['one_failed', ['succeeded', 'skipped'], 'skip'],

    ['all_failed', ['failed', 'upstream_failed', 'timed_out'], 'run'],
    ['all_failed', ['failed', 'running'], 'wait'],
    ['all_failed', ['succeeded', 'running'], 'skip'],
    ['all_failed', ['failed', 'skipped'], 'skip'],

    ['none_failed', ['succeeded', 'skipped'], 'run'],
    ['none_failed', ['skipped', 'skipped'], 'run'],
    ['none_failed', ['succeeded', 'queued'], 'wait'],
    ['none_failed', ['failed', 'queued'], 'upstream_failed'],
    ['none_failed', ['upstream_failed', 'succeeded'], 'upstream_failed'],
  ])('%s with %j -> %s', (rule, upstream, expected) => {
    expect(evaluateTriggerRule(rule, upstream)).toBe(expected);
  });
});

function node(key: string, dependsOn: string[] = [], triggerRule: TriggerRule = 'all_success'): ReadinessNode {
  return { key, dependsOn, triggerRule };
}

describe('resolveReadiness', () => {
  const chain = [node('a'), node('b', ['a']), node('c', ['b']), node('cleanup', ['c'], 'all_done')];

  it.each<[string, ReadinessNode[], Record<string, S>, Record<string, string>]>([
    ['queues the roots of a fresh run', chain, {}, { a: 'queued' }],
    ['queues a task whose upstream succeeded', chain, { a: 'succeeded', b: 'pending' }, { b: 'queued' }],
    ['changes nothing while upstream runs', chain, { a: 'running' }, {}],
    [
      'cascades upstream_failed and then runs the all_done cleanup',
      chain,
      { a: 'failed' },
      { b: 'upstream_failed', c: 'upstream_failed', cleanup: 'queued' },
    ],
    ['cascades a skip', chain, { a: 'skipped' }, { b: 'skipped', c: 'skipped', cleanup: 'queued' }],
    [
      'leaves tasks that are no longer pending alone',
      chain,
      { a: 'failed', b: 'upstream_failed', c: 'cancelled', cleanup: 'queued' },
      {},
    ],
    [
      'decides across a definition order that is not topological',
      [node('c', ['b']), node('b', ['a']), node('a')],
      { a: 'failed' },
      { b: 'upstream_failed', c: 'upstream_failed' },
    ],
    [
      'runs a failure handler and skips the success path',
      [node('a'), node('on_fail', ['a'], 'one_failed'), node('on_ok', ['a']), node('after', ['on_ok'], 'none_failed')],
      { a: 'failed' },
      { on_fail: 'queued', on_ok: 'upstream_failed', after: 'upstream_failed' },
    ],
    [
      'joins branches once one succeeded',
      [node('x'), node('y'), node('join', ['x', 'y'], 'one_success'), node('next', ['join'])],
      { x: 'succeeded', y: 'running' },
      { join: 'queued' },
    ],
    ['waits for a retry instead of failing downstream', chain, { a: 'up_for_retry' }, {}],
  ])('%s', (_name, nodes, states, expected) => {
    expect(resolveReadiness(nodes, states)).toEqual(expected);
  });
});

describe('runOutcome', () => {
  const nodes = [node('a'), node('b', ['a']), node('on_fail', ['a'], 'one_failed')];

  it.each<[string, Record<string, S>, ReturnType<typeof runOutcome>]>([
    ['running while a task is pending', { a: 'succeeded', b: 'running' }, 'running'],
    ['running while a task waits for a retry', { a: 'up_for_retry', b: 'pending', on_fail: 'pending' }, 'running'],
    ['running while a task compensates', { a: 'succeeded', b: 'compensating', on_fail: 'skipped' }, 'running'],
    [
      'succeeded when every leaf succeeded or was skipped',
      { a: 'succeeded', b: 'succeeded', on_fail: 'skipped' },
      'succeeded',
    ],
    [
      'succeeded when a handled failure is not a leaf (the leaf rule)',
      { a: 'failed', b: 'skipped', on_fail: 'succeeded' },
      'succeeded',
    ],
    ['failed when a leaf failed', { a: 'succeeded', b: 'failed', on_fail: 'skipped' }, 'failed'],
    ['failed when a leaf is upstream_failed', { a: 'failed', b: 'upstream_failed', on_fail: 'succeeded' }, 'failed'],
    ['failed when a leaf was cancelled', { a: 'succeeded', b: 'cancelled', on_fail: 'skipped' }, 'failed'],
  ])('%s', (_name, states, expected) => {
    expect(runOutcome(nodes, states)).toBe(expected);
  });
});
