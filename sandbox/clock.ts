/**
 * The sandbox's notion of "now". Codes live 60 s and tokens 90/365 days: tests move this
 * clock instead of sleeping. It is an offset over a base clock, so time keeps flowing
 * normally between jumps. Timers set with `after` (fault latency, held answers) run on
 * this clock: they fire when its time is reached, by the base clock flowing or by a jump,
 * so a test can move a delay past its end instead of waiting it out.
 */
interface ClockTimer {
  due: number;
  run: () => void;
  real?: NodeJS.Timeout;
}

export class SandboxClock {
  private offsetMs = 0;
  private readonly timers = new Set<ClockTimer>();

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`clock advance must be a finite number of ms, got ${ms}`);
    this.offsetMs += ms;
    this.rearm();
  }

  /** Jumps so that now() returns `epochMs` at this instant. */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs)) throw new RangeError(`clock time must be a finite epoch ms, got ${epochMs}`);
    this.offsetMs = epochMs - this.base();
    this.rearm();
  }

  get offset(): number {
    return this.offsetMs;
  }

  reset(): void {
    this.offsetMs = 0;
    this.rearm();
  }

  /** Runs `fn` once this clock has moved `ms` past now; returns a cancel function. */
  after(ms: number, fn: () => void): () => void {
    const timer: ClockTimer = { due: this.now() + ms, run: fn };
    this.timers.add(timer);
    this.arm(timer);
    return () => this.cancel(timer);
  }

  /** Timers set with `after` that have not fired yet. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  private cancel(timer: ClockTimer): void {
    clearTimeout(timer.real);
    this.timers.delete(timer);
  }

  /** Fires the timer if it is due, else waits in real time for what is left (checked again then: the base may be slower). */
  private arm(timer: ClockTimer): void {
    clearTimeout(timer.real);
    const left = timer.due - this.now();
    if (left <= 0) {
      this.timers.delete(timer);
      timer.run();
      return;
    }
    timer.real = setTimeout(() => this.arm(timer), Math.min(left, 2_147_483_647));
  }

  private rearm(): void {
    for (const t of [...this.timers]) if (this.timers.has(t)) this.arm(t);
  }
}
