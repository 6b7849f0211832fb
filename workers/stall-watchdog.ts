import type { Logger } from '../lib/observability/logger';
import { workerStallSuspicions, workerWorkflowBacklogAge, workerWorkflowPollAge } from '../lib/observability/metrics';

/** The worker's exit code when the watchdog finds its workflow side wedged; supervisors restart on it. */
export const WORKER_STALLED_EXIT_CODE = 75;

/** What the server says about the worker's workflow task queue (see `workflowQueueProbe`). */
export interface QueueObservation {
  /** Age of the oldest workflow task waiting on the queue; 0 when nothing waits. */
  backlogAgeMs: number;
  /** Since this worker last polled that queue, as the server saw it; undefined when it is not listed at all. */
  lastPollAgoMs: number | undefined;
  /** Since the most recent poll of any other worker on that queue; undefined when there is none. */
  othersLastPollAgoMs?: number | undefined;
}

export interface StallWatchdogOptions {
  /** How long work may wait while this worker does not poll before it counts as wedged. */
  stallMs: number;
  /** How often the server is asked. */
  sampleMs?: number;
  logger: Pick<Logger, 'error' | 'debug'>;
  /** What to do when wedged (the worker process exits with WORKER_STALLED_EXIT_CODE). */
  onStall: () => void;
}

/**
 * The 10,000-waiting benchmark saw the SDK core log "Extra buffered run should not have produced
 * an activation" and then stop polling the workflow task queue for good, twice, while the
 * process stayed alive: its sticky queue and activities went on, thousands of new workflows
 * waited. Nothing is lost in that state, but nothing new moves, so the watchdog turns it into a
 * restart: Temporal hands the work to the next worker process.
 *
 * Wedged = seen twice in a row, either the server reports workflow tasks waiting for longer
 * than `stallMs` while this worker has not polled the queue for `stallMs` (a healthy worker,
 * however busy, keeps polling while there is a backlog), or — when peers keep the backlog
 * drained — this worker has not polled for 2 × `stallMs` while another worker polled within
 * `stallMs` (a healthy worker re-polls at least every long-poll interval, about a minute).
 * A probe that fails (server away) says nothing.
 */
export function watchWorkflowProgress(probe: () => Promise<QueueObservation>, options: StallWatchdogOptions): () => void {
  const sampleMs = options.sampleMs ?? Math.max(1_000, Math.floor(options.stallMs / 8));
  let stopped = false;
  let suspicious = 0;
  let probing = false;
  const check = async () => {
    if (stopped || probing) return;
    probing = true;
    try {
      const seen = await probe();
      const notPolling = (forMs: number) => seen.lastPollAgoMs === undefined || seen.lastPollAgoMs >= forMs;
      const peersPolling = seen.othersLastPollAgoMs !== undefined && seen.othersLastPollAgoMs < options.stallMs;
      const wedged =
        (seen.backlogAgeMs >= options.stallMs && notPolling(options.stallMs)) || (peersPolling && notPolling(2 * options.stallMs));
      workerWorkflowBacklogAge.set(seen.backlogAgeMs / 1000);
      workerWorkflowPollAge.set(seen.lastPollAgoMs === undefined ? -1 : seen.lastPollAgoMs / 1000);
      if (wedged) workerStallSuspicions.inc();
      suspicious = wedged ? suspicious + 1 : 0;
      if (suspicious < 2 || stopped) return;
      options.logger.error({ ...seen }, 'workflow worker wedged: work waits and this worker has stopped polling; exiting for a restart');
      stop();
      options.onStall();
    } catch (err) {
      options.logger.debug({ err }, 'stall watchdog could not ask the server');
    } finally {
      probing = false;
    }
  };
  const timer = setInterval(() => void check(), sampleMs);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
