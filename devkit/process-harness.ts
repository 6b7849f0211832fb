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
import { type AppConfig, loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/observability/logger';
import { connectClient } from '../lib/temporal/temporal-client';
import type { RunningSandbox, SandboxOptions } from '../sandbox';
import { callApi } from './api-client';
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

export class Harness {
  readonly workers = new Set<WorkerProcess>();
  /** Workers that exited wedged and were replaced. */
  stallRestarts = 0;
  private closing = false;

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
  ) {}

  static async start(options: HarnessOptions): Promise<Harness> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `anaf-flow-${options.label}-`));
    const bundlePath = workflowBundleFile(dataDir);
    const api = await listeningApiSocket();
    const sandbox = await sandboxForApi(OAUTH_CLIENT, api.redirectUri, options.sandbox);
    const temporalLog = fs.createWriteStream(path.join(dataDir, 'temporal.log'), { flags: 'a' });
    const onOutput = (line: string) => temporalLog.write(`${line}\n`);
    const namespace = options.env?.TEMPORAL_NAMESPACE ?? 'default';
    const taskQueue = options.env?.TEMPORAL_TASK_QUEUE ?? options.label;
    const temporal = await (options.temporal ?? devServerStack)({ dataDir, namespace, taskQueue, onOutput });
    const env: Record<string, string> = {
      ANAF_ENV: 'sandbox',
      DATA_DIR: dataDir,
      PAYLOAD_ENCRYPTION_KEYS: `bench-1:${Buffer.alloc(32, 3).toString('base64')}`,
      TOKEN_ENCRYPTION_KEYS: `btok-1:${Buffer.alloc(32, 5).toString('base64')}`,
      WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      API_KEYS: `${BENCH_TENANT.tenant}:${BENCH_TENANT.key}`,
      ...sandboxApiEnv(sandbox, OAUTH_CLIENT, api),
      TEMPORAL_ADDRESS: temporal.address,
      ...temporal.env,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...options.env,
      ...(options.envFromSandbox ? await options.envFromSandbox(sandbox) : {}),
    };
    const config = loadConfig(env, { generateDevSecrets: false });
    const client = await connectClient(config);
    const app = createApp({ config, client, logger: createLogger({ level: 'silent' }) });
    api.server.on('request', app);
    return new Harness(dataDir, config, env, sandbox, api.url, api.server, bundlePath, temporal, client);
  }

  /** A worker process as production runs it (or another worker script); its output goes to DATA_DIR/worker-<pid>.log. */
  async spawnWorker(extraEnv: Record<string, string> = {}, script = 'workers/main.ts'): Promise<WorkerProcess> {
    const env = { ...this.env, LOG_LEVEL: 'info', ...extraEnv };
    const worker = spawnWorkerProcess({ env, bundlePath: this.bundlePath, logDir: this.dataDir, script });
    this.workers.add(worker);
    void worker.exited.then((code) => {
      this.workers.delete(worker);
      // Restarted as a supervisor would (workers/stall-watchdog.ts).
      if (exitedWedged(code) && !this.closing) {
        this.stallRestarts += 1;
        void this.spawnWorker(extraEnv, script);
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
    });
  }

  /** Registers the organization and walks ANAF's consent page for e-Factura, as a user would. */
  async authorize(cif: string): Promise<void> {
    await authorizeOrganization(this, BENCH_TENANT.key, cif);
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
        if (attempt >= 120 || !/ECONNRESET|ECONNREFUSED|socket/i.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // Gracefully first (in-flight tasks finish, --cpu-prof profiles get written), then for sure.
    await Promise.all(
      [...this.workers].map(async (w) => {
        const forced = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        await this.killWorker(w, 'SIGTERM');
        clearTimeout(forced);
      }),
    );
    await closeServer(this.server);
    await this.client.connection.close().catch(() => undefined);
    await this.temporal.stop().catch(() => undefined);
    await this.sandbox.close();
    if (!process.env.BENCH_KEEP_DATA) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
