import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { AesGcmPayloadCodec, type PayloadCodecOptions } from './codec';
import type { AppConfig } from '../config/config';
import { requestIdClientInterceptor } from '../observability/request-context';

/** Where processes look for Temporal when TEMPORAL_ADDRESS is unset. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/** Every client and worker encrypts payloads the same way; this is the one place that says how. */
export function dataConverterFor(config: Pick<AppConfig, 'payloadKeys'>, options: PayloadCodecOptions = {}): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(config.payloadKeys, options)] };
}

/** Client interceptors every client of ours installs: the API request id travels in Temporal headers. */
export function clientInterceptors() {
  return { workflow: [requestIdClientInterceptor] };
}

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * How every Temporal connection of ours is made (client, worker NativeConnection, launchers):
 * the address, TLS from TEMPORAL_TLS_* (files read now, so a renewed certificate is picked
 * up by the next connection) and the API key. Both SDK connection kinds take this shape.
 */
export function temporalConnectionOptions(config: Pick<AppConfig, 'temporal'>, address?: string): TemporalConnectionOptions {
  const { tls, apiKey } = config.temporal;
  const options: TemporalConnectionOptions = { address: address ?? config.temporal.address ?? DEFAULT_TEMPORAL_ADDRESS };
  if (tls) {
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.ca ? { serverRootCACertificate: fs.readFileSync(tls.ca) } : {}),
      ...(tls.clientCert && tls.clientKey
        ? { clientCertPair: { crt: fs.readFileSync(tls.clientCert), key: fs.readFileSync(tls.clientKey) } }
        : {}),
    };
  }
  if (apiKey) options.apiKey = apiKey;
  return options;
}

export async function connectClient(config: AppConfig, address?: string): Promise<Client> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(config, address), connectTimeout: 10_000 });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
    interceptors: clientInterceptors(),
  });
}
