/**
 * Bounds for waits on child processes and the calls around them (the dev server, the process
 * harness, the chaos suite). A process stays alive while anything it awaits is pending, so an
 * await that only a dead child or a stopped Temporal could end hung a CI run for good
 * (test/integration/chaos.test.ts); every such wait goes through one of these instead.
 */
import type { ChildProcess } from 'node:child_process';

/** `work`, or a rejection naming `what` once `ms` have passed (its timer is cleared as soon as `work` settles). */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work` to settle, at most `ms`; whether it settled in time. Never rejects (for clean-up). */
export function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  return within(settled, ms, 'clean-up').catch(() => false);
}

/** Whether the child has exited: by a code, or by a signal (then exitCode is null and only signalCode says so). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true once the child has exited (also when it already had: its 'exit' will not fire again), false after `ms`. */
export function exitedWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return settledWithin(new Promise((resolve) => child.once('exit', resolve)), ms).then(() => hasExited(child));
}

/**
 * Stops a child for sure: `signal` (SIGTERM lets it finish in-flight work), up to `graceMs` for
 * it to exit, then SIGKILL and up to 5 s more. Returns at once for a child already gone.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (hasExited(child)) return;
  child.kill(signal);
  if (await exitedWithin(child, signal === 'SIGKILL' ? 5_000 : graceMs)) return;
  child.kill('SIGKILL');
  await exitedWithin(child, 5_000);
}
