import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import type { AppConfig } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/logger';
import { createSandbox, type RunningSandbox, type SandboxOptions } from '../../sandbox';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { testConfig } from './config';
import { startDevServer } from './temporal';

/**
 * The whole product for one test file, every part real: a Temporal server (dev server by
 * default, or a time-skipping one passed in), the ANAF sandbox over HTTP, the two workers
 * as production builds them, and the API on a real socket. Log lines of every part are
 * captured so tests can scan them for secrets.
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

export function workflowBundle() {
  const codePath = process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE;
  return codePath ? { codePath } : undefined;
}

export async function startWorkers(stack: Pick<Stack, 'env' | 'client' | 'config' | 'logger'>): Promise<{ workers: Worker[]; stop(): Promise<void> }> {
  const workers = await createWorkers({
    config: stack.config,
    connection: stack.env.nativeConnection,
    client: stack.client,
    logger: stack.logger,
    workflowBundle: workflowBundle(),
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
  // The API's port must be known before the sandbox registers our callback URL with its IdP.
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiPort = (server.address() as AddressInfo).port;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const redirectUri = `${apiUrl}/oauth/callback`;

  const sandbox = await createSandbox({
    port: 0,
    ...options.sandbox,
    oauth: {
      clients: [{ clientId: 'anaf-flow-test-client', clientSecret: 'anaf-flow-test-secret', redirectUris: [redirectUri] }],
      ...options.sandbox?.oauth,
    },
  });
  const env = options.env ?? (await startDevServer());
  const taskQueue = `test-${Math.random().toString(36).slice(2, 10)}`;
  const config = testConfig({
    ANAF_OAUTH_BASE_URL: `${sandbox.url}/anaf-oauth2/v1`,
    ANAF_API_BASE_URL: `${sandbox.url}/test`,
    ANAF_CLIENT_ID: 'anaf-flow-test-client',
    ANAF_CLIENT_SECRET: 'anaf-flow-test-secret',
    ANAF_REDIRECT_URI: redirectUri,
    API_PORT: String(apiPort),
    API_PUBLIC_URL: apiUrl,
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...(options.configFromSandbox ? await options.configFromSandbox(sandbox) : {}),
    ...options.configOverrides,
  });
  const client = env.client;
  const app = createApp({ config, client, logger });
  server.on('request', app);

  const stackBase = { env, client, config, logger };
  const workers = options.workers === false ? undefined : await startWorkers(stackBase);

  return {
    ...stackBase,
    sandbox,
    apiUrl,
    logs: lines,
    async close() {
      await workers?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sandbox.close();
      if (!options.env) await env.teardown();
    },
  };
}
