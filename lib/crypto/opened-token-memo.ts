import type { TokenSealer } from './token-seal';

/**
 * The plaintext of the sealed access tokens a worker is using, kept a few minutes. Opening a
 * sealed token (X25519 + HKDF + AES-GCM) cost ≈ 0.5 ms of CPU on every ANAF call, about a
 * twentieth of a lifecycle's worker CPU (bench/RESULTS.md, section 1), for a token that changes
 * once an hour. Keeping it is no new exposure: the process that holds it also holds the private
 * key that opens it, and it lives only in this process's memory (never logged, never returned).
 * A sealed string always opens to the same token, so the memo can never serve a wrong one; a
 * refreshed token is a new sealed string and is opened afresh. Bounded in age and count, so a
 * token the worker stopped using (revoked, replaced) does not stay in memory.
 */
export class OpenedTokenMemo {
  private readonly opened = new Map<string, { plaintext: string; at: number }>();

  constructor(
    private readonly sealer: Pick<TokenSealer, 'open'>,
    private readonly options: { maxAgeMs: number; maxEntries: number } = { maxAgeMs: 5 * 60_000, maxEntries: 1024 },
  ) {}

  open(sealed: string): string {
    const now = Date.now();
    const hit = this.opened.get(sealed);
    if (hit && now - hit.at < this.options.maxAgeMs) return hit.plaintext;
    const plaintext = this.sealer.open(sealed);
    this.opened.delete(sealed);
    this.opened.set(sealed, { plaintext, at: now });
    this.evict(now);
    return plaintext;
  }

  /** Entries past their age, then the oldest beyond the count (a Map iterates in insertion order). */
  private evict(now: number): void {
    for (const [sealed, entry] of this.opened) {
      if (this.opened.size <= this.options.maxEntries && now - entry.at < this.options.maxAgeMs) break;
      this.opened.delete(sealed);
    }
  }
}
