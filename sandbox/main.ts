import { createLogger } from '../lib/observability/logger';
import { loadDevPki } from './banciws/dev-pki';
import { sandboxOptionsFromEnv } from './env-options';
import { createSandbox } from './server';

/**
 * `npm run sandbox`: the ANAF sandbox as its own process. Env: SANDBOX_PORT (9400),
 * SANDBOX_HOST (127.0.0.1), SANDBOX_ACCESS_TOKEN_TTL / SANDBOX_REFRESH_TOKEN_TTL
 * (seconds), SANDBOX_SEED, SANDBOX_OAUTH_SIGNING_KEY_FILE (PKCS#8 PEM; otherwise a fresh
 * key per start, which invalidates the JWTs of the previous run), and the app's own
 * ANAF_CLIENT_* / ANAF_OAUTH_CLIENTS / API_PORT so its clients are registered.
 */
async function main(): Promise<void> {
  const logger = createLogger({ name: 'anaf-sandbox' });
  const options = sandboxOptionsFromEnv();
  // SANDBOX_BANCIWS_PKI_DIR (set by `npm run dev`): serve BANCIWS over HTTPS on SANDBOX_TLS_PORT with that CA.
  const pkiDir = process.env.SANDBOX_BANCIWS_PKI_DIR;
  const banciws = pkiDir ? { tlsPort: Number(process.env.SANDBOX_TLS_PORT ?? 9443), pki: loadDevPki(pkiDir) } : undefined;
  // A process started after another must not hand out its ids again (ANAF never does): start the
  // e-Factura sequences from the clock, 20 ids per second since 2026 (SANDBOX_SEED: reproducible, from 0).
  const idOffset = options.seed === undefined ? Math.max(0, Math.floor((Date.now() - Date.UTC(2026, 0, 1)) / 50)) : 0;
  const efactura = { idOffset, ...options.efactura };
  const sandbox = await createSandbox({ ...options, efactura, logger, ...(banciws ? { banciws } : {}) });
  if (sandbox.banciws) logger.info({ url: sandbox.banciws.baseUrl }, 'BANCIWS (F5 front, mTLS) listening');
  logger.info(
    {
      url: sandbox.url,
      clients: sandbox.oauth.options.clients.map((c) => ({ clientId: c.clientId, redirectUris: c.redirectUris })),
      accessTokenTtlSeconds: sandbox.oauth.options.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: sandbox.oauth.options.refreshTokenTtlSeconds,
    },
    `ANAF sandbox listening on ${sandbox.url} (controls at ${sandbox.url}/__sandbox/state)`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ANAF sandbox stopping');
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'ANAF sandbox did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad env): stderr is the one sure channel.
  console.error('ANAF sandbox failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
