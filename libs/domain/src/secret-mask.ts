/** What a secret value is replaced with wherever Baton masks it. */
export const SECRET_MASK = '***';

/** The values to look for, longest first (a secret that contains another is masked whole), without empty ones. */
export function maskOrder(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each value replaced by `***`. */
export function maskText(text: string, values: readonly string[]): string {
  return maskOrdered(text, maskOrder(values));
}

/** `maskText` for values already in `maskOrder` (a hot path: every log line). */
export function maskOrdered(text: string, ordered: readonly string[]): string {
  let out = text;
  for (const v of ordered) if (out.includes(v)) out = out.split(v).join(SECRET_MASK);
  return out;
}

/**
 * A JSON document with the values masked in its strings and keys (a number
 * or boolean equal to a value becomes the string `***`), so the result stays
 * valid JSON whatever the values hold. Text that is not JSON is masked as text.
 */
export function maskJson(json: string, values: readonly string[]): string {
  const order = maskOrder(values);
  if (order.length === 0 || json === '') return json;
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return maskOrdered(json, order);
  }
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskOrdered(v, order);
    if (typeof v === 'number' || typeof v === 'boolean') return order.includes(String(v)) ? SECRET_MASK : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [maskOrdered(k, order), walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(doc));
}
