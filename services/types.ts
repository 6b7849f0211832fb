import type { Client } from '@temporalio/client';
import type { DailyQuotaGuard } from '../lib/anaf/anaf-daily-quotas';
import type { BlobStore } from '../lib/storage/blob-store';
import type { AppConfig } from '../lib/config/config';
import type { OrganizationMemos } from './clients/organization-memo';
import type { Logger } from '../lib/observability/logger';
import type { TokenSealer } from '../lib/crypto/token-seal';
import type { RouteModule } from '../api/context';
import type { SandboxContext, SandboxModule } from '../sandbox/module';
import type { AnafServiceName } from '../lib/temporal/search-attributes';

/**
 * One ANAF API (e-Factura, e-Transport, BANCIWS, …) as the processes see it: a folder per
 * layer (workflows/, activities/, api/, sandbox/) and this descriptor, listed once in
 * services/index.ts. The worker, the API and the sandbox iterate that list.
 *
 * Each layer's part is a function that loads its code only when called, so a process loads
 * only its own layer: the API never loads activity code, the worker never loads the sandbox.
 */
export interface AnafServiceDescriptor {
  /** Also the key of its sandbox options (SandboxOptions[name]). */
  name: string;
  /** The AnafService search attribute values its workflows carry (listings and the Web UI filter on them). */
  searchAttributeValues: readonly AnafServiceName[];
  /** Its section of AppConfig (lib/config/config.ts), if it has one. */
  configSection?: keyof AppConfig;
  /** The workflow functions it registers; each is exported from workflows/index.ts (a test checks both ways). */
  workflows: readonly string[];
  /** Its activities, by the task queue whose worker runs them. */
  activities?: (deps: ServiceActivityDeps) => ServiceActivities;
  /** Its HTTP routes, mounted by createApp after the platform's own (health, codec, organizations). */
  api?: () => RouteModule[];
  /** Its simulation in the sandbox, given SandboxOptions[name] and the sandbox's host; undefined when not to be started. */
  sandbox?: (ctx: SandboxContext, options: unknown, listen: { host?: string }) => Promise<SandboxPart | undefined>;
}

/** What every service's activities may use; built once per worker process (workers/create-workers.ts). */
export interface ServiceActivityDeps {
  config: AppConfig;
  client: Client;
  sealer: TokenSealer;
  blobs: BlobStore;
  quotas: DailyQuotaGuard;
  /** Organizations' memos (authorization links, ANAF environments), one describe per organization per cache time for the whole process. */
  organizations: OrganizationMemos;
  logger: Logger;
}

/**
 * Activities by queue: `orchestration` (Temporal and local storage only), `anafCalls` (api.anaf.ro
 * and logincert, one shared rate limit), `banciwsCalls` (financiart.anaf.ro, its own limit).
 */
export type ServiceActivities = Partial<Record<'orchestration' | 'anafCalls' | 'banciwsCalls', object>>;

export interface SandboxPart {
  module: SandboxModule;
  /** The running simulation, exposed on RunningSandbox under the service's name (tests steer it). */
  service?: unknown;
  /** For parts with a listener of their own (BANCIWS's HTTPS front). */
  close?: () => Promise<void>;
}
