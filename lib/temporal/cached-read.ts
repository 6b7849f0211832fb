/**
 * A value read from Temporal per key (a query or a describe), reused for `cacheMs`, with one read in
 * flight per key in this process: fifty activities whose cache ran out ask once. When a read fails
 * (Temporal slow or away) an answer at most `staleMaxAgeMs` old stands in, for callers that cache
 * at all (`cacheMs` > 0).
 */
export class CachedRead<V> {
  private readonly cache = new Map<string, { value: V; at: number }>();
  private readonly pending = new Map<string, Promise<V>>();

  constructor(private readonly options: { cacheMs: number; staleMaxAgeMs: number }) {}

  async get(key: string, read: () => Promise<V>): Promise<V> {
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < this.options.cacheMs) return cached.value;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = read().finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    try {
      const value = await pending;
      this.cache.set(key, { value, at: Date.now() });
      return value;
    } catch (err) {
      if (cached && this.options.cacheMs > 0 && Date.now() - cached.at < this.options.staleMaxAgeMs) return cached.value;
      throw err;
    }
  }

  /** The next `get` of this key reads again (an answer known to be stale). */
  forget(key: string): void {
    this.cache.delete(key);
  }
}
