import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { type AppConfig, loadConfig } from '../lib/config/config';
import { waitForTemporal } from '../lib/temporal/dev-server';
import { ensureSearchAttributes } from '../lib/temporal/search-attribute-registration';
import { temporalConnectionOptions } from '../lib/temporal/temporal-client';
import { ensureServerBinaries, TEMPORAL_SERVER_VERSION } from './cluster/binaries';
import { externalPostgres, ManagedPostgres, portInUse, type PostgresTarget } from './cluster/postgres';
import { type ChildSpec, type ChildStatus, ProcessDir, statusFile, stopProcess, type SupervisorSpec } from './cluster/processes';
import { ensureSchemas } from './cluster/schema';
import {
  allPorts,
  CLUSTER_HARNESS_TASK_QUEUES,
  FRONTEND_PORT,
  NUM_HISTORY_SHARDS,
  SERVICE_PORTS,
  TEMPORAL_SERVICES,
  type TemporalService,
  writeServerConfig,
} from './cluster/server-config';
import { clusterTlsEnv, ensureClusterTls } from './cluster/tls';
import { addSandboxEnv, productEnv, summary, waitForHttp } from './launch';

/**
 * `npm run cluster`: the product on a real Temporal cluster on this machine, without Docker —
 * PostgreSQL (persistence and SQL visibility), the frontend (mTLS), history, matching and
 * worker services as separate processes from one config file, 3 worker processes and 2 API
 * processes behind one port, and the ANAF sandbox. Everything runs detached with pid files
 * under DATA_DIR/cluster; `npm run cluster -- --stop` ends it, a second start reuses the data.
 * `--status` says what runs.
 */

const ROOT = path.resolve(__dirname, '..');
export const CLUSTER_WORKERS = 3;
export const CLUSTER_APIS = 2;
const NAMESPACE_RETENTION = '3 days';

const log = (line: string) => process.stdout.write(`[cluster] ${line}\n`);

export interface ClusterPaths {
  clusterDir: string;
  processes: ProcessDir;
}

export function clusterPaths(config: Pick<AppConfig, 'dataDir'>): ClusterPaths {
  const clusterDir = path.join(config.dataDir, 'cluster');
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o755 });
  return { clusterDir, processes: new ProcessDir(clusterDir) };
}

/** The product's configuration as the cluster's processes see it (TLS to the frontend included). */
export async function clusterConfig(env: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const base = loadConfig(env);
  const tls = await ensureClusterTls(clusterPaths(base).clusterDir);
  return loadConfig({ ...env, ...clusterTlsEnv(tls), TEMPORAL_ADDRESS: `127.0.0.1:${FRONTEND_PORT}` });
}

function readStatus(clusterDir: string): Record<string, ChildStatus> {
  try {
    return JSON.parse(fs.readFileSync(statusFile(clusterDir), 'utf8')) as Record<string, ChildStatus>;
  } catch {
    return {};
  }
}

/** Whether every process of a started cluster is alive (the supervisor, each Temporal service, PostgreSQL). */
function runningState(paths: ClusterPaths, pg: ManagedPostgres | undefined) {
  const services = Object.fromEntries(TEMPORAL_SERVICES.map((s) => [s, paths.processes.alive(`temporal-${s}`)]));
  const supervisor = paths.processes.alive('supervisor');
  const postgres = pg ? pg.running() : true;
  return { services, supervisor, postgres, all: Boolean(supervisor) && postgres && Object.values(services).every(Boolean) };
}

function managedPostgres(paths: ClusterPaths): ManagedPostgres | undefined {
  return process.env.CLUSTER_POSTGRES_URL ? undefined : ManagedPostgres.prepare(paths.clusterDir, log);
}

async function stop(paths: ClusterPaths): Promise<void> {
  const t0 = Date.now();
  if (await paths.processes.stop('supervisor', 30_000)) log('product processes stopped');
  // Leftovers of a supervisor that was killed outright.
  for (const file of fs.readdirSync(paths.processes.runDir)) {
    const name = file.replace(/\.pid$/, '');
    if (file.endsWith('.pid') && !name.startsWith('temporal-') && (await paths.processes.stop(name, 15_000))) log(`${name} stopped`);
  }
  // Frontend first (no new work), then the worker, matching and history services.
  for (const s of ['frontend', 'worker', 'matching', 'history'] as const) {
    if (await paths.processes.stop(`temporal-${s}`, 20_000)) log(`temporal ${s} stopped`);
  }
  if (!process.env.CLUSTER_POSTGRES_URL && fs.existsSync(path.join(paths.clusterDir, 'pg', 'PG_VERSION'))) {
    const pg = ManagedPostgres.prepare(paths.clusterDir, log);
    if (pg.running()) {
      pg.stop('fast');
      log('PostgreSQL stopped');
    }
  }
  fs.rmSync(statusFile(paths.clusterDir), { force: true });
  log(`stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s (data kept in ${paths.clusterDir})`);
}

