import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Logger } from '../lib/observability/logger';
import { enableProcessMetrics, METRICS_CONTENT_TYPE, metricsRequestAllowed, metricsText } from '../lib/observability/metrics';

export interface MetricsServerOptions {
  port: number;
  host?: string;
  token?: string;
  /** The Temporal SDK core's own Prometheus exporter (Runtime telemetryOptions); its series are appended. */
  temporalCoreBind?: string;
  logger: Logger;
}

/** Reads the core exporter; its series are `temporal_*`, ours `anaf_*`/`nodejs_*`/`process_*`, so the texts concatenate cleanly. */
async function temporalCoreMetrics(bind: string): Promise<string> {
  try {
    const res = await request(`http://${bind}/metrics`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : `# temporal core exporter answered ${res.statusCode}\n`;
  } catch (err) {
    return `# temporal core exporter unreachable: ${(err as Error).message.replace(/\n/g, ' ')}\n`;
  }
}

/** The worker's GET /metrics: our registry plus, when configured, the Temporal SDK core's series. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  enableProcessMetrics();
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!metricsRequestAllowed(req.headers.authorization, options.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    Promise.all([metricsText(), options.temporalCoreBind ? temporalCoreMetrics(options.temporalCoreBind) : ''])
      .then(([ours, core]) => {
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
        res.end(core ? `${ours}\n${core}` : ours);
      })
      .catch((err: unknown) => {
        options.logger.warn({ err }, 'metrics collection failed');
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
