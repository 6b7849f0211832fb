/**
 * The chaos suite: e-Factura lifecycles through the API while worker processes are killed
 * with SIGKILL at random moments, the Temporal dev server is stopped and restarted on its
 * SQLite file, and the sandbox misbehaves in every way at once (5xx, 429 bursts, WAF pages,
 * answers lost after the upload was processed, truncated ZIPs, slow answers). It passes
 * when every lifecycle ends, none is lost, the sandbox counted at most one upload per
 * invoice (exactly one for each accepted invoice), every index adopted from ANAF's listing
 * is the invoice's own, nothing ended FAILED but on a documented final ANAF answer — and
 * the chaos hit what matters: an upload's answer was lost after ANAF processed it, and a
 * SIGKILL landed on a worker while its upload was in flight.
 *
 * `npm run chaos` (bench/chaos.ts) runs the full form (1,000 lifecycles);
 * test/integration/chaos.test.ts runs a short form in CI.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { FaultRule, FaultRuleView } from '../../sandbox';
import { SeededRandom } from '../../sandbox/random';
import type { SubmissionView } from '../../workflows/efactura/types';
import { adoptedIndexMismatch, DOCUMENTED_FINAL_ANAF_ANSWERS, lastActivityFailureType } from './checks';
import { within } from '../../lib/process/bounded';
import { pidHoldingConnection } from '../proc';
import { ublInvoice } from '../fixtures/invoice';
import { pool } from '../pool';
import { Harness, type TemporalStackFactory, type WorkerProcess } from '../process-harness';

export interface ChaosOptions {
  lifecycles: number;
  /** Worker processes kept alive (a killed one is replaced, as a supervisor would). */
  workers: number;
  /** Random pause between two SIGKILLs, ms (the first one comes as soon as an upload is in flight). */
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
  /** What Temporal runs on (default: a dev server of the harness's own; bench/cluster-stack.ts: the cluster). */
  temporal?: TemporalStackFactory;
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
  /** SIGKILLs that hit the worker holding an upload the sandbox had not answered yet (the answer never reached it). */
  killsDuringUpload: number;
  temporalRestartMs: number | undefined;
  faultsFired: number;
  /** Firings of the upload rules that drop the answer after the sandbox processed the upload (resetAfterReceive). */
  uploadAnswersLost: number;
  /** Lifecycles that took an index from ANAF's listing (ADOPTED_LISTED_INDEX). */
  adoptedIndexes: number;
  /** Adopted indexes that are another invoice's upload (or none). */
  adoptedIndexMismatches: string[];
  /** Lifecycles that did not end ACCEPTED or on ANAF's documented final answer (see checks.ts). */
  unexplainedFailures: string[];
  uploadsSeen: number;
  seconds: number;
}

const SELLER = '18547290'; // passes the CIF check digit
const BUYER = '14399840';
const ISSUE_DATE = '2026-11-20'; // ublInvoice's default
const UPLOAD_PATH = '/test/FCTEL/rest/upload';
/** Outcomes that are ANAF's own verdict on the invoice. */
const ANAF_VERDICTS = new Set(['ACCEPTED', 'REJECTED', 'REJECTED_AT_UPLOAD']);
/** How long a kill waits for an upload to be in flight before it hits a random worker. */
const AIM_AT_UPLOAD_MS = 15_000;

/** Every kind of misbehaviour at once, on a fraction of the calls (seeded, so a run can be repeated). */
export function chaosFaults(): FaultRule[] {
  const upload = '^/test/FCTEL/rest/upload';
  const stare = '/test/FCTEL/rest/stareMesaj';
  const download = '/test/FCTEL/rest/descarcare';
  return [
    { route: upload, method: 'POST', errorRate: 0.04, status: 503, body: 'Service Unavailable' },
    { route: upload, method: 'POST', errorRate: 0.04, html: 'waf' },
    { route: upload, method: 'POST', errorRate: 0.06, resetAfterReceive: true },
    // Filed, then the answer held back for a while: the supervisor SIGKILLs the worker waiting on
    // one, which is ANAF having filed an upload whose sender died before reading the answer.
    { route: upload, method: 'POST', errorRate: 0.2, holdAnswer: 2500 },
    { route: upload, method: 'POST', burst429: 5 },
    { route: stare, errorRate: 0.05, status: 502, body: 'Bad Gateway' },
    { route: stare, errorRate: 0.03, html: 'gateway' },
    { route: stare, errorRate: 0.05, resetAfterReceive: true },
    { route: stare, burst429: 10 },
    {
      route: download,
      errorRate: 0.05,
      status: 200,
      contentType: 'application/zip',
      body: 'PK\u0003\u0004\u0014\u0000\u0000\u0000\u0008\u0000truncated',
    },
    { route: download, errorRate: 0.05, latencyMs: 2000 },
    { route: download, errorRate: 0.04, status: 500, body: 'Internal Server Error' },
  ];
}

/** Two more answers lost after processing, added once the 429 burst is spent (so they fall on uploads that are processed). */
const SURE_LOST_ANSWERS: FaultRule = { route: '^/test/FCTEL/rest/upload', method: 'POST', resetAfterReceive: true, times: 2 };