async function registerNamespace(config: AppConfig): Promise<string[]> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: 10_000 });
  const namespace = config.temporal.namespace;
  const deadline = Date.now() + 60_000;
  try {
    const call = <T>(fn: () => Promise<T>) => connection.withDeadline(Date.now() + 10_000, fn);
    try {
      await call(() =>
        connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(NAMESPACE_RETENTION) }),
      );
      log(`namespace ${namespace} registered`);
    } catch (err) {
      if (!/already exists|ALREADY_EXISTS/i.test(String(err))) throw err;
    }
    // Each service learns of a new namespace on its next cache refresh (2 s here): ask until they all answer.
    for (;;) {
      try {
        const added = await call(() => ensureSearchAttributes(connection, namespace));
        await call(() => connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }));
        return added;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable within 60 s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

function bundleWorkflows(clusterDir: string): string {
  const bundle = path.join(clusterDir, 'workflow-bundle.js');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'workers/build-bundle.ts', bundle], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error('could not bundle the workflow code (workers/build-bundle.ts)');
  return bundle;
}

function productChildren(config: AppConfig, bundle: string): { children: ChildSpec[]; apiPorts: number[] } {
  const publicPort = config.api.port;
  const apiPorts = Array.from({ length: CLUSTER_APIS }, (_, i) => publicPort + 1 + i);
  const children: ChildSpec[] = [];
  if (config.anaf.env === 'sandbox')
    children.push({ name: 'sandbox', script: 'sandbox/main.ts', env: {}, readyLine: 'ANAF sandbox listening' });
  for (let i = 0; i < CLUSTER_WORKERS; i++) {
    const metrics = config.metrics.workerPort ? config.metrics.workerPort + 2 * i : 0;
    children.push({
      name: `worker-${i + 1}`,
      script: 'workers/main.ts',
      env: {
        WORKFLOW_BUNDLE: bundle,
        WORKER_METRICS_PORT: String(metrics),
        TEMPORAL_METRICS_BIND: metrics ? `127.0.0.1:${metrics + 1}` : 'off',
      },
      readyLine: 'worker started',
    });
  }
  apiPorts.forEach((port, i) =>
    children.push({ name: `api-${i + 1}`, script: 'api/main.ts', env: { API_PORT: String(port) }, readyLine: 'API listening' }),
  );
  return { children, apiPorts };
}

