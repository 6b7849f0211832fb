/**
 * Seeded randomness for everything a test might assert on (which request an errorRate
 * fault hits, WAF support ids). Secrets (codes, tokens, keys) use node:crypto instead:
 * they must be unguessable, not reproducible.
 */
export const DEFAULT_SEED = 0x5eed;

export class SeededRandom {
  private state = 0;

  constructor(private seed: number = DEFAULT_SEED) {
    this.reseed(seed);
  }

  reseed(seed: number = this.seed): void {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  /** mulberry32: tiny, fast, and good enough to spread faults evenly. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A string of `length` decimal digits, first one non-zero (like an F5 support id). */
  digits(length: number): string {
    let out = String(1 + Math.floor(this.next() * 9));
    while (out.length < length) out += String(Math.floor(this.next() * 10));
    return out;
  }
}