function isUploadRule(rule: FaultRule): boolean {
  return rule.route.includes(UPLOAD_PATH);
}

/** Firings of the upload rules that lose the answer after processing; a spent `times` rule has left the list having fired `times`. */
function uploadAnswersLost(live: FaultRuleView[], sure: FaultRuleView | undefined): number {
  const fired = live.filter((r) => isUploadRule(r) && r.resetAfterReceive && r.id !== sure?.id).reduce((n, r) => n + r.fired, 0);
  return sure ? fired + (live.find((r) => r.id === sure.id)?.fired ?? sure.times ?? 0) : fired;
}

/** An upload the sandbox is answering now, and the worker process waiting on it. */
function uploadInFlight(harness: Harness): { worker: WorkerProcess; answered: () => boolean | undefined } | undefined {
  const workers = [...harness.workers];
  for (const request of harness.sandbox.state.inFlight('POST', UPLOAD_PATH)) {
    if (request.remotePort === undefined) continue;
    const pid = pidHoldingConnection(
      request.remotePort,
      harness.sandbox.port,
      workers.map((w) => w.pid),
    );
    const worker = workers.find((w) => w.pid === pid);
    if (worker) return { worker, answered: () => request.answered };
  }
  return undefined;
}

/** Resolves once `check` holds (true) or at `deadlineMs` (false); polls every 50 ms. */
async function until(check: () => boolean, deadlineMs: number): Promise<boolean> {
  while (!check()) {
    if (Date.now() >= deadlineMs) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  const started = performance.now();
  const harness = await Harness.start({
    label: 'chaos',
    ...(options.temporal ? { temporal: options.temporal } : {}),
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
  let killsDuringUpload = 0;
  let temporalRestartMs: number | undefined;
  let progress: NodeJS.Timeout | undefined;
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (let i = 0; i < options.workers; i++) await harness.spawnWorker();
    await harness.authorize(SELLER);
    let sureLostAnswers: FaultRuleView | undefined;
    const armSureLostAnswers = options.faults
      ? (async () => {
          harness.sandbox.faults.set(chaosFaults(), { seed: options.seed });
          const burstSpent = () => !harness.sandbox.faults.list().some((r) => isUploadRule(r) && r.burst429 !== undefined);
          if ((await until(() => stopChaos || burstSpent(), deadline)) && !stopChaos)
            sureLostAnswers = harness.sandbox.faults.add(SURE_LOST_ANSWERS);
        })()
      : undefined;
    log(
      `chaos: stack up in ${((performance.now() - started) / 1000).toFixed(1)} s; ${options.lifecycles} lifecycles, ${options.workers} workers`,
    );

    // A supervisor: keeps `workers` processes alive, kills one at random intervals — aimed, when
    // it can be, at the worker whose upload the sandbox is answering right then.
    const supervisor = (async () => {
      while (!stopChaos && workerKills < options.maxKills) {
        const [min, max] = options.killEveryMs;
        const pause = min + random.next() * (max - min);
        if (workerKills > 0) await new Promise((r) => setTimeout(r, pause));
        let aim: ReturnType<typeof uploadInFlight>;
        await until(() => stopChaos || (aim = uploadInFlight(harness)) !== undefined, Date.now() + AIM_AT_UPLOAD_MS);
        if (stopChaos) break;
        const alive = [...harness.workers];
        const victim: WorkerProcess | undefined = aim?.worker ?? alive[Math.floor(random.next() * alive.length)];
        if (victim) {
          const inFlight = aim !== undefined && aim.answered() === undefined;
          await harness.killWorker(victim, 'SIGKILL');
          workerKills += 1;
          // Landed during the upload when the sandbox then saw that exchange end without its answer written.
          if (inFlight && (await until(() => aim!.answered() !== undefined, Date.now() + 5_000)) && aim!.answered() === false)
            killsDuringUpload += 1;
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

    // A run tag in every number (and so every idempotency key and workflow id): a cluster keeps its
    // data across runs, and a second run with the same seed would otherwise get the first run's
    // workflows back as "already submitted" and compare them with a fresh sandbox.
    const run = Date.now().toString(36);
    const numbers = Array.from({ length: options.lifecycles }, (_, i) => `CH-${options.seed}-${run}-${i + 1}`);
    let submitted = 0;
    let restart: Promise<void> | undefined;
    const ids = await pool(numbers, 16, async (number) => {
      // Bounded by the run's deadline: each submission retries 503s and resets up to 120 times.
      const submission = harness.submitInvoice(SELLER, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number }), number);
      const id = await within(submission, Math.max(1, deadline - Date.now()), `submitting ${number}`);
      submitted += 1;
      if (!restart && submitted >= options.lifecycles * options.restartTemporalAt) {
        restart = harness.restartTemporal('SIGTERM').then((ms) => {
          temporalRestartMs = ms;
          log(`chaos: Temporal server restarted in ${ms.toFixed(0)} ms`);
        });
        restart.catch(() => undefined); // awaited after the submissions; a failure is thrown there, not reported as unhandled
      }
      return id;
    });
    await restart;
    log(`chaos: ${ids.length} submitted after ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for every lifecycle to end`);

    const views = new Map<string, SubmissionView | Error>();
    progress = setInterval(() => log(`chaos: ${views.size}/${ids.length} ended, ${workerKills} worker kills so far`), 10_000);
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
      // A query needs a worker to answer it: bounded, so a run whose workers are gone still ends and reports.
      const stage = await harness.client
        .withAbortSignal(AbortSignal.timeout(10_000), () => harness.client.workflow.getHandle(id).query<SubmissionView>('submission'))
        .then((v) => `${v.stage}${v.attentionReason ? ` (${v.attentionReason})` : ''}`)
        .catch((err: Error) => `query failed: ${err.message}`);
      stuck.push(`${id}: ${stage}`);
    }
    if (stuck.length) log(`chaos: not ended: ${stuck.join('; ')}`);
    stopChaos = true;
    await supervisor;
    await armSureLostAnswers;

    const outcomes: Record<string, number> = {};
    const failures: Record<string, number> = {};
    let duplicateUploads = 0;
    let acceptedWithoutExactlyOneUpload = 0;
    let adoptedIndexes = 0;
    const adoptedIndexMismatches: string[] = [];
    const unexplainedFailures: string[] = [];
    await pool(numbers, 8, async (number, i) => {
      const view = views.get(ids[i]!);
      if (!view || view instanceof Error || ANAF_VERDICTS.has(view.outcome ?? '')) return;
      // FAILED on ANAF's documented final answer is ANAF's verdict; anything else the product should have survived.
      const type = await lastActivityFailureType(harness.client, ids[i]!).catch((err: Error) => `history unreadable: ${err.message}`);
      if (view.outcome === 'FAILED' && type !== undefined && DOCUMENTED_FINAL_ANAF_ANSWERS.has(type)) return;
      unexplainedFailures.push(
        `${number}: ${view.outcome ?? 'NONE'} (${type ?? 'no activity failure'}): ${(view.errors[0] ?? view.attentionReason ?? '').slice(0, 160)}`,
      );
    });
    numbers.forEach((number, i) => {
      const view = views.get(ids[i]!);
      const uploads = harness.sandbox.efactura.state.uploadsFor(SELLER, number, ISSUE_DATE);
      if (uploads > 1) duplicateUploads += uploads - 1;
      if (uploads > 1 && view && !(view instanceof Error)) {
        // What the workflow decided on the way, so a failed run can be diagnosed from its output.
        log(
          `chaos: ${number} uploaded ${uploads}×; attempts ${JSON.stringify(view.attempts)}; decisions ${JSON.stringify(view.decisions)}`,
        );
      }
      if (!view) return;
      if (view instanceof Error) {
        outcomes.WORKFLOW_FAILED = (outcomes.WORKFLOW_FAILED ?? 0) + 1;
        return;
      }
      const outcome = view.outcome ?? 'NONE';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (view.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX')) adoptedIndexes += 1;
      const mismatch = adoptedIndexMismatch(view, harness.sandbox.efactura.state, { supplierCif: SELLER, number, issueDate: ISSUE_DATE });
      if (mismatch) adoptedIndexMismatches.push(`${number}: ${mismatch}`);
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
      killsDuringUpload,
      temporalRestartMs,
      faultsFired: harness.sandbox.faults.list().reduce((n, r) => n + r.fired, 0),
      uploadAnswersLost: uploadAnswersLost(harness.sandbox.faults.list(), sureLostAnswers),
      adoptedIndexes,
      adoptedIndexMismatches,
      unexplainedFailures,
      uploadsSeen: harness.sandbox.efactura.state.totalUploads,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    // Cleared here too: an interval left running when the wait above threw keeps the file process alive.
    clearInterval(progress);
    stopChaos = true;
    await harness.close();
  }
}

/** Why a run failed, one line per broken promise; empty when it passed. */
export function chaosShortfalls(report: ChaosReport): string[] {
  const shortfalls: string[] = [];
  if (report.lost !== 0) shortfalls.push(`${report.lost} lifecycles did not end`);
  if (report.duplicateUploads !== 0) shortfalls.push(`${report.duplicateUploads} duplicate uploads`);
  if (report.acceptedWithoutExactlyOneUpload !== 0)
    shortfalls.push(`${report.acceptedWithoutExactlyOneUpload} accepted invoices not uploaded exactly once`);
  if (report.outcomes.WORKFLOW_FAILED) shortfalls.push(`${report.outcomes.WORKFLOW_FAILED} workflows failed`);
  if (report.adoptedIndexMismatches.length) shortfalls.push(`adopted another invoice's index: ${report.adoptedIndexMismatches.join('; ')}`);
  if (report.unexplainedFailures.length)
    shortfalls.push(`ended neither accepted nor on a documented ANAF answer: ${report.unexplainedFailures.join('; ')}`);
  if (report.uploadAnswersLost < 1) shortfalls.push('no upload lost its answer after processing (resetAfterReceive never fired on upload)');
  if (report.workerKills > 0 && report.killsDuringUpload < 1) shortfalls.push('no SIGKILL landed while an upload was in flight');
  return shortfalls;
}
