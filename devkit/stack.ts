import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import type { AppConfig } from '../lib/config/config';
import { createLogger, type Logger } from '../lib/observability/logger';
import type { RunningSandbox, SandboxOptions } from '../sandbox';
import { createWorkers, runWorkers } from '../workers/create-workers';
import { testConfig } from './config';
import { closeServer, listeningApiSocket } from './ports';
import { sandboxApiEnv, sandboxForApi } from './sandbox-for-api';
import { startDevServer } from './temporal-env';
import { prebuiltWorkflowBundle } from './workflow-bundle';

const OAUTH_CLIENT = { clientId: 'anaf-flow-test-client', clientSecret: 'anaf-flow-test-secret' };

/**
 * The whole product for one test file, every part real: a Temporal server (dev server by
 * default, or a time-skipping one passed in), the ANAF sandbox over HTTP, the two workers
 * as production builds them, and the API on a real socket. Log lines of every part are
 * captured so tests can scan them for secrets. devkit/process-harness.ts is the counterpart
 * with worker processes (measured, killed) for the bench and the chaos suite.
 */
export interface Stack {
  env: TestWorkflowEnvironment;
  client: Client;
  config: AppConfig;
  sandbox: RunningSandbox;
  apiUrl: string;
  logs: string[];
  logger: Logger;
  close(): Promise<void>;
}

export interface StackOptions {
  sandbox?: SandboxOptions;
  configOverrides?: Record<string, string>;
  /** An environment to use instead of a fresh dev server (e.g. time-skipping). */
  env?: TestWorkflowEnvironment;
  /** More configuration that depends on the running sandbox (e.g. BANCIWS certificates issued by its CA). */
  configFromSandbox?: (sandbox: RunningSandbox) => Promise<Record<string, string>>;
  /** Start the workers (default true); false to start them later with `startWorkers`. */
  workers?: boolean;
}

export function captureLogs(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

export async function startWorkers(
  stack: Pick<Stack, 'env' | 'client' | 'config' | 'logger'>,
): Promise<{ workers: Worker[]; stop(): Promise<void> }> {
  const workers = await createWorkers({
    config: stack.config,
    connection: stack.env.nativeConnection,
    client: stack.client,
    logger: stack.logger,
    workflowBundle: prebuiltWorkflowBundle(),
  });
  const running = runWorkers(workers);
  return {
    workers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { lines, logger } = captureLogs();
  const api = await listeningApiSocket();
  const sandbox = await sandboxForApi(OAUTH_CLIENT, api.redirectUri, options.sandbox);
  const env = options.env ?? (await startDevServer());
  const taskQueue = `test-${Math.random().toString(36).slice(2, 10)}`;
  const config = testConfig({
    ...sandboxApiEnv(sandbox, OAUTH_CLIENT, api),
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...(options.configFromSandbox ? await options.configFromSandbox(sandbox) : {}),
    ...options.configOverrides,
  });
  const client = env.client;
  const app = createApp({ config, client, logger });
  api.server.on('request', app);

  const stackBase = { env, client, config, logger };
  const workers = options.workers === false ? undefined : await startWorkers(stackBase);

  return {
    ...stackBase,
    sandbox,
    apiUrl: api.url,
    logs: lines,
    async close() {
      await workers?.stop();
      await closeServer(api.server);
      await sandbox.close();
      if (!options.env) await env.teardown();
    },
  };
}
