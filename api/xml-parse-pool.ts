import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AppConfig } from '../lib/config/config';
import { xmlParseRefusals } from '../lib/observability/metrics';
import type { XmlParseAnswer, XmlParseRequest, XmlParseTaskArgs, XmlParseTaskKind, XmlParseTaskResult } from './xml-parse-tasks';

/**
 * Untrusted XML is parsed on worker threads, never on the API's event loop: a 10 MB
 * document of a million empty elements or attributes costs a parser seconds and a gigabyte,
 * and on the main thread that would stall every request (health checks included) meanwhile.
 *
 * Each parse runs under a time cap (the thread is terminated past it) and a memory cap (the
 * thread's V8 heap limit, resourceLimits: the thread dies, the process does not). Admission
 * is capped per tenant and overall, so one tenant's storm cannot queue everyone else out.
 * Hand-written rather than a pool library: the caps need to tell a parse that ran out of
 * time from one that waited too long for a thread (the document's fault vs ours), and
 * per-tenant admission sits in front of any pool anyway; the rest is a few lines.
 */

/** Threads, admission and caps: XML_PARSE_* (lib/config/config.ts). */
export type XmlParseLimits = AppConfig['xmlParsing'];

export type XmlParseRefusalCode = 'XML_TOO_COMPLEX' | 'XML_PARSE_TIMEOUT' | 'TOO_MANY_PARSES';

/** A parse refused or stopped by a cap; `busy` says whether it was for load (retry later) rather than the document. */
export class XmlParseRefused extends Error {
  constructor(
    readonly code: XmlParseRefusalCode,
    message: string,
    readonly busy?: 'tenant' | 'overall',
  ) {
    super(message);
    this.name = 'XmlParseRefused';
  }
}

interface Job {
  request: XmlParseRequest;
  resolve(result: unknown): void;
  reject(err: Error): void;
  /** Refuses the job if no thread took it in time. */
  waitTimer?: NodeJS.Timeout;
}

// The thread entry is TypeScript, like the rest of the code base: the eval'd bootstrap
// registers tsx's loader in the thread before requiring it (hooks of the main thread do not
// follow it there).
const BOOTSTRAP = `const { workerData } = require('node:worker_threads'); require(workerData.tsx).register(); require(workerData.entry);`;
const WORKER_DATA = { tsx: require.resolve('tsx/cjs/api'), entry: path.join(__dirname, 'xml-parse-worker.ts') };

/**
 * Stops a thread we no longer listen to. It may still die of its memory cap before the
 * termination lands; an 'error' event without a listener would take the whole API down.
 */
function discard(worker: Worker): void {
  worker.on('error', () => undefined);
  void worker.terminate();
}

export class XmlParsePool {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pendingByTenant = new Map<string, number>();
  private pending = 0;
  private busyThreads = 0;
  private closed = false;
  /** Moving average of how long a parse holds a thread; starts at a typical invoice's read. */
  private meanParseMs = 50;
  /** When each running parse started: a thread held for long says more than the average of parses that ended. */
  private readonly running = new Set<{ since: number }>();

  constructor(readonly limits: XmlParseLimits) {}

  /** Runs `kind` on `xml` on a parse thread; throws XmlParseRefused when a cap refuses or stops it (counted in anaf_flow_xml_parse_refusals_total). */
  async run<K extends XmlParseTaskKind>(tenant: string, kind: K, xml: Buffer, args: XmlParseTaskArgs<K>): Promise<XmlParseTaskResult<K>> {
    try {
      return await this.admitAndParse(tenant, kind, xml, args);
    } catch (err) {
      if (err instanceof XmlParseRefused) xmlParseRefusals.inc({ code: err.code, reason: err.busy ?? 'document' });
      throw err;
    }
  }

