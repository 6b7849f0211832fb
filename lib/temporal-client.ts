import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './codec';
import type { AppConfig } from './config';

/** Every client and worker encrypts payloads the same way; this is the one place that says how. */
export function dataConverterFor(config: Pick<AppConfig, 'payloadKeys'>): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(config.payloadKeys)] };
}

export async function connectClient(config: AppConfig, address: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterFor(config) });
}
