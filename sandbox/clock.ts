/**
 * The sandbox's notion of "now". Codes live 60 s and tokens 90/365 days: tests move this
 * clock instead of sleeping. It is an offset over a base clock, so time keeps flowing
 * normally between jumps (a latency fault still takes real time).
 */
export class SandboxClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`clock advance must be a finite number of ms, got ${ms}`);
    this.offsetMs += ms;
  }

  /** Jumps so that now() returns `epochMs` at this instant. */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs)) throw new RangeError(`clock time must be a finite epoch ms, got ${epochMs}`);
    this.offsetMs = epochMs - this.base();
  }

  get offset(): number {
    return this.offsetMs;
  }

  reset(): void {
    this.offsetMs = 0;
  }
}
