import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/workflow';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../lib/dev-server';
import { addSearchAttributes } from '../../lib/search-attribute-registration';
import { resolveTemporalCli, resolveTemporalTestServer } from '../../lib/temporal-binaries';
import { clientInterceptors, dataConverterFor } from '../../lib/temporal-client';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { testConfig } from './config';

// Worker state chatter would drown test output; warnings and errors still show.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}

/**
 * A real Temporal dev server (the CLI found on TEMPORAL_CLI_PATH/PATH, never downloaded),
 * with our search attributes registered and the client encrypting payloads like prod.
 */
export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  const config = testConfig();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: resolveTemporalCli() },
      searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
      ip: '127.0.0.1',
      extraArgs: DEV_SERVER_DYNAMIC_CONFIG,
    },
    client: { dataConverter: dataConverterFor(config), interceptors: clientInterceptors() },
  });
}

/** The time-skipping test server, for timers measured in days. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const config = testConfig();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: resolveTemporalTestServer() } },
    client: { dataConverter: dataConverterFor(config) },
  });
  await addSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/**
 * A workflow's view (its query while running, its result once completed) as soon as `ready`
 * holds: checked as the workflow moves on, every 100 ms, bounded — no fixed sleeps.
 */
export async function viewWhen<V>(client: Client, id: string, query: QueryDefinition<V>, ready: (v: V) => boolean, timeoutMs = 30_000): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  const handle = client.workflow.getHandle(id);
  for (;;) {
    const description = await handle.describe();
    const view = description.status.name === 'COMPLETED' ? ((await handle.result()) as V) : await handle.query(query);
    if (ready(view)) return view;
    if (description.status.name !== 'RUNNING') throw new Error(`${id} ended (${description.status.name}) without reaching the awaited state: ${JSON.stringify(view)}`);
    if (Date.now() > deadline) throw new Error(`${id} did not reach the awaited state in ${timeoutMs} ms: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
