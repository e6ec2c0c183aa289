import { describe, expect, it } from 'vitest';

import { DagCycleError, downstreamOf, leaves, roots, topologicalOrder, validateDag } from './dag.js';
import type { DagNode } from './dag.js';

/** `'b:a,c'` = task b depends on a and c. */
function dag(...specs: string[]): DagNode[] {
  return specs.map((s) => {
    const [key, deps] = s.split(':');
    return { key: key!, dependsOn: deps ? deps.split(',') : [] };
  });
}

describe('validateDag', () => {
  it.each<[string, DagNode[], { path: string; message: string }[]]>([
    ['a valid diamond', dag('a', 'b:a', 'c:a', 'd:b,c'), []],
    ['an empty graph', [], []],
    [
      'a duplicate key',
      dag('x', 'y', 'z', 'x'),
      [{ path: 'tasks[3].key', message: 'duplicate task key "x" (also tasks[0])' }],
    ],
    [
      'an unknown dependency',
      dag('a', 'b', 'c:a,zz'),
      [{ path: 'tasks[2].dependsOn[1]', message: 'unknown task "zz"' }],
    ],
    ['a self dependency', dag('a:a'), [{ path: 'tasks[0].dependsOn[0]', message: 'task "a" depends on itself' }]],
    [
      'a repeated dependency',
      dag('a', 'b:a,a'),
      [{ path: 'tasks[1].dependsOn[1]', message: 'duplicate dependency "a"' }],
    ],
    ['a two-node cycle', dag('a:b', 'b:a'), [{ path: 'tasks[0].dependsOn', message: 'cycle: a -> b -> a' }]],
    [
      'a three-node cycle named once from its first task',
      dag('start', 'a:c,start', 'b:a', 'c:b'),
      [{ path: 'tasks[1].dependsOn', message: 'cycle: a -> c -> b -> a' }],
    ],
    [
      'the shortest cycle of a tangled component',
      dag('a:b', 'b:c', 'c:a,b', 'd:a'),
      [{ path: 'tasks[0].dependsOn', message: 'cycle: a -> b -> c -> a' }],
    ],
    [
      'two separate cycles',
      dag('a:b', 'b:a', 'c:d', 'd:c'),
      [
        { path: 'tasks[0].dependsOn', message: 'cycle: a -> b -> a' },
        { path: 'tasks[2].dependsOn', message: 'cycle: c -> d -> c' },
      ],
    ],
  ])('%s', (_name, nodes, expected) => {
    expect(validateDag(nodes)).toEqual(expected);
  });

  it('uses the path prefix it is given', () => {
    expect(validateDag(dag('a:q'), { pathPrefix: 'spec.steps' })).toEqual([
      { path: 'spec.steps[0].dependsOn[0]', message: 'unknown task "q"' },
    ]);
  });

  it('handles a 10,000 task chain without overflowing the stack', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => ({
      key: `t${i}`,
      dependsOn: i === 0 ? ['t9999'] : [`t${i - 1}`],
    }));
    const errors = validateDag(nodes);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('tasks[0].dependsOn');
    expect(errors[0]!.message.startsWith('cycle: t0 -> t9999 -> t9998')).toBe(true);
  });
});

describe('topologicalOrder', () => {
  it.each<[string, DagNode[], string[]]>([
    ['keeps definition order among independent tasks', dag('c', 'a', 'b'), ['c', 'a', 'b']],
    ['puts dependencies first', dag('d:b,c', 'c:a', 'b:a', 'a'), ['a', 'c', 'b', 'd']],
    ['takes the earliest defined ready task next', dag('a', 'x:a', 'b', 'y:b'), ['a', 'x', 'b', 'y']],
    ['ignores unknown dependencies', dag('a:ghost', 'b:a'), ['a', 'b']],
    ['handles an empty graph', [], []],
  ])('%s', (_name, nodes, expected) => {
    expect(topologicalOrder(nodes)).toEqual(expected);
  });

  it('throws on a cycle, naming the tasks caught in it', () => {
    expect(() => topologicalOrder(dag('a', 'b:a,c', 'c:b'))).toThrow(DagCycleError);
    expect(() => topologicalOrder(dag('a', 'b:a,c', 'c:b'))).toThrow('"b", "c"');
  });
});

describe('graph queries', () => {
  const diamond = dag('a', 'b:a', 'c:a', 'd:b,c', 'e');

  it.each<[string, string[]]>([
    ['a', ['b', 'c', 'd']],
    ['b', ['d']],
    ['d', []],
    ['e', []],
    ['unknown', []],
  ])('downstreamOf %s', (key, expected) => {
    expect(downstreamOf(diamond, key)).toEqual(expected);
  });

  it.each<[string, DagNode[], string[], string[]]>([
    ['diamond plus a lone task', diamond, ['a', 'e'], ['d', 'e']],
    ['chain', dag('a', 'b:a', 'c:b'), ['a'], ['c']],
    ['fan-out', dag('a', 'b:a', 'c:a'), ['a'], ['b', 'c']],
  ])('roots and leaves of a %s', (_name, nodes, expectedRoots, expectedLeaves) => {
    expect(roots(nodes)).toEqual(expectedRoots);
    expect(leaves(nodes)).toEqual(expectedLeaves);
  });
});
