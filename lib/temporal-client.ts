import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './codec';
import type { AppConfig } from './config';
import { requestIdClientInterceptor } from './request-context';

/** Every client and worker encrypts payloads the same way; this is the one place that says how. */
export function dataConverterFor(config: Pick<AppConfig, 'payloadKeys'>): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(config.payloadKeys)] };
}

/** Client interceptors every client of ours installs: the API request id travels in Temporal headers. */
export function clientInterceptors() {
  return { workflow: [requestIdClientInterceptor] };
}

export async function connectClient(config: AppConfig, address: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
    interceptors: clientInterceptors(),
  });
}
