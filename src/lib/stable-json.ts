/**
 * Byte-stable JSON: object keys sorted at every depth, arrays in order, two-space indent and a
 * final newline. Generated configs are compared with golden files and hashed, so the same
 * input must always give the same bytes (cdk8s does the same for its YAML).
 */
export function stableStringify(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/** A copy of `v` with object keys sorted at every depth and undefined members dropped. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
