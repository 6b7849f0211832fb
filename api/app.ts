import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import express from 'express';
import { type BlobStore, blobStoreFor } from '../lib/storage/blob-store';
import { AesGcmPayloadCodec } from '../lib/temporal/codec';
import type { AppConfig } from '../lib/config/config';
import { sealOnlyKeys } from '../lib/crypto/token-sealing-keys';
import type { Logger } from '../lib/observability/logger';
import { version } from '../package.json';
import { ANAF_SERVICES, type AnafServiceDescriptor } from '../services';
import { ApiKeyStore } from './auth';
import { codecCorsOriginsFromEnv, mountCodecRoutes } from './codec-routes';
import type { ApiContext, RouteModule } from './context';
import { errorHandler, routeNotFound } from './errors';
import { mountHealthRoutes } from './health-routes';
import { httpMetrics, mountMetricsRoutes } from './metrics-routes';
import { mountOAuthClientRoutes } from './oauth-client-routes';
import { mountOrganizationRoutes } from './organization-routes';
import { mountWebhookSecretRoutes } from './webhook-secret-routes';
import { createRegistry, mountOpenApi } from './openapi';
import { requestContext } from './request-id';
import { securityHeaders } from './security-headers';
import { WorkflowAccess } from './workflow-access';
import { XmlParsePool } from './xml-parse-pool';

export interface ApiDeps {
  config: AppConfig;
  client: Client;
  logger: Logger;
  /** Default: AES-GCM with config.payloadKeys — the same codec the workers use. */
  codec?: PayloadCodec;
  /** Browser origins allowed to call /codec. Default: env CODEC_CORS_ORIGINS, else the local Web UI (:8233). */
  codecCorsOrigins?: string[];
  /** Default JSON body limit; routes may set their own. Default '1mb'. */
  jsonBodyLimit?: string;
  /** Default 2000. */
  readinessTimeoutMs?: number;
  /** Deadline for each Temporal call made for a request. Default config.api.temporalRpcTimeoutMs (TEMPORAL_RPC_TIMEOUT_MS). */
  temporalRpcTimeoutMs?: number;
  /** Default: the filesystem store under DATA_DIR (the workers must see the same one). */
  blobs?: BlobStore;
  /** Default: a pool with config.xmlParsing's caps, its idle threads never holding the process open. */
  xmlParsing?: XmlParsePool;
  /** Default ANAF_SERVICES (services/index.ts): whose routes are mounted. */
  services?: readonly AnafServiceDescriptor[];
  /** Extra route modules, mounted after the services'. */
  modules?: RouteModule[];
}

/**
 * The HTTP API as an Express app, not yet listening (tests serve it on port 0).
 * The platform's routes (health, metrics, codec, organizations) are mounted here; each ANAF
 * service's come from its descriptor in services/ (docs/adding-a-service.md). Routes declare
 * themselves with `defineRoute` (validation + OpenAPI from one zod schema).
 */
export function createApp(deps: ApiDeps): express.Express {
  const { client, logger } = deps;
  // The API only seals tokens: whatever configuration it is handed, it keeps no key that opens one.
  const config = { ...deps.config, tokenSealing: sealOnlyKeys(deps.config.tokenSealing) };
  const ctx: ApiContext = {
    config,
    client,
    logger,
    codec: deps.codec ?? new AesGcmPayloadCodec(config.payloadKeys),
    registry: createRegistry(),
    apiKeys: new ApiKeyStore(config.api.keys, config.api.operatorKeys),
    workflows: new WorkflowAccess({
      client,
      taskQueue: config.temporal.taskQueue,
      rpcTimeoutMs: deps.temporalRpcTimeoutMs ?? config.api.temporalRpcTimeoutMs,
    }),
    jsonBodyLimit: deps.jsonBodyLimit ?? '1mb',
    blobs: deps.blobs ?? blobStoreFor(config.dataDir),
    xmlParsing: deps.xmlParsing ?? new XmlParsePool(config.xmlParsing),
  };

  const app = express();
  app.disable('x-powered-by');
  // Behind a proxy, req.ip etc. must not trust client-sent X-Forwarded-* unless configured; we do not use them.
  app.set('trust proxy', false);
  app.use(requestContext(logger));
  app.use(securityHeaders());
  app.use(httpMetrics());

  const router = express.Router();
  mountHealthRoutes(router, ctx, { readinessTimeoutMs: deps.readinessTimeoutMs });
  mountMetricsRoutes(router, ctx);
  mountCodecRoutes(router, ctx, { corsOrigins: deps.codecCorsOrigins ?? codecCorsOriginsFromEnv() });
  mountOrganizationRoutes(router, ctx);
  mountWebhookSecretRoutes(router, ctx);
  mountOAuthClientRoutes(router, ctx);
  for (const service of deps.services ?? ANAF_SERVICES) for (const mount of service.api?.() ?? []) mount(router, ctx);
  for (const mount of deps.modules ?? []) mount(router, ctx);
  mountOpenApi(router, ctx, { title: 'anaf-flow API', version, serverUrl: config.api.publicUrl });

  app.use(router);
  app.use(routeNotFound());
  app.use(errorHandler(logger));
  return app;
}
