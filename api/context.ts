import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Router } from 'express';
import type { BlobStore } from '../lib/storage/blob-store';
import type { AppConfig } from '../lib/config/config';
import type { Logger } from '../lib/observability/logger';
import type { ApiKeyStore } from './auth';
import type { WorkflowAccess } from './workflow-access';
import type { XmlParsePool } from './xml-parse-pool';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      requestId: string;
      /** Child logger tagged with the request id. */
      log: import('pino').Logger;
      /** Set by the API key check; absent on unauthenticated routes. For an operator, the tenant whose case the route acts on. */
      tenant?: string;
      /** Whose key the request presented (auth.ts). */
      principal?: import('./auth').Principal;
      /** The operator's name, on operator routes (logged with the request). */
      operator?: string;
    }
  }
}

/** Everything a route module may use. Built once per app by createApp. */
export interface ApiContext {
  config: AppConfig;
  client: Client;
  logger: Logger;
  codec: PayloadCodec;
  /** Routes register their schemas here; GET /openapi.json is generated from it. */
  registry: OpenAPIRegistry;
  apiKeys: ApiKeyStore;
  /** Tenant-scoped start/describe/list of workflows. */
  workflows: WorkflowAccess;
  /** Default JSON body limit for routes that do not set their own. */
  jsonBodyLimit: string;
  /** Documents (invoices, ANAF's answers), shared with the workers. */
  blobs: BlobStore;
  /** Where untrusted XML is parsed: worker threads with time, memory and admission caps. */
  xmlParsing: XmlParsePool;
}

/**
 * A feature module: mounts its routes on `router` (at the app root) and documents them in
 * `ctx.registry`, normally through `defineRoute` so one schema both validates and documents.
 */
export type RouteModule = (router: Router, ctx: ApiContext) => void;
