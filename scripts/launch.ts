import type { AppConfig } from '../lib/config/config';
import { DEV_BANCIWS_CUI, ensureDevPki } from '../sandbox/banciws/dev-pki';

/**
 * What `npm run dev` and `npm run cluster` share: the environment every product process gets,
 * the sandbox's BANCIWS set-up, waiting for an HTTP endpoint, and the summary printed at the end.
 */

export function formatKeys(keys: Array<{ id: string; key: Buffer }>): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

/** The environment of every product process (worker, API, sandbox): same Temporal, same secrets. */
export function productEnv(config: AppConfig, address: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    DATA_DIR: config.dataDir,
    // Children get the same secrets explicitly, so they never race to generate their own.
    PAYLOAD_ENCRYPTION_KEYS: formatKeys(config.payloadKeys),
    TOKEN_ENCRYPTION_KEYS: formatKeys(config.tokenSealing.legacyKeys),
    API_KEYS: config.api.keys.map((k) => `${k.tenant}:${k.key}:${k.role}`).join(','),
    ...(config.api.operatorKeys.length ? { OPERATOR_API_KEYS: config.api.operatorKeys.map((k) => `${k.name}:${k.key}`).join(',') } : {}),
    ...(config.webhooks.secret ? { WEBHOOK_SECRET: config.webhooks.secret } : {}),
  };
}

/**
 * BANCIWS out of the box in sandbox mode: a CA and a client certificate made once under
 * DATA_DIR, served by the sandbox over mTLS, and an institution for the first tenant. Adds
 * the variables to `env`; returns the sandbox's URL.
 */
export async function addSandboxEnv(config: AppConfig, env: NodeJS.ProcessEnv): Promise<string> {
  const pki = await ensureDevPki(config.dataDir);
  env.SANDBOX_BANCIWS_PKI_DIR = pki.dir;
  env.SANDBOX_TLS_PORT = String(config.sandbox.tlsPort);
  if (!config.banciws.clientCert && !config.banciws.pfx) {
    Object.assign(env, { BANCIWS_CLIENT_CERT: pki.clientCert, BANCIWS_CLIENT_KEY: pki.clientKey, BANCIWS_CA: pki.caCert });
  }
  if (config.banciws.institutions.length === 0) {
    const tenant = config.api.keys[0]!.tenant;
    env.BANCIWS_INSTITUTIONS = JSON.stringify([{ id: 'banca-dev', tenant, cui: DEV_BANCIWS_CUI, zile: '1/24', pollEveryMinutes: 60 }]);
  }
  return `http://127.0.0.1:${config.sandbox.port}`;
}

/** Resolves when `url` answers 200, or rejects after `timeoutMs` (each attempt bounded). */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

export interface SummaryOptions {
  what: string;
  startedAt: number;
  config: AppConfig;
  address: string;
  /** undefined: this Temporal has no Web UI. */
  uiUrl: string | undefined;
  /** Extra lines after the Temporal one (e.g. the cluster's processes). */
  extra?: string[];
}

/**
 * The variables README.md and docs/ use in their commands ($API, $KEY, …), as one line to paste into
 * a shell. Only for generated development keys: real keys never go to a terminal's scrollback.
 */
export function docsShellExports(config: AppConfig): string {
  const vars: Array<[string, string]> = [
    ['API', config.api.publicUrl],
    ...(config.anaf.env === 'sandbox' ? ([['SANDBOX', `http://127.0.0.1:${config.sandbox.port}`]] as Array<[string, string]>) : []),
    ['KEY', config.api.keys[0]!.key],
    ...(config.api.operatorKeys[0] ? ([['OPERATOR_KEY', config.api.operatorKeys[0].key]] as Array<[string, string]>) : []),
  ];
  return `export ${vars.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** The "anaf-flow is up" block both launchers print. */
export function summary(o: SummaryOptions): string {
  const { config } = o;
  const devKey = config.api.keys[0]!;
  const seconds = ((Date.now() - o.startedAt) / 1000).toFixed(1);
  const lines = [
    '',
    `${o.what} is up in ${seconds} s (ANAF_ENV=${config.anaf.env})`,
    `  API           ${config.api.publicUrl}   (docs: ${config.api.publicUrl}/docs)`,
    o.uiUrl
      ? `  Temporal UI   ${o.uiUrl}   (payloads decoded through ${config.api.publicUrl}/codec)`
      : `  Temporal UI   none here (a Web UI pointed at this Temporal decodes payloads through ${config.api.publicUrl}/codec)`,
    `  Temporal      ${o.address}   namespace ${config.temporal.namespace}`,
    ...(o.extra ?? []),
    ...(config.anaf.env === 'sandbox' ? [`  ANAF sandbox  http://127.0.0.1:${config.sandbox.port}`] : []),
    config.api.keysGenerated
      ? `  API key       ${devKey.key}   (tenant "${devKey.tenant}", generated for development; header x-api-key)`
      : `  API keys      from API_KEYS (${config.api.keys.length})`,
    ...(config.api.keysGenerated && config.api.operatorKeys[0]
      ? [
          `  Operator key  ${config.api.operatorKeys[0].key}   (operator "${config.api.operatorKeys[0].name}": codec, resolve; ANAF_FLOW_OPERATOR_KEY for the CLI)`,
        ]
      : []),
    `  data          ${config.dataDir}`,
    ...(config.api.keysGenerated ? ['', `  for the docs' commands:  ${docsShellExports(config)}`] : []),
    '',
  ];
  return lines.join('\n') + '\n';
}
