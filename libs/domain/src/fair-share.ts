/**
 * Weighted fair shares of one dispatch batch across tenants (deficit round
 * robin in closed form). Each tenant with demand gets budget × weight / Σweight,
 * capped at its demand; what a capped tenant cannot use is shared again among
 * the others. Fractions are carried in `credit` from batch to batch, so small
 * batches honour the weights over time (a weight-1 tenant beside a weight-3
 * one gets every fourth task, not none).
 */
export interface Contender {
  readonly id: string;
  /** Relative share; 1 is the default. */
  readonly weight: number;
  /** How many tasks it could take now (queued work it has agents for). */
  readonly demand: number;
}

/** Credit a tenant may bank between batches: enough to carry fractions, not to burst. */
const MAX_CREDIT = 1;

export function fairShares(
  budget: number,
  contenders: readonly Contender[],
  credit: Map<string, number>,
): Map<string, number> {
  const alloc = new Map<string, number>(contenders.map((c) => [c.id, 0]));
  let open = contenders.filter((c) => c.demand > 0 && c.weight > 0);
  let left = Math.max(0, Math.floor(budget));
  while (left > 0 && open.length > 0) {
    const total = open.reduce((n, c) => n + c.weight, 0);
    let given = 0;
    for (const c of open) {
      const have = (credit.get(c.id) ?? 0) + (left * c.weight) / total;
      const take = Math.min(Math.floor(have + 1e-9), c.demand - alloc.get(c.id)!, left - given);
      alloc.set(c.id, alloc.get(c.id)! + take);
      credit.set(c.id, have - take);
      given += take;
    }
    if (given === 0) {
      // Only fractions left: the one owed most gets the next task.
      let best = open[0]!;
      for (const c of open) if ((credit.get(c.id) ?? 0) > (credit.get(best.id) ?? 0)) best = c;
      alloc.set(best.id, alloc.get(best.id)! + 1);
      credit.set(best.id, (credit.get(best.id) ?? 0) - 1);
      given = 1;
    }
    left -= given;
    open = open.filter((c) => alloc.get(c.id)! < c.demand);
  }
  for (const c of contenders) {
    // A tenant that got all it asked for banks nothing: it could not have used more.
    const banked = alloc.get(c.id)! >= c.demand ? Math.min(credit.get(c.id) ?? 0, 0) : (credit.get(c.id) ?? 0);
    credit.set(c.id, Math.max(-MAX_CREDIT, Math.min(MAX_CREDIT, banked)));
  }
  return alloc;
}

/** Jain's fairness index of what each party got (1 = perfectly even, 1/n = one party got everything). */
export function jainIndex(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}
