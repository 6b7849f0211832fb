/**
 * The product as separate processes, for the benchmark, the chaos suite and the lost-answer
 * test: Temporal (a dev server with its SQLite file by default, restartable: workflows
 * survive; or any TemporalStack), the ANAF sandbox and the API in this process, and worker
 * processes started with `node workers/main.ts` exactly as in production — so they can be
 * measured (CPU, RSS from /proc) and killed with SIGKILL. devkit/stack.ts is the in-process
 * counterpart the integration tests use.
 */
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createApp } from '../api/app';
import { lazyTemporalClient } from '../api/server';
import { type AppConfig, loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/observability/logger';
import type { RunningSandbox, SandboxOptions } from '../sandbox';
import { callApi } from './api-client';
import { settledWithin, within } from '../lib/process/bounded';
import { authorizeOrganization } from './oauth-walk';
import { closeServer, listeningApiSocket } from './ports';
import { exitedWedged } from './product-process';
import { sandboxApiEnv, sandboxForApi } from './sandbox-for-api';
import { devServerStack, type TemporalStack, type TemporalStackFactory } from './temporal-stack';
import { killWorkerProcess, spawnWorkerProcess, type WorkerProcess, workerStarted } from './worker-process';
import { workflowBundleFile } from './workflow-bundle';

export type { TemporalStack, TemporalStackFactory } from './temporal-stack';
export type { WorkerProcess } from './worker-process';

const OAUTH_CLIENT = { clientId: 'anaf-flow-bench-client', clientSecret: 'anaf-flow-bench-secret' };
/** One API call, one submission attempt: a hung one is sent again (same idempotency key) instead of being awaited for minutes. */
const API_CALL_TIMEOUT_MS = 30_000;
/** The whole OAuth walk (five HTTP exchanges and the authorization workflow's start). */
const AUTHORIZE_TIMEOUT_MS = 60_000;
export const BENCH_TENANT = { tenant: 'bench', key: 'bench-key-0123456789abcdef' };

export interface HarnessOptions {
  /** Default: devServerStack. */
  temporal?: TemporalStackFactory;
  sandbox?: SandboxOptions;
  /** Configuration (environment variables) shared by the API here and every worker process. */
  env?: Record<string, string>;
  /** More configuration that depends on the running sandbox (e.g. BANCIWS certificates issued by its CA). */
  envFromSandbox?: (sandbox: RunningSandbox) => Promise<Record<string, string>>;
  label: string;
}

/** The configuration every harness gives the API here and its worker processes, before the caller's own. */
function harnessEnv(
  dataDir: string,
  sandboxEnv: Record<string, string>,
  temporal: TemporalStack,
  taskQueue: string,
): Record<string, string> {
  return {
    ANAF_ENV: 'sandbox',
    DATA_DIR: dataDir,
    PAYLOAD_ENCRYPTION_KEYS: `bench-1:${Buffer.alloc(32, 3).toString('base64')}`,
    TOKEN_ENCRYPTION_KEYS: `btok-1:${Buffer.alloc(32, 5).toString('base64')}`,
    WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    API_KEYS: `${BENCH_TENANT.tenant}:${BENCH_TENANT.key}`,
    ...sandboxEnv,
    TEMPORAL_ADDRESS: temporal.address,
    ...temporal.env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}

export class Harness {
  readonly workers = new Set<WorkerProcess>();
  /** Workers that exited wedged and were replaced. */
  stallRestarts = 0;
  private closing = false;
  /** A file process that exits before close() (node --test-force-exit after a timed-out test) takes its workers with it. */
  private readonly killWorkersNow = () => {
    for (const w of this.workers) w.child.kill('SIGKILL');
  };

  private constructor(
    readonly dataDir: string,
    readonly config: AppConfig,
    readonly env: Record<string, string>,
    readonly sandbox: RunningSandbox,
    readonly apiUrl: string,
    private readonly server: http.Server,
    private readonly bundlePath: string,
    readonly temporal: TemporalStack,
    public client: Client,
  ) {
    process.on('exit', this.killWorkersNow);
  }

  static async start(options: HarnessOptions): Promise<Harness> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `anaf-flow-${options.label}-`));
    const bundlePath = workflowBundleFile(dataDir);
    const api = await listeningApiSocket();
    const stops: Array<() => Promise<unknown>> = [() => closeServer(api.server)];
    try {
      const sandbox = await sandboxForApi(OAUTH_CLIENT, api.redirectUri, options.sandbox);
      stops.push(() => sandbox.close());
      const temporalLog = fs.createWriteStream(path.join(dataDir, 'temporal.log'), { flags: 'a' });
      const onOutput = (line: string) => temporalLog.write(`${line}\n`);
      const namespace = options.env?.TEMPORAL_NAMESPACE ?? 'default';
      const taskQueue = options.env?.TEMPORAL_TASK_QUEUE ?? options.label;
      const temporal = await (options.temporal ?? devServerStack)({ dataDir, namespace, taskQueue, onOutput });
      stops.push(() => temporal.stop());
      const env: Record<string, string> = {
        ...harnessEnv(dataDir, sandboxApiEnv(sandbox, OAUTH_CLIENT, api), temporal, taskQueue),
        ...options.env,
        ...(options.envFromSandbox ? await options.envFromSandbox(sandbox) : {}),
      };
      const config = loadConfig(env, { generateDevSecrets: false });
      // The API's own client, as production makes it (api/server.ts): every call with a deadline
      // (TEMPORAL_RPC_TIMEOUT_MS), so neither a route nor the suites wait forever on a Temporal that is restarting.
      const { client } = lazyTemporalClient(config);
      const app = createApp({ config, client, logger: createLogger({ level: 'silent' }) });
      api.server.on('request', app);
      return new Harness(dataDir, config, env, sandbox, api.url, api.server, bundlePath, temporal, client);
    } catch (err) {
      // Stop what did start: a sandbox or a Temporal left running keeps the test-file process alive.
      for (const stop of stops.reverse()) await settledWithin(stop(), 30_000);
      throw err;
    }
  }

  /** A worker process as production runs it (or another worker script); its output goes to DATA_DIR/worker-<pid>.log. */
  async spawnWorker(extraEnv: Record<string, string> = {}, script = 'workers/main.ts'): Promise<WorkerProcess> {
    // A supervisor still running when close() began would otherwise leave a worker behind it.
    if (this.closing) throw new Error('the harness is closing: no new worker');
    const env = { ...this.env, LOG_LEVEL: 'info', ...extraEnv };
    const worker = spawnWorkerProcess({ env, bundlePath: this.bundlePath, logDir: this.dataDir, script });
    this.workers.add(worker);
    void worker.exited.then((code) => {
      this.workers.delete(worker);
      // Restarted as a supervisor would (workers/stall-watchdog.ts).
      if (exitedWedged(code) && !this.closing) {
        this.stallRestarts += 1;
        this.spawnWorker(extraEnv, script).catch(() => undefined); // a failed restart: the next supervisor round tries again
      }
    });
    await workerStarted(worker, this.dataDir);
    return worker;
  }

  killWorker(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return killWorkerProcess(worker, signal);
  }

  /** Stops Temporal and starts it again on the same data (see TemporalStack.restart). */
  restartTemporal(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    return this.temporal.restart(signal);
  }

  /** The API as the bench tenant. */
  api(method: string, urlPath: string, body?: { json?: unknown; xml?: string; headers?: Record<string, string> }) {
    return callApi(this, BENCH_TENANT.key, method, urlPath, {
      ...(body?.json !== undefined ? { json: body.json } : { body: body?.xml }),
      headers: body?.headers ?? {},
      timeoutMs: API_CALL_TIMEOUT_MS,
    });
  }

  /** Registers the organization and walks ANAF's consent page for e-Factura, as a user would. */
  async authorize(cif: string): Promise<void> {
    await within(authorizeOrganization(this, BENCH_TENANT.key, cif), AUTHORIZE_TIMEOUT_MS, `authorizing ${cif}`);
  }

  /** Submits one invoice through the API; returns the submission (workflow) id. */
  async submitInvoice(cif: string, xml: string, idempotencyKey: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.api('POST', `/v1/efactura/invoices?cif=${cif}&standard=UBL`, {
          xml,
          headers: { 'idempotency-key': idempotencyKey },
        });
        if (res.status === 202 || res.status === 200) return res.json.id as string;
        // The API answers 503 while Temporal is down (chaos), and 429 when too many documents are
        // being read at once (XML_PARSE_MAX_*), as an ERP would see: the same key makes the retry safe.
        if ((res.status >= 500 || res.status === 429) && attempt < 120) {
          const retryAfterS = Number(res.headers['retry-after']);
          await new Promise((r) => setTimeout(r, Number.isFinite(retryAfterS) && retryAfterS > 0 ? Math.min(retryAfterS, 10) * 1000 : 500));
          continue;
        }
        throw new Error(`submit answered ${res.status}: ${res.text.slice(0, 300)}`);
      } catch (err) {
        // Our own API_CALL_TIMEOUT_MS (TimeoutError) too: the same key makes sending it again safe.
        if (attempt >= 120 || !/ECONNRESET|ECONNREFUSED|socket|TimeoutError/i.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * Every step bounded, so it ends when a child is already dead or Temporal is gone: a close()
   * that waited on either kept a CI test-file process alive with nothing left to wait for.
   */
  async close(): Promise<void> {
    this.closing = true;
    // Gracefully first (in-flight tasks finish, --cpu-prof profiles get written), SIGKILL after 10 s.
    await Promise.all([...this.workers].map((w) => this.killWorker(w, 'SIGTERM')));
    await settledWithin(closeServer(this.server), 5_000);
    await settledWithin(this.client.connection.close(), 5_000);
    await settledWithin(this.temporal.stop(), 30_000);
    await settledWithin(this.sandbox.close(), 5_000);
    process.off('exit', this.killWorkersNow);
    if (!process.env.BENCH_KEEP_DATA) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
