/**
 * A bounded memo: values computed once per key, the oldest key dropped first when full. For
 * pure renderers whose inputs can be written as a key far cheaper than the output is built (a
 * worker's Ignition: a few strings in, 3 KB of YAML-in-JSON out), and for the few encodings a
 * protocol server repeats on every message (a boot file name, a lease time).
 */
export class BoundedMemo<V, K extends string | number = string> {
  private readonly values = new Map<K, V>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`memo size must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.values.size;
  }

  /**
   * The value for `key`, computing (and keeping) it on first use. `compute` gets the key, so a
   * hot path can pass one function rather than a new closure per call.
   */
  get(key: K, compute: (key: K) => V): V {
    const hit = this.values.get(key);
    if (hit !== undefined) return hit;
    const v = compute(key);
    if (this.values.size >= this.max) this.values.delete(this.values.keys().next().value!);
    this.values.set(key, v);
    return v;
  }
}

/**
 * `read()`, re-read at most every `ms` milliseconds of `now()`: for facts that live on disk and
 * change rarely (an installed asset) but are asked for on every request.
 */
export function cachedFor<T>(ms: number, read: () => T, now: () => number = Date.now): () => T {
  let at = Number.NEGATIVE_INFINITY;
  let value: T;
  return () => {
    const t = now();
    if (t - at >= ms) {
      value = read();
      at = t;
    }
    return value;
  };
}
