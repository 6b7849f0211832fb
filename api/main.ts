import { loadConfig } from '../lib/config/config';
import { createLogger } from '../lib/observability/logger';
import { startApiServer } from './server';

async function main(): Promise<void> {
  // role 'api': the internet-facing process gets the token-sealing public keys only.
  const config = loadConfig(process.env, { role: 'api' });
  const logger = createLogger({ level: config.logLevel, name: 'anaf-flow-api' });
  const api = await startApiServer({ config, logger, host: '0.0.0.0', port: config.api.port });
  const base = config.api.publicUrl;
  logger.info(
    {
      listening: api.url,
      api: base,
      docs: `${base}/docs`,
      openapi: `${base}/openapi.json`,
      codec: `${base}/codec (x-api-key or Bearer), or ${base}/codec/k/<api key> for the dev server UI`,
      temporal: config.temporal.address ?? '127.0.0.1:7233',
      namespace: config.temporal.namespace,
      tenants: config.api.keys.map((k) => k.tenant),
      generatedDevKeys: config.api.keysGenerated ? `${config.dataDir}/dev-secrets.json` : undefined,
    },
    'API listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    api.close().then(
      () => {
        logger.info('API stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
