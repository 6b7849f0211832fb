/**
 * `npx tsx bench/workflow-cost.ts [copies]`: what the worker's workflow side costs per lifecycle,
 * without ANAF, the API or a load generator sharing the CPU. One e-Factura lifecycle of ours
 * (test/histories/efactura-signature-checked.json: upload, first-poll timer, stareMesaj,
 * descarcare, signature check) and one of the plain-Temporal floor (recorded here on a dev
 * server with stub activities) are each replayed `copies` times; the process's CPU time
 * (every thread: the workflow thread and the codec on the main one) is divided by the copies.
 * Replay drives the same activations and commands as a live run, so this is the workflow
 * thread's share of section 1's "worker CPU-ms per lifecycle", measured on its own.
 * ONLY=floor|anaf-flow runs one side (for `node --cpu-prof --import tsx bench/workflow-cost.ts`);
 * OURS_PATH / FLOOR_PATH bundle another workflows module (an A/B of a change); ROUNDS (2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, type InjectedSinks, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { testConfig } from '../devkit/config';
import { startDevServer } from '../devkit/temporal-env';
import { dataConverterFor } from '../lib/temporal/temporal-client';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../workers/interceptors';
import type { LifecycleMetricsSinks } from '../workflows/interceptors';

type History = temporal.api.history.v1.IHistory;
const OURS = path.resolve(__dirname, '../test/histories/efactura-signature-checked.json');

/** The floor's lifecycle, run once on a dev server with activities that answer at once. */
async function floorHistory(): Promise<History> {
  const env = await startDevServer();
  try {
    const taskQueue = 'floor-cost';
    const stubs = {
      floorUpload: async () => '5001',
      floorStatus: async () => '6001',
      floorDownload: async () => 1234,
      floorSignatureCheck: async () => undefined,
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./floor/workflow'),
      activities: stubs,
    });
    return await worker.runUntil(async () => {
      // A plain client, as the floor has no codec (env.client encrypts payloads like the product).
      const handle = await new Client({ connection: env.connection }).workflow.start('floorLifecycle', {
        taskQueue,
        workflowId: `floor-cost-${Date.now()}`,
        args: ['<Invoice/>', taskQueue],
        workflowExecutionTimeout: '1 minute',
      });
      await handle.result();
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}

async function cpuPerReplay(label: string, options: ReplayWorkerOptions, history: History, copies: number): Promise<number> {
  const histories = (n: number) => Array.from({ length: n }, (_, i) => ({ workflowId: `${label}-${i}`, history }));
  // Warm up: the bundle's first evaluation and V8's compilation are not per lifecycle.
  for await (const r of Worker.runReplayHistories(options, histories(20))) if (r.error) throw r.error;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for await (const r of Worker.runReplayHistories(options, histories(copies))) if (r.error) throw r.error;
  const cpu = process.cpuUsage(cpu0);
  const ms = (cpu.user + cpu.system) / 1000 / copies;
  console.log(`${label}: ${ms.toFixed(2)} CPU-ms per lifecycle (${copies} replays in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return ms;
}

async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 500);
  const logger = new DefaultLogger('WARN');
  const floor = await floorHistory();
  const ours = historyFromJSON(JSON.parse(fs.readFileSync(OURS, 'utf8')));
  const floorBundle = await bundleWorkflowCode({ workflowsPath: require.resolve(process.env.FLOOR_PATH ?? './floor/workflow'), logger });
  const ourBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve(process.env.OURS_PATH ?? '../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger,
  });
  const sinks: InjectedSinks<LifecycleMetricsSinks> = { anafFlowMetrics: { lifecycleFinished: { fn: () => undefined } } };
  console.log(`events per lifecycle: anaf-flow ${ours.events?.length}, floor ${floor.events?.length}`);
  const rounds = Number(process.env.ROUNDS ?? 2);
  for (let round = 0; round < rounds; round++) {
    // ONLY=floor|anaf-flow replays one side (for a profile of it alone: node --cpu-prof).
    const only = process.env.ONLY;
    const f = only === 'anaf-flow' ? NaN : await cpuPerReplay('floor', { workflowBundle: floorBundle }, floor, copies);
    const o =
      only === 'floor'
        ? NaN
        : await cpuPerReplay(
            'anaf-flow',
            { workflowBundle: ourBundle, dataConverter: dataConverterFor(testConfig()), sinks },
            ours,
            copies,
          );
    if (!only) console.log(`  ratio ${(o / f).toFixed(2)}×`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
