/**
 * A value read from Temporal per key (a query or a describe), reused for `cacheMs`, with one read in
 * flight per key in this process: fifty activities whose cache ran out ask once. When a read fails
 * (Temporal slow or away) an answer at most `staleMaxAgeMs` old stands in, for callers that cache
 * at all (`cacheMs` > 0).
 */
export class CachedRead<V> {
  private readonly cache = new Map<string, { value: V; at: number; expired?: boolean }>();
  private readonly pending = new Map<string, { read: Promise<V>; generation: number }>();
  /** Bumped by `forget`: a read started before it neither serves a later `get` nor is cached. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly options: { cacheMs: number; staleMaxAgeMs: number }) {}

  async get(key: string, read: () => Promise<V>): Promise<V> {
    const cached = this.cache.get(key);
    if (cached && !cached.expired && Date.now() - cached.at < this.options.cacheMs) return cached.value;
    const generation = this.generations.get(key) ?? 0;
    let pending = this.pending.get(key);
    if (!pending || pending.generation !== generation) {
      const started: { read: Promise<V>; generation: number } = {
        generation,
        read: read().finally(() => {
          if (this.pending.get(key) === started) this.pending.delete(key);
        }),
      };
      pending = started;
      this.pending.set(key, pending);
    }
    try {
      const value = await pending.read;
      if ((this.generations.get(key) ?? 0) === generation) this.cache.set(key, { value, at: Date.now() });
      return value;
    } catch (err) {
      if (cached && this.options.cacheMs > 0 && Date.now() - cached.at < this.options.staleMaxAgeMs) return cached.value;
      throw err;
    }
  }

  /**
   * The next `get` of this key reads again (an answer known to be stale), without joining a read
   * already in flight, which may have started before the change. The old answer stays only as the
   * stand-in while Temporal cannot be asked.
   */
  forget(key: string): void {
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    const cached = this.cache.get(key);
    if (cached) cached.expired = true;
  }
}
