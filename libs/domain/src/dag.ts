import type { FieldError } from './errors.js';

export interface DagNode {
  key: string;
  dependsOn: readonly string[];
}

export interface ValidateDagOptions {
  /** Prefix of every error path, e.g. `tasks` gives `tasks[2].dependsOn[0]`. */
  pathPrefix?: string;
}

/**
 * Reports duplicate keys, unknown and self dependencies, repeated
 * dependencies, and each cycle once (one per strongly connected component),
 * named from its earliest-defined task along `dependsOn` edges:
 * `a -> b` reads "a depends on b".
 */
export function validateDag(nodes: readonly DagNode[], options: ValidateDagOptions = {}): FieldError[] {
  const prefix = options.pathPrefix ?? 'tasks';
  const errors: FieldError[] = [];
  const firstIndex = new Map<string, number>();

  nodes.forEach((node, i) => {
    const first = firstIndex.get(node.key);
    if (first === undefined) firstIndex.set(node.key, i);
    else
      errors.push({
        path: `${prefix}[${i}].key`,
        message: `duplicate task key "${node.key}" (also ${prefix}[${first}])`,
      });
  });

  // Edges by node index; only the first node of a duplicated key takes part in the graph.
  const edges: number[][] = nodes.map(() => []);
  nodes.forEach((node, i) => {
    const seen = new Set<string>();
    node.dependsOn.forEach((dep, k) => {
      const path = `${prefix}[${i}].dependsOn[${k}]`;
      if (seen.has(dep)) {
        errors.push({ path, message: `duplicate dependency "${dep}"` });
        return;
      }
      seen.add(dep);
      if (dep === node.key) {
        errors.push({ path, message: `task "${dep}" depends on itself` });
        return;
      }
      const target = firstIndex.get(dep);
      if (target === undefined) {
        errors.push({ path, message: `unknown task "${dep}"` });
        return;
      }
      if (firstIndex.get(node.key) === i) edges[i]!.push(target);
    });
  });

  const cyclic = stronglyConnectedComponents(edges)
    .filter((c) => c.length > 1)
    .map((c) => ({ start: Math.min(...c), members: c }))
    .sort((x, y) => x.start - y.start);
  for (const { start, members: component } of cyclic) {
    const cycle = shortestCycle(start, edges, new Set(component));
    errors.push({
      path: `${prefix}[${start}].dependsOn`,
      message: `cycle: ${cycle.map((i) => nodes[i]!.key).join(' -> ')}`,
    });
  }
  return errors;
}

/** Iterative Tarjan: a recursive one overflows the stack on long chains. */
function stronglyConnectedComponents(edges: readonly (readonly number[])[]): number[][] {
  const n = edges.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [node: number, edge: number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, e] = frame;
      if (e < edges[v]!.length) {
        frame[1]++;
        const w = edges[v]![e]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, index[w]!);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}

/** Breadth-first inside one component, so the named cycle is as short as possible. */
function shortestCycle(start: number, edges: readonly (readonly number[])[], within: ReadonlySet<number>): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of edges[v]!) {
      if (!within.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)!) path.push(u);
        path.push(start);
        // Collected backwards from the closing edge; put the start first again.
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export class DagCycleError extends Error {
  constructor(readonly keys: readonly string[]) {
    super(`the graph has a cycle through ${keys.map((k) => `"${k}"`).join(', ')}`);
    this.name = 'DagCycleError';
  }
}

/**
 * Kahn's algorithm where, among ready tasks, the earliest defined goes first,
 * so the order is stable across calls. Unknown dependencies are ignored
 * (validateDag reports them); a cycle throws DagCycleError.
 */
export function topologicalOrder(nodes: readonly DagNode[]): string[] {
  const indexOf = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!indexOf.has(n.key)) indexOf.set(n.key, i);
  });
  const dependents: number[][] = nodes.map(() => []);
  const remaining = new Array<number>(nodes.length).fill(0);
  nodes.forEach((n, i) => {
    if (indexOf.get(n.key) !== i) return;
    for (const dep of new Set(n.dependsOn)) {
      const d = indexOf.get(dep);
      if (d === undefined) continue;
      dependents[d]!.push(i);
      remaining[i]!++;
    }
  });

  const ready = new MinHeap();
  indexOf.forEach((i) => {
    if (remaining[i] === 0) ready.push(i);
  });
  const order: string[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(nodes[i]!.key);
    for (const d of dependents[i]!) if (--remaining[d]! === 0) ready.push(d);
  }
  if (order.length < indexOf.size) {
    const done = new Set(order);
    throw new DagCycleError([...indexOf.keys()].filter((k) => !done.has(k)));
  }
  return order;
}

/** Every task that depends on `key`, directly or transitively, in definition order. */
export function downstreamOf(nodes: readonly DagNode[], key: string): string[] {
  const dependents = new Map<string, string[]>();
  for (const n of nodes)
    for (const dep of n.dependsOn) {
      const list = dependents.get(dep) ?? [];
      list.push(n.key);
      dependents.set(dep, list);
    }
  const found = new Set<string>();
  const queue = [key];
  for (let head = 0; head < queue.length; head++)
    for (const d of dependents.get(queue[head]!) ?? [])
      if (!found.has(d) && d !== key) {
        found.add(d);
        queue.push(d);
      }
  return uniqueKeys(nodes).filter((k) => found.has(k));
}

/** Tasks nothing depends on; the run outcome is judged on these. */
export function leaves(nodes: readonly DagNode[]): string[] {
  const depended = new Set(nodes.flatMap((n) => n.dependsOn));
  return uniqueKeys(nodes).filter((k) => !depended.has(k));
}

/** Tasks with no dependency on a known task: they are ready as soon as the run starts. */
export function roots(nodes: readonly DagNode[]): string[] {
  const known = new Set(nodes.map((n) => n.key));
  return uniqueKeys(nodes.filter((n) => !n.dependsOn.some((d) => d !== n.key && known.has(d))));
}

function uniqueKeys(nodes: readonly DagNode[]): string[] {
  return [...new Set(nodes.map((n) => n.key))];
}

class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
