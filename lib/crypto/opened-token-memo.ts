import type { TokenSealer } from './token-seal';

/**
 * The plaintext of the sealed access tokens a worker is using, kept a few minutes. Opening a
 * sealed token (X25519 + HKDF + AES-GCM) cost ≈ 0.5 ms of CPU on every ANAF call, about a
 * twentieth of a lifecycle's worker CPU (bench/RESULTS.md, section 1), for a token that changes
 * once an hour. Keeping it is no new exposure: the process that holds it also holds the private
 * key that opens it, and it lives only in this process's memory (never logged, never returned).
 * A sealed string always opens to the same token, so the memo can never serve a wrong one; a
 * refreshed token is a new sealed string and is opened afresh. Bounded in age and count, and
 * swept while the worker is idle too, so a token it stopped using (revoked, replaced) is gone
 * from memory within `maxAgeMs` (plus a sweep interval).
 */
export class OpenedTokenMemo {
  private readonly opened = new Map<string, { plaintext: string; at: number }>();

  constructor(
    private readonly sealer: Pick<TokenSealer, 'open'>,
    private readonly options: { maxAgeMs: number; maxEntries: number } = { maxAgeMs: 5 * 60_000, maxEntries: 1024 },
  ) {}

  /** Runs while anything is kept; unref'd, so it never holds a process open. */
  private sweeper: NodeJS.Timeout | undefined;

  open(sealed: string): string {
    const now = Date.now();
    this.evict(now);
    const hit = this.opened.get(sealed);
    if (hit) return hit.plaintext;
    const plaintext = this.sealer.open(sealed);
    this.opened.set(sealed, { plaintext, at: now });
    this.evict(now);
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(60_000, this.options.maxAgeMs)).unref();
    return plaintext;
  }

  /** How many opened tokens are kept now (for tests). */
  get size(): number {
    return this.opened.size;
  }

  private sweep(): void {
    this.evict(Date.now());
    if (this.opened.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Entries past their age, then the oldest beyond the count (a Map iterates in insertion order). */
  private evict(now: number): void {
    for (const [sealed, entry] of this.opened) {
      if (this.opened.size <= this.options.maxEntries && now - entry.at < this.options.maxAgeMs) break;
      this.opened.delete(sealed);
    }
  }
}
