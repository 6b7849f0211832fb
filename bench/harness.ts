/**
 * The product as separate processes, for the benchmark and the chaos suite: a Temporal dev
 * server with its SQLite file (restartable: workflows survive), the ANAF sandbox and the
 * API in this process, and worker processes started with `node workers/main.ts` exactly as
 * in production — so they can be measured (CPU, RSS from /proc) and killed with SIGKILL.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { request } from 'undici';
import { createApp } from '../api/app';
import { type AppConfig, loadConfig } from '../lib/config';
import { type DevServer, startDevServer } from '../lib/dev-server';
import { createLogger } from '../lib/logger';
import { connectClient } from '../lib/temporal-client';
import { createSandbox, type RunningSandbox, type SandboxOptions } from '../sandbox';
import { WORKER_STALLED_EXIT_CODE } from '../workers/stall-watchdog';
import { authorizeOrganization, ublInvoice } from '../test/support/efactura';

const ROOT = path.resolve(__dirname, '..');
const CLIENT_ID = 'anaf-flow-bench-client';
const CLIENT_SECRET = 'anaf-flow-bench-secret';
export const BENCH_TENANT = { tenant: 'bench', key: 'bench-key-0123456789abcdef' };

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** utime+stime of a process and all its descendants, in ms (Linux /proc). */
export function cpuMs(rootPid: number): number {
  const hz = 100; // USER_HZ is 100 on every Linux this runs on
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  let ticks = 0;
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return (ticks * 1000) / hz;
}

/** Resident set size of one process in MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The Temporal the harness runs on: by default a dev server of its own (SQLite under its
 * data directory); `npm run chaos -- --cluster` passes bench/cluster-stack.ts's instead.
 */
export interface TemporalStack {
  /** Where the product's processes reach Temporal, and the variables they need for it (TLS). */
  address: string;
  env: Record<string, string>;
  /** Processes whose CPU counts as the server's. */
  serverPids(): number[];
  /** The chaos step: Temporal goes down and comes back on the same data; resolves with how long that took (ms). */
  restart(signal: NodeJS.Signals): Promise<number>;
  stop(): Promise<void>;
}

export type TemporalStackFactory = (o: { dataDir: string; namespace: string; onOutput: (line: string) => void }) => Promise<TemporalStack>;

