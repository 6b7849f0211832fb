import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../lib/temporal/dev-server';
import { addSearchAttributes } from '../lib/temporal/search-attribute-registration';
import { resolveTemporalCli, resolveTemporalTestServer } from '../lib/temporal/temporal-binaries';
import { clientInterceptors, dataConverterFor } from '../lib/temporal/temporal-client';
import { ALL_SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes';
import { testConfig } from './config';

// Worker state chatter would drown test output; warnings and errors still show.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}

/**
 * A real Temporal dev server (the pinned CLI, lib/temporal/temporal-binaries.ts),
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