  private async admitAndParse<K extends XmlParseTaskKind>(
    tenant: string,
    kind: K,
    xml: Buffer,
    args: XmlParseTaskArgs<K>,
  ): Promise<XmlParseTaskResult<K>> {
    if (this.closed) throw new XmlParseRefused('TOO_MANY_PARSES', 'The server is shutting down', 'overall');
    const own = this.pendingByTenant.get(tenant) ?? 0;
    if (own >= this.limits.perTenant) {
      throw new XmlParseRefused(
        'TOO_MANY_PARSES',
        `At most ${this.limits.perTenant} documents of one tenant are checked at a time; retry when one has finished`,
        'tenant',
      );
    }
    if (this.pending >= this.limits.maxPending) {
      throw new XmlParseRefused('TOO_MANY_PARSES', 'The server is checking as many documents as it can; retry shortly', 'overall');
    }
    this.pendingByTenant.set(tenant, own + 1);
    this.pending += 1;
    try {
      return (await new Promise<unknown>((resolve, reject) => {
        const job: Job = { request: { kind, xml, args }, resolve, reject };
        job.waitTimer = setTimeout(() => {
          const at = this.queue.indexOf(job);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(new XmlParseRefused('TOO_MANY_PARSES', 'No parse thread became free in time; retry shortly', 'overall'));
        }, this.limits.timeoutMs);
        this.queue.push(job);
        this.pump();
      })) as XmlParseTaskResult<K>;
    } finally {
      this.pending -= 1;
      const left = (this.pendingByTenant.get(tenant) ?? 1) - 1;
      if (left > 0) this.pendingByTenant.set(tenant, left);
      else this.pendingByTenant.delete(tenant);
    }
  }

  /**
   * Seconds a refused caller should wait (Retry-After): the time the parses admitted now need to
   * drain through the threads at their recent pace, so a momentary burst is told "1" rather than
   * the time cap (a parse's worst case). Never above the time cap: by then every admitted parse
   * has finished or been stopped.
   */
  retryAfterSeconds(): number {
    // Threads held by slow documents: the average learns only when they end, their age says it now.
    const oldest = Math.min(Infinity, ...[...this.running].map((r) => r.since));
    const paceMs = Math.max(this.meanParseMs, Number.isFinite(oldest) ? performance.now() - oldest : 0);
    const drainMs = paceMs * Math.ceil((this.pending + 1) / this.limits.threads);
    return Math.min(Math.ceil(this.limits.timeoutMs / 1000), Math.max(1, Math.ceil(drainMs / 1000)));
  }

  /** Parses running or waiting now (for tests and metrics). */
  get inFlight(): number {
    return this.pending;
  }

  /** Terminates every thread; parses still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.waitTimer);
      job.reject(new XmlParseRefused('TOO_MANY_PARSES', 'The server is shutting down', 'overall'));
    }
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.busyThreads < this.limits.threads && this.queue.length > 0) {
      const job = this.queue.shift()!;
      clearTimeout(job.waitTimer);
      this.start(job);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: WORKER_DATA,
      resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb },
      // The parent's --import tsx hooks are registered by the bootstrap instead.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    // An idle parse thread never keeps the process alive; a running parse has its ref'd timer.
    worker.unref();
    return worker;
  }

  private start(job: Job): void {
    this.busyThreads += 1;
    const worker = this.idle.pop() ?? this.spawn();
    const run = { since: performance.now() };
    this.running.add(run);
    let settled = false;
    const finish = (outcome: { result: unknown } | { error: Error }, reusable: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.running.delete(run);
      this.meanParseMs = 0.8 * this.meanParseMs + 0.2 * (performance.now() - run.since);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (reusable && !this.closed) this.idle.push(worker);
      else discard(worker);
      this.busyThreads -= 1;
      if ('result' in outcome) job.resolve(outcome.result);
      else job.reject(outcome.error);
      this.pump();
    };
    const onMessage = (answer: XmlParseAnswer) => {
      if (answer.ok) finish({ result: answer.result }, true);
      else if (answer.stackExhausted)
        finish({ error: new XmlParseRefused('XML_TOO_COMPLEX', 'The document is nested too deeply to be read') }, false);
      else finish({ error: new Error(`XML parse thread failed: ${answer.message}`) }, false);
    };
    const onError = (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        finish(
          {
            error: new XmlParseRefused(
              'XML_TOO_COMPLEX',
              `Reading the document needs more than the ${this.limits.memoryMb} MB a document may use`,
            ),
          },
          false,
        );
      } else {
        finish({ error: new Error(`XML parse thread failed: ${err.message}`, { cause: err }) }, false);
      }
    };
    const onExit = (code: number) => finish({ error: new Error(`XML parse thread exited (code ${code})`) }, false);
    const timer = setTimeout(
      () =>
        finish(
          { error: new XmlParseRefused('XML_PARSE_TIMEOUT', `Reading the document took longer than ${this.limits.timeoutMs} ms`) },
          false,
        ),
      this.limits.timeoutMs,
    );
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(job.request);
  }
}
