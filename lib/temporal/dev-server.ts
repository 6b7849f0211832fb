import { stopChild } from '../process/bounded';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs } from './search-attribute-registration';
import { resolveTemporalCli } from './temporal-binaries';
import type { TemporalConnectionOptions } from './temporal-client';

/**
 * Task-queue priorities on the ANAF queue (workflows/shared/anaf-priorities.ts: the OAuth code
 * exchange 1, token refresh 2, uploads 3, reads 4, polls 5) are honoured only by the server's
 * new matcher; with it, lower keys go first when the budget is tight. A production cluster
 * needs the same dynamic config.
 *
 * One partition per task queue: the server applies priorities inside each partition of a queue
 * (4 by default), not across them, and splits `maxTaskQueueActivitiesPerSecond` between them,
 * so the ANAF budget and "the OAuth exchange goes first" are exact only on one partition. The
 * cluster sets it for the rate-limited queues only (a `taskQueueName` constraint,
 * scripts/cluster/server-config.ts); `start-dev --dynamic-config-value` takes KEY=VALUE without
 * constraints, so the dev server sets it for every queue (a single process: nothing to spread).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  '--dynamic-config-value',
  'matching.useNewMatcher=true',
  '--dynamic-config-value',
  'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value',
  'matching.numTaskqueueWritePartitions=1',
];

export interface DevServerOptions {
  dataDir: string;
  namespace: string;
  port?: number;
  uiPort?: number;
  codecEndpoint?: string;
  /** Lines the server prints (warnings and errors only). */
  onOutput?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Resolves once a Temporal frontend answers at the address (a plain `host:port`, or connection
 * options with TLS / API key), or rejects after `timeoutMs`.
 */
export async function waitForTemporal(target: string | TemporalConnectionOptions, timeoutMs: number): Promise<void> {
  const options = typeof target === 'string' ? { address: target } : target;
  const address = options.address;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ ...options, connectTimeout: 1_000 });
      try {
        await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
      } finally {
        await connection.close();
      }
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${(lastError as Error)?.message}`);
}

/**
 * `temporal server start-dev` with a SQLite file under DATA_DIR (workflows survive a
 * restart), the Web UI on, our search attributes registered, and the UI pointed at our
 * codec server so an authorized operator sees decoded payloads.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const binary = resolveTemporalCli();
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  const dbDir = path.join(options.dataDir, 'temporal');
  fs.mkdirSync(dbDir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    path.join(dbDir, 'dev.sqlite'),
    // WAL with synchronous=NORMAL: survives a killed process (the chaos suite restarts on this file)
    // without an fsync per transaction, which made the dev server disk-bound.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    ...DEV_SERVER_DYNAMIC_CONFIG,
    ...devServerSearchAttributeArgs(),
    ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
  ];
  const child = spawn(binary, args, {
    env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server start-dev exited with code ${code}`))),
  );
  exited.catch(() => undefined); // after start-up, exits are reported by the caller's 'exit' listener
  const address = `127.0.0.1:${port}`;
  try {
    await Promise.race([waitForTemporal(address, 30_000), exited]);
  } catch (err) {
    // Not answering in time: a server left running would hold its port and database past us.
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: `http://localhost:${uiPort}`,
    process: child,
    // SIGTERM, SIGKILL after 10 s; a server already killed by a signal (exitCode null, its 'exit'
    // long gone) is not waited for: that wait hung a test process for good (CI, chaos).
    stop: () => stopChild(child),
  };
}
