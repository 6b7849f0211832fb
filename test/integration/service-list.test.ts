import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { callApi } from '../../devkit/api-client';
import { TENANT_A, testConfig } from '../../devkit/config';
import { startDevServer } from '../../devkit/temporal-env';
import { createLogger } from '../../lib/observability/logger';
import { createSandbox, type RunningSandbox } from '../../sandbox';
import { ANAF_SERVICES } from '../../services';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import * as productWorkflows from '../../workflows';
import { toyService } from '../toy-service/service';

/** Workflows that belong to the platform rather than to one ANAF service. */
const PLATFORM_WORKFLOWS = ['organization'];

describe('the service list (services/index.ts)', () => {
  it('names every workflow workflows/index.ts exports, each once, and nothing else', () => {
    const listed = [...PLATFORM_WORKFLOWS, ...ANAF_SERVICES.flatMap((s) => s.workflows)];
    assert.deepEqual(
      [...listed].sort(),
      Object.keys(productWorkflows).sort(),
      "a workflow exported from workflows/index.ts belongs in its service's `workflows` (services/<name>.ts; docs/adding-a-service.md)",
    );
    assert.equal(new Set(listed).size, listed.length, 'a workflow is listed by two services');
  });

  it('gives each service a name of its own', () => {
    const names = ANAF_SERVICES.map((s) => s.name);
    assert.equal(new Set(names).size, names.length);
  });
});

describe('a toy service registered through the same list', () => {
  const services = [...ANAF_SERVICES, toyService];
  let env: TestWorkflowEnvironment;
  let sandbox: RunningSandbox;
  let server: http.Server;
  let apiUrl: string;
  let workers: Worker[];
  let running: Promise<void>;

  before(async () => {
    env = await startDevServer();
    sandbox = await createSandbox({ port: 0, services });
    const config = testConfig({
      ANAF_OAUTH_BASE_URL: `${sandbox.url}/anaf-oauth2/v1`,
      ANAF_API_BASE_URL: `${sandbox.url}/test`,
      TEMPORAL_TASK_QUEUE: `toy-${Math.random().toString(36).slice(2, 10)}`,
    });
    const logger = createLogger({ level: 'silent' });
    server = http.createServer(createApp({ config, client: env.client, logger, services }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The toy's workflow is bundled with the product's: the worker's list is workflows/index.ts plus it.
    workers = await createWorkers({
      config,
      connection: env.nativeConnection,
      client: env.client,
      logger,
      services,
      workflowsPath: require.resolve('../toy-service/workflows'),
    });
    running = runWorkers(workers);
  });

  after(async () => {
    for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await sandbox?.close();
    await env?.teardown();
  });

  it('drives one request end to end: route → workflow → activity → sandbox route, and back', async () => {
    const answer = await callApi({ apiUrl }, TENANT_A.key, 'POST', '/v1/toy/echoes', { json: { word: 'salut' } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { echo: 'SALUT' });
    assert.equal(sandbox.state.requestsTo('GET', '/toy/echo/salut'), 1, 'the activity called the sandbox once');
  });

  it("documents the toy's route in the OpenAPI document with the product's", async () => {
    const doc = await callApi({ apiUrl }, TENANT_A.key, 'GET', '/openapi.json');
    assert.ok(doc.json.paths['/v1/toy/echoes'], 'toy route documented');
    assert.ok(doc.json.paths['/v1/efactura/invoices'], 'product routes still documented');
  });

  it('refuses bad input with the typed 400 every route gives', async () => {
    const answer = await callApi({ apiUrl }, TENANT_A.key, 'POST', '/v1/toy/echoes', { json: { word: 'NOT OK' } });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, 'VALIDATION_FAILED');
  });
});
