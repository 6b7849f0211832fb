import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../lib/config/config';
import { clientInterceptors, dataConverterFor, temporalConnectionOptions } from '../lib/temporal/temporal-client';
import { type ApiDeps, createApp } from './app';
import { channelReady, temporalDeadlineInterceptors } from './temporal-deadlines';
import { XmlParsePool } from './xml-parse-pool';

/**
 * A client whose connection is made on first use, so the API starts (and /readyz says 503)
 * while Temporal is still down, and recovers by itself when it comes up. Every call it makes
 * has a deadline (TEMPORAL_RPC_TIMEOUT_MS, api/temporal-deadlines.ts).
 */
export function lazyTemporalClient(config: AppConfig): { client: Client; connection: Connection } {
  // The interceptor asks the connection about its channel; the connection exists only after it is made.
  const made: { connection?: Connection } = {};
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config),
    interceptors: temporalDeadlineInterceptors(
      config.api.temporalRpcTimeoutMs,
      () => made.connection !== undefined && channelReady(made.connection),
    ),
  });
  made.connection = connection;
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
    interceptors: clientInterceptors(),
  });
  return { client, connection };
}

export interface StartApiOptions extends Omit<ApiDeps, 'client'> {
  /** Default: lazyTemporalClient(config), closed again by close(). */
  client?: Client;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default config.api.port; 0 for an ephemeral port. */
  port?: number;
  /** How long close() lets in-flight requests finish before cutting connections. Default 10000. */
  shutdownGraceMs?: number;
}

export interface RunningApi {
  server: http.Server;
  /** Where it actually listens, e.g. http://127.0.0.1:38123 (config.api.publicUrl is what clients are told). */
  url: string;
  /** Stops accepting, lets in-flight requests finish (bounded), closes the Temporal connection it created. */
  close(): Promise<void>;
}

export async function startApiServer(options: StartApiOptions): Promise<RunningApi> {
  const own = options.client ? undefined : lazyTemporalClient(options.config);
  const client = options.client ?? own!.client;
  const xmlParsing = options.xmlParsing ?? new XmlParsePool(options.config.xmlParsing);
  const app = createApp({ ...options, client, xmlParsing });
  const host = options.host ?? '0.0.0.0';
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(options.port ?? options.config.api.port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      await closed;
      clearTimeout(grace);
      if (!options.xmlParsing) await xmlParsing.close();
      if (own) await own.connection.close();
    })());

  return { server, url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}`, close };
}
