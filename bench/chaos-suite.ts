/**
 * The chaos suite: e-Factura lifecycles through the API while worker processes are killed
 * with SIGKILL at random moments, the Temporal dev server is stopped and restarted on its
 * SQLite file, and the sandbox misbehaves in every way at once (5xx, 429 bursts, WAF pages,
 * answers lost after the upload was processed, truncated ZIPs, slow answers). It passes
 * when every lifecycle ends (ACCEPTED, or a typed failure), none is lost, and the sandbox
 * counted at most one upload per invoice (exactly one for each accepted invoice).
 *
 * `npm run chaos` (bench/chaos.ts) runs the full form (1,000 lifecycles);
 * test/integration/chaos.test.ts runs a short form in CI.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { FaultRule } from '../sandbox';
import { SeededRandom } from '../sandbox/random';
import type { SubmissionView } from '../workflows/efactura/types';
import { benchInvoice, Harness, pool, type WorkerProcess } from './harness';

export interface ChaosOptions {
  lifecycles: number;
  /** Worker processes kept alive (a killed one is replaced, as a supervisor would). */
  workers: number;
  /** Random pause between two SIGKILLs, ms. */
  killEveryMs: [number, number];
  /** No more kills after this many: each one strands the activities in flight until their timeouts (1–3 min). */
  maxKills: number;
  /** Restart the Temporal server once this fraction of the submissions has been made. */
  restartTemporalAt: number;
  faults: boolean;
  /** Give up (and fail) after this long. */
  timeoutMs: number;
  seed: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  lifecycles: number;
  ended: number;
  lost: number;
  outcomes: Record<string, number>;
  failures: Record<string, number>;
  duplicateUploads: number;
  acceptedWithoutExactlyOneUpload: number;
  workerKills: number;
  temporalRestartMs: number | undefined;
  faultsFired: number;
  uploadsSeen: number;
  seconds: number;
}

const SELLER = '18547290'; // passes the CIF check digit
const BUYER = '14399840';

