/**
 * The plain-Temporal floor of the throughput benchmark: the same shape as an e-Factura
 * lifecycle (upload, a first-poll timer, stareMesaj retried until ready, descarcare, the check
 * of ANAF's signature, on a separate ANAF task queue) with nothing else — no codec, no interceptors, no search
 * attributes, no state. What a worker costs per lifecycle here is the SDK's own price.
 */
import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

export const FLOOR_ANAF_QUEUE_SUFFIX = '-floor-anaf';

export async function floorLifecycle(xml: string, anafQueue: string): Promise<number> {
  const anaf = proxyActivities<FloorActivities>({
    taskQueue: anafQueue,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '50 ms', backoffCoefficient: 1.5, maximumInterval: '1 second' },
  });
  const index = await anaf.floorUpload(xml);
  await sleep(50);
  const downloadId = await anaf.floorStatus(index);
  if (!downloadId) throw ApplicationFailure.nonRetryable('no download id');
  const bytes = await anaf.floorDownload(downloadId);
  await anaf.floorSignatureCheck(xml);
  return bytes;
}