async function waitForProducts(clusterDir: string, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = readStatus(clusterDir);
    const failed = names.find((n) => status[n]?.failed);
    if (failed) throw new Error(`${failed} ${status[failed]!.failed}`);
    if (names.every((n) => status[n]?.ready)) return;
    if (Date.now() > deadline)
      throw new Error(
        `not ready within ${timeoutMs / 1000} s: ${names.filter((n) => !status[n]?.ready).join(', ')} (logs in ${clusterDir}/logs)`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

function startService(paths: ClusterPaths, server: string, configFile: string, service: TemporalService): void {
  paths.processes.spawnDaemon(
    `temporal-${service}`,
    server,
    ['--config-file', configFile, '--allow-no-auth', 'start', '--service', service],
    { marker: server },
  );
}

/**
 * Chaos on the cluster: one Temporal service stopped (SIGTERM, or SIGKILL) and started again
 * on the same config; resolves once it listens again. Returns the ms it was away.
 */
export async function restartTemporalService(
  config: Pick<AppConfig, 'dataDir'>,
  service: TemporalService,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number> {
  const t0 = performance.now();
  const paths = clusterPaths(config);
  const record = paths.processes.alive(`temporal-${service}`);
  if (!record) throw new Error(`temporal ${service} is not running`);
  await stopProcess(record, 20_000, signal);
  startService(paths, record.marker, path.join(paths.clusterDir, 'temporal.yaml'), service);
  const deadline = Date.now() + 60_000;
  while (!(await portInUse(SERVICE_PORTS[service].grpcPort))) {
    if (Date.now() > deadline) throw new Error(`temporal ${service} did not listen again within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - t0;
}

/** Chaos on the cluster: the managed PostgreSQL stopped (`immediate`: as if it crashed) and started again. */
export async function restartPostgres(config: Pick<AppConfig, 'dataDir'>, mode: 'fast' | 'immediate' = 'immediate'): Promise<number> {
  const t0 = performance.now();
  const pg = ManagedPostgres.prepare(clusterPaths(config).clusterDir, log);
  pg.stop(mode);
  await pg.start();
  return performance.now() - t0;
}

async function start(paths: ClusterPaths, startedAt: number): Promise<void> {
  const config = await clusterConfig();
  const address = config.temporal.address!;
  const extra = [
    `  cluster       Temporal ${TEMPORAL_SERVER_VERSION}: frontend (mTLS), history (${NUM_HISTORY_SHARDS} shards), matching, worker on PostgreSQL; ${CLUSTER_WORKERS} workers, ${CLUSTER_APIS} APIs behind :${config.api.port}`,
    `  client TLS    TEMPORAL_TLS_CERT/KEY/CA from ${path.join(paths.clusterDir, 'tls')}; stop: npm run cluster -- --stop`,
  ];
  const uiUrl = undefined;
  const pg = managedPostgres(paths);
  const state = runningState(paths, pg);
  if (state.all) {
    log('already running');
    process.stdout.write(summary({ what: 'anaf-flow (cluster)', startedAt, config, address, uiUrl, extra }));
    return;
  }

  const binaries = await ensureServerBinaries(log);
  let db: PostgresTarget;
  if (pg) {
    await pg.start();
    db = pg.target;
    log(`PostgreSQL on 127.0.0.1:${pg.port} (data ${pg.dataDir})`);
  } else {
    db = externalPostgres(process.env.CLUSTER_POSTGRES_URL!);
    log(`PostgreSQL at ${db.host}:${db.port} (CLUSTER_POSTGRES_URL)`);
  }
  await ensureSchemas(binaries, db, log);
  const tls = await ensureClusterTls(paths.clusterDir);
  const configFile = writeServerConfig(paths.clusterDir, db, tls, [config.temporal.taskQueue, ...CLUSTER_HARNESS_TASK_QUEUES]);

  const missing = TEMPORAL_SERVICES.filter((s) => !state.services[s]);
  if (missing.length === TEMPORAL_SERVICES.length) {
    for (const port of allPorts())
      if (await portInUse(port)) throw new Error(`port ${port} is in use (a dev server on 7233?): stop it first`);
  }
  for (const s of missing) startService(paths, binaries.server, configFile, s);
  if (missing.length) log(`started Temporal ${missing.join(', ')}`);
  await waitForTemporal(temporalConnectionOptions(config), 90_000);
  const added = await registerNamespace(config);
  if (added.length) log(`search attributes registered: ${added.join(', ')}`);

  if (!state.supervisor) {
    const bundle = bundleWorkflows(paths.clusterDir);
    const env = productEnv(config, address);
    if (config.anaf.env === 'sandbox') await addSandboxEnv(config, env);
    // Every API process answers for the one public port: redirects and status URLs name it, not theirs.
    Object.assign(env, clusterTlsEnv(tls), { API_PUBLIC_URL: config.api.publicUrl, API_PORT: String(config.api.port) });
    if (config.anaf.redirectUri) env.ANAF_REDIRECT_URI = config.anaf.redirectUri;
    const { children, apiPorts } = productChildren(config, bundle);
    const spec: SupervisorSpec = {
      clusterDir: paths.clusterDir,
      children,
      proxy: { port: config.api.port, backends: apiPorts.map((port) => ({ host: '127.0.0.1', port })) },
    };
    fs.rmSync(statusFile(paths.clusterDir), { force: true });
    paths.processes.spawnDaemon('supervisor', process.execPath, ['--import', 'tsx', 'scripts/cluster/supervisor.ts'], {
      env: { ...env, CLUSTER_SUPERVISOR_SPEC: JSON.stringify(spec) },
      cwd: ROOT,
      marker: 'scripts/cluster/supervisor.ts',
    });
    await waitForProducts(
      paths.clusterDir,
      children.map((c) => c.name),
      180_000,
    );
  }
  await waitForHttp(`http://127.0.0.1:${config.api.port}/readyz`, 60_000);
  process.stdout.write(summary({ what: 'anaf-flow (cluster)', startedAt, config, address, uiUrl, extra }));
}

/** Starts the cluster unless it runs (the caller's entry point for cluster:test and chaos). */
export async function ensureClusterRunning(): Promise<AppConfig> {
  const startedAt = Date.now();
  const paths = clusterPaths(loadConfig());
  await start(paths, startedAt);
  return clusterConfig();
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const args = process.argv.slice(2);
  const paths = clusterPaths(loadConfig());
  if (args.includes('--stop')) return stop(paths);
  if (args.includes('--status')) {
    const state = runningState(paths, process.env.CLUSTER_POSTGRES_URL ? undefined : managedPostgres(paths));
    log(`PostgreSQL ${state.postgres ? 'running' : 'stopped'}`);
    for (const [s, r] of Object.entries(state.services)) log(`temporal ${s}: ${r ? `pid ${r.pid}` : 'stopped'}`);
    for (const [name, s] of Object.entries(readStatus(paths.clusterDir))) {
      log(`${name}: pid ${s.pid}, ${s.failed ? `failed: ${s.failed}` : s.ready ? 'ready' : 'starting'}, restarts ${s.restarts}`);
    }
    process.exitCode = state.all ? 0 : 3;
    return;
  }
  await start(paths, startedAt);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