/** Every kind of misbehaviour at once, on a fraction of the calls (seeded, so a run can be repeated). */
export function chaosFaults(): FaultRule[] {
  const upload = '^/test/FCTEL/rest/upload';
  const stare = '/test/FCTEL/rest/stareMesaj';
  const download = '/test/FCTEL/rest/descarcare';
  return [
    { route: upload, method: 'POST', errorRate: 0.04, status: 503, body: 'Service Unavailable' },
    { route: upload, method: 'POST', errorRate: 0.04, html: 'waf' },
    { route: upload, method: 'POST', errorRate: 0.06, resetAfterReceive: true },
    { route: upload, method: 'POST', errorRate: 0.05, latencyMs: 1500 },
    { route: upload, method: 'POST', burst429: 5 },
    { route: stare, errorRate: 0.05, status: 502, body: 'Bad Gateway' },
    { route: stare, errorRate: 0.03, html: 'gateway' },
    { route: stare, errorRate: 0.05, resetAfterReceive: true },
    { route: stare, burst429: 10 },
    { route: download, errorRate: 0.05, status: 200, contentType: 'application/zip', body: 'PK\u0003\u0004\u0014\u0000\u0000\u0000\u0008\u0000truncated' },
    { route: download, errorRate: 0.05, latencyMs: 2000 },
    { route: download, errorRate: 0.04, status: 500, body: 'Internal Server Error' },
  ];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  const started = performance.now();
  const harness = await Harness.start({
    label: 'chaos',
    sandbox: { seed: options.seed, efactura: { processingDelayMs: 500, perMinuteLimit: 1_000_000 } },
    env: {
      ANAF_CALLS_PER_MINUTE: '60000',
      EFACTURA_FIRST_POLL_SECONDS: '0.5',
      EFACTURA_MAX_POLL_INTERVAL_SECONDS: '2',
      EFACTURA_LISTING_DELAY_SECONDS: '4',
    },
  });
  let stopChaos = false;
  let workerKills = 0;
  let temporalRestartMs: number | undefined;
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (let i = 0; i < options.workers; i++) await harness.spawnWorker();
    await harness.authorize(SELLER);
    if (options.faults) harness.sandbox.faults.set(chaosFaults(), { seed: options.seed });
    log(`chaos: stack up in ${((performance.now() - started) / 1000).toFixed(1)} s; ${options.lifecycles} lifecycles, ${options.workers} workers`);

    // A supervisor: keeps `workers` processes alive, kills one at random intervals.
    const supervisor = (async () => {
      while (!stopChaos && workerKills < options.maxKills) {
        const [min, max] = options.killEveryMs;
        await new Promise((r) => setTimeout(r, min + random.next() * (max - min)));
        if (stopChaos) break;
        const alive = [...harness.workers];
        const victim: WorkerProcess | undefined = alive[Math.floor(random.next() * alive.length)];
        if (victim) {
          await harness.killWorker(victim, 'SIGKILL');
          workerKills += 1;
        }
        while (!stopChaos && harness.workers.size < options.workers) {
          try {
            await harness.spawnWorker();
          } catch (err) {
            log(`chaos: a worker did not start (${(err as Error).message}); trying again`);
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      }
    })();

    const numbers = Array.from({ length: options.lifecycles }, (_, i) => `CH-${options.seed}-${i + 1}`);
    let submitted = 0;
    let restart: Promise<void> | undefined;
    const ids = await pool(numbers, 16, async (number) => {
      const id = await harness.submitInvoice(SELLER, benchInvoice(SELLER, BUYER, number), number);
      submitted += 1;
      if (!restart && submitted >= options.lifecycles * options.restartTemporalAt) {
        restart = harness.restartTemporal('SIGTERM').then((ms) => {
          temporalRestartMs = ms;
          log(`chaos: Temporal server restarted in ${ms.toFixed(0)} ms`);
        });
      }
      return id;
    });
    await restart;
    log(`chaos: ${ids.length} submitted after ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for every lifecycle to end`);

    const views = new Map<string, SubmissionView | Error>();
    const progress = setInterval(() => log(`chaos: ${views.size}/${ids.length} ended, ${workerKills} worker kills so far`), 10_000);
    await pool(ids, 64, async (id) => {
      while (Date.now() < deadline) {
        // Bounded long polls, so the deadline holds and nothing polls on after the harness closes.
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), Math.min(15_000, Math.max(1, deadline - Date.now())));
        try {
          const view = await harness.client.withAbortSignal(controller.signal, () => harness.client.workflow.getHandle(id).result());
          views.set(id, view as SubmissionView);
          return;
        } catch (err) {
          if (err instanceof WorkflowFailedError) {
            views.set(id, err);
            return;
          }
          // Temporal restarting, or our own bound: ask again.
          if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, 500));
        } finally {
          clearTimeout(timer);
        }
      }
    });
    clearInterval(progress);
    const stuck: string[] = [];
    for (const id of ids) {
      if (views.has(id) || stuck.length >= 5) continue;
      const stage = await harness.client.workflow
        .getHandle(id)
        .query<SubmissionView>('submission')
        .then((v) => `${v.stage}${v.attentionReason ? ` (${v.attentionReason})` : ''}`)
        .catch((err: Error) => `query failed: ${err.message}`);
      stuck.push(`${id}: ${stage}`);
    }
    if (stuck.length) log(`chaos: not ended: ${stuck.join('; ')}`);
    stopChaos = true;
    await supervisor;

    const outcomes: Record<string, number> = {};
    const failures: Record<string, number> = {};
    let duplicateUploads = 0;
    let acceptedWithoutExactlyOneUpload = 0;
    numbers.forEach((number, i) => {
      const view = views.get(ids[i]!);
      const uploads = harness.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20');
      if (uploads > 1) duplicateUploads += uploads - 1;
      if (uploads > 1 && view && !(view instanceof Error)) {
        // What the workflow decided on the way, so a failed run can be diagnosed from its output.
        log(`chaos: ${number} uploaded ${uploads}×; attempts ${JSON.stringify(view.attempts)}; decisions ${JSON.stringify(view.decisions)}`);
      }
      if (!view) return;
      if (view instanceof Error) {
        outcomes.WORKFLOW_FAILED = (outcomes.WORKFLOW_FAILED ?? 0) + 1;
        return;
      }
      const outcome = view.outcome ?? 'NONE';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (outcome !== 'ACCEPTED') {
        const code = `${outcome}: ${(view.errors[0] ?? view.attentionReason ?? 'no message').slice(0, 80)}`;
        failures[code] = (failures[code] ?? 0) + 1;
      } else if (uploads !== 1) acceptedWithoutExactlyOneUpload += 1;
    });
    const ended = views.size;
    return {
      lifecycles: options.lifecycles,
      ended,
      lost: options.lifecycles - ended,
      outcomes,
      failures,
      duplicateUploads,
      acceptedWithoutExactlyOneUpload,
      workerKills,
      temporalRestartMs,
      faultsFired: harness.sandbox.faults.list().reduce((n, r) => n + r.fired, 0),
      uploadsSeen: harness.sandbox.efactura.state.totalUploads,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    stopChaos = true;
    await harness.close();
  }
}

export function chaosPassed(report: ChaosReport): boolean {
  return report.lost === 0 && report.duplicateUploads === 0 && report.acceptedWithoutExactlyOneUpload === 0 && !report.outcomes.WORKFLOW_FAILED;
}
