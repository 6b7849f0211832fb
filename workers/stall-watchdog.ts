import type { Logger } from '../lib/logger';

/** The worker's exit code when the watchdog finds its workflow side wedged; supervisors restart on it. */
export const WORKER_STALLED_EXIT_CODE = 75;

/** What the watchdog reads of a Temporal Worker (a structural subset, so it can be tested alone). */
export interface WatchedWorker {
  numInFlightActivations$: { subscribe(next: (inFlight: number) => void): { unsubscribe(): void } };
  getState(): string;
  getStatus(): { hasOutstandingWorkflowPoll: boolean };
}

export interface StallWatchdogOptions {
  /** How long without any workflow progress counts as wedged. */
  stallMs: number;
  /** How often the worker's status is sampled. */
  sampleMs?: number;
  logger: Pick<Logger, 'error'>;
  /** What to do when wedged (the worker process exits with WORKER_STALLED_EXIT_CODE). */
  onStall: () => void;
}

/**
 * A healthy workflow worker is always either processing activations or waiting in a long
 * poll for the next one. The 10,000-waiting benchmark once saw the SDK core log "Extra buffered
 * run should not have produced an activation" and then neither: no poll on the task queue, no
 * activation, a backlog of thousands growing — for good, with the process alive and its
 * activities still running. Nothing is lost in that state, but nothing moves either, so the
 * watchdog turns it into a restart: Temporal hands the work to the next worker.
 *
 * Wedged = for `stallMs`, no activation started or finished AND no sample saw an outstanding
 * workflow poll. A busy worker changes its in-flight count; an idle one sits in a poll.
 */
export function watchWorkflowProgress(worker: WatchedWorker, options: StallWatchdogOptions): () => void {
  const sampleMs = options.sampleMs ?? Math.max(1_000, Math.floor(options.stallMs / 12));
  let lastProgress = Date.now();
  let stopped = false;
  const activations = worker.numInFlightActivations$.subscribe(() => {
    lastProgress = Date.now();
  });
  const timer = setInterval(() => {
    if (stopped || worker.getState() !== 'RUNNING') return;
    const status = worker.getStatus();
    if (status.hasOutstandingWorkflowPoll) {
      lastProgress = Date.now();
      return;
    }
    if (Date.now() - lastProgress < options.stallMs) return;
    options.logger.error({ status, stalledForMs: Date.now() - lastProgress }, 'workflow worker wedged: no poll and no activation; exiting for a restart');
    stop();
    options.onStall();
  }, sampleMs);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    activations.unsubscribe();
  };
  return stop;
}