/** A dev server of the harness's own, restarted on its SQLite file and port. */
export const devServerStack: TemporalStackFactory = async ({ dataDir, namespace, onOutput }) => {
  const port = await freePort();
  const uiPort = await freePort();
  const start = () => startDevServer({ dataDir, namespace, port, uiPort, onOutput });
  let server: DevServer = await start();
  return {
    address: server.address,
    env: {},
    serverPids: () => [server.process.pid!],
    async restart(signal) {
      const started = performance.now();
      const exited = new Promise((r) => server.process.once('exit', r));
      server.process.kill(signal);
      await exited;
      server = await start();
      return performance.now() - started;
    },
    stop: () => server.stop(),
  };
};

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

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
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
    // Under `npm test` the run has bundled the workflow code once already (scripts/run-tests.mjs).
    const prebuilt = process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE;
    const bundlePath = prebuilt && fs.existsSync(prebuilt) ? prebuilt : path.join(dataDir, 'workflow-bundle.js');
    if (bundlePath !== prebuilt) {
      const bundled = spawnSync(process.execPath, ['--import', 'tsx', 'workers/build-bundle.ts', bundlePath], { cwd: ROOT, stdio: 'inherit' });
      if (bundled.status !== 0) throw new Error('could not bundle the workflow code');
    }

    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const apiPort = (server.address() as AddressInfo).port;
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const redirectUri = `${apiUrl}/oauth/callback`;
    const sandbox = await createSandbox({
      port: 0,
      ...options.sandbox,
      oauth: { clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }], ...options.sandbox?.oauth },
    });
    const temporalLog = fs.createWriteStream(path.join(dataDir, 'temporal.log'), { flags: 'a' });
    const onOutput = (line: string) => temporalLog.write(`${line}\n`);
    const namespace = options.env?.TEMPORAL_NAMESPACE ?? 'default';
    const temporal = await (options.temporal ?? devServerStack)({ dataDir, namespace, onOutput });
    const env: Record<string, string> = {
      ANAF_ENV: 'sandbox',
      DATA_DIR: dataDir,
      PAYLOAD_ENCRYPTION_KEYS: `bench-1:${Buffer.alloc(32, 3).toString('base64')}`,
      TOKEN_ENCRYPTION_KEYS: `btok-1:${Buffer.alloc(32, 5).toString('base64')}`,
      WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      API_KEYS: `${BENCH_TENANT.tenant}:${BENCH_TENANT.key}`,
      ANAF_OAUTH_BASE_URL: `${sandbox.url}/anaf-oauth2/v1`,
      ANAF_API_BASE_URL: `${sandbox.url}/test`,
      ANAF_CLIENT_ID: CLIENT_ID,
      ANAF_CLIENT_SECRET: CLIENT_SECRET,
      ANAF_REDIRECT_URI: redirectUri,
      API_PORT: String(apiPort),
      API_PUBLIC_URL: apiUrl,
      TEMPORAL_ADDRESS: temporal.address,
      ...temporal.env,
      TEMPORAL_TASK_QUEUE: options.label,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...options.env,
      ...(options.envFromSandbox ? await options.envFromSandbox(sandbox) : {}),
    };
    const config = loadConfig(env, { generateDevSecrets: false });
    const client = await connectClient(config);
    const app = createApp({ config, client, logger: createLogger({ level: 'silent' }) });
    server.on('request', app);
    return new Harness(dataDir, config, env, sandbox, apiUrl, server, bundlePath, temporal, client);
  }

  /** A worker process as production runs it (or another worker script); its output goes to DATA_DIR/worker-<pid>.log. */
  async spawnWorker(extraEnv: Record<string, string> = {}, script = 'workers/main.ts'): Promise<WorkerProcess> {
    // BENCH_WORKER_PROFILE=<dir>: a V8 CPU profile of each worker, written when it stops.
    const profile = process.env.BENCH_WORKER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROFILE}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', script], {
      cwd: ROOT,
      // info: its "worker started" line is how we know it polls.
      env: { ...process.env, ...this.env, LOG_LEVEL: 'info', ...extraEnv, WORKFLOW_BUNDLE: this.bundlePath, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = fs.createWriteStream(path.join(this.dataDir, `worker-${child.pid}.log`));
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const worker: WorkerProcess = { child, pid: child.pid!, exited };
    this.workers.add(worker);
    void exited.then((code) => {
      this.workers.delete(worker);
      // Its watchdog found it wedged (workers/stall-watchdog.ts): restart it, as a supervisor would.
      if (code === WORKER_STALLED_EXIT_CODE && !this.closing) {
        this.stallRestarts += 1;
        void this.spawnWorker(extraEnv, script);
      }
    });
    // Ready when it logs "worker started" (JSON line) or dies.
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('worker started')) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      void exited.then((code) => reject(new Error(`worker exited with ${code} before it started; see ${this.dataDir}`)));
      setTimeout(() => reject(new Error(`worker did not start within 60 s; see ${this.dataDir}`)), 60_000).unref();
    });
    return worker;
  }

  async killWorker(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    worker.child.kill(signal);
    await worker.exited;
  }

  /** Stops Temporal and starts it again on the same data (see TemporalStack.restart). */
  restartTemporal(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    return this.temporal.restart(signal);
  }

  async api(method: string, urlPath: string, body?: { json?: unknown; xml?: string; headers?: Record<string, string> }) {
    const headers: Record<string, string> = { 'x-api-key': BENCH_TENANT.key, ...body?.headers };
    let payload: string | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.xml !== undefined) {
      headers['content-type'] = 'application/xml';
      payload = body.xml;
    }
    const res = await request(`${this.apiUrl}${urlPath}`, { method: method as 'GET', headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.body.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json };
  }

  /** Registers the organization and walks ANAF's consent page for e-Factura, as a user would. */
  async authorize(cif: string): Promise<void> {
    await authorizeOrganization(this, BENCH_TENANT.key, cif);
  }

  /** Submits one invoice through the API; returns the submission (workflow) id. */
  async submitInvoice(cif: string, xml: string, idempotencyKey: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.api('POST', `/v1/efactura/invoices?cif=${cif}&standard=UBL`, { xml, headers: { 'idempotency-key': idempotencyKey } });
        if (res.status === 202 || res.status === 200) return res.json.id as string;
        // The API answers 503 while Temporal is down (chaos): the same key makes the retry safe.
        if (res.status >= 500 && attempt < 120) {
          await new Promise((r) => setTimeout(r, 500));
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
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.client.connection.close().catch(() => undefined);
    await this.temporal.stop().catch(() => undefined);
    await this.sandbox.close();
    if (!process.env.BENCH_KEEP_DATA) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A small UBL invoice the sandbox accepts; `note` "SANDBOX:NOK" makes it rejected. */
export function benchInvoice(supplierCif: string, buyerCif: string, number: string, note?: string): string {
  return ublInvoice({ supplierCif, buyerCif, number, ...(note ? { note } : {}) });
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i]!, i);
      }
    }),
  );
  return results;
}
