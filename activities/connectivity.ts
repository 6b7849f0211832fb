import { request } from 'undici';
import type { AppConfig } from '../lib/config/config';

export interface ProbeResult {
  name: 'oauth' | 'api';
  url: string;
  reachable: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

/**
 * A reachability probe of the configured ANAF hosts. Reachable means "an HTTP answer
 * came back", whatever its status: without a token ANAF answers 4xx, which still proves
 * DNS, TLS and the gateway are fine.
 */
export function createConnectivityActivities(config: Pick<AppConfig, 'anaf'>) {
  const targets: Array<{ name: ProbeResult['name']; url: string }> = [
    { name: 'oauth', url: `${config.anaf.oauthBaseUrl}/authorize` },
    { name: 'api', url: new URL('/TestOauth/jaxrs/hello?name=anaf-flow', config.anaf.apiBaseUrl).toString() },
  ];

  async function probe(target: { name: ProbeResult['name']; url: string }): Promise<ProbeResult> {
    const started = performance.now();
    try {
      const res = await request(target.url, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
      await res.body.dump();
      return { ...target, reachable: true, status: res.statusCode, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return { ...target, reachable: false, error: (err as Error).message, latencyMs: Math.round(performance.now() - started) };
    }
  }

  return {
    async probeAnafHosts(): Promise<ProbeResult[]> {
      return Promise.all(targets.map(probe));
    },
  };
}

export type ConnectivityActivities = ReturnType<typeof createConnectivityActivities>;
