import { SECRET_MASK, maskOrder } from '@baton/domain';

const MASK = Buffer.from(SECRET_MASK);

/**
 * Masks secret values in one output stream of a task before it leaves the
 * host. A value may be split across chunks, so the last (longest value − 1)
 * bytes of each chunk are held back until the next chunk or the end: they are
 * the only bytes that could begin a value the next chunk completes.
 */
export class StreamMasker {
  private readonly values: Buffer[];
  private readonly keep: number;
  private tail = Buffer.alloc(0);

  constructor(values: readonly string[]) {
    this.values = maskOrder(values).map((v) => Buffer.from(v, 'utf8'));
    this.keep = Math.max(0, (this.values[0]?.length ?? 0) - 1);
  }

  /** The masked bytes that are safe to send now. */
  push(chunk: Buffer): Buffer {
    if (this.values.length === 0) return chunk;
    return this.scan(Buffer.concat([this.tail, chunk]), false);
  }

  /** The held-back bytes, masked: at the end of the stream. */
  end(): Buffer {
    return this.values.length === 0 ? Buffer.alloc(0) : this.scan(this.tail, true);
  }

  private scan(buf: Buffer, final: boolean): Buffer {
    // A match starting before `safe` lies wholly inside `buf`; bytes from `safe` on may start a split value.
    const safe = final ? buf.length : Math.max(0, buf.length - this.keep);
    const out: Buffer[] = [];
    const next = this.values.map((v) => buf.indexOf(v));
    let pos = 0;
    for (;;) {
      // The earliest match; at equal positions the longest value (values are sorted longest first).
      let best = -1;
      for (let i = 0; i < next.length; i++) {
        if (next[i]! >= 0 && (best < 0 || next[i]! < next[best]!)) best = i;
      }
      if (best < 0 || next[best]! >= safe) break;
      const at = next[best]!;
      out.push(buf.subarray(pos, at), MASK);
      pos = at + this.values[best]!.length;
      for (let i = 0; i < next.length; i++)
        if (next[i]! >= 0 && next[i]! < pos) next[i] = buf.indexOf(this.values[i]!, pos);
    }
    const cut = Math.max(pos, safe);
    out.push(buf.subarray(pos, cut));
    this.tail = Buffer.from(buf.subarray(cut));
    return Buffer.concat(out);
  }
}
