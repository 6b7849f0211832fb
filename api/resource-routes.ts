import type { Response } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { workflowIdFor } from '../lib/temporal/workflow-ids';
import type { BlobRef } from '../lib/storage/blob-store';
import { servingAuthorization } from '../services/clients/authorization-links';
import type { OAuthScope } from '../lib/config/config';
import { AnafAuthorizationId, AnafCif, AnafStage } from '../lib/temporal/search-attributes';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, type RouteDefiner, type RouteSpec } from './define-route';
import { ApiError } from './errors';
import { type IdempotencyRecord, idempotencyRecordsFor } from './idempotency-records';
import { sendStoredDocument } from './stored-document';
import type { StartForTenantResult } from './workflow-access';
import { type LoadedResource, loadResource, type WorkflowResource } from './workflow-resource';
import { IdempotencyHeaders, statusUrlFor, WorkflowAccepted, WorkflowIdParam } from './workflow-schemas';
import type { RequestSchemas } from './validate';
import type { z } from './zod';

/**
 * The routes every workflow-backed resource has, written once: an idempotent start that
 * answers 202 + statusUrl, `GET <collection>/{id}` and its stored documents.
 */

/** 202 with the workflow id and where to follow it (also as Location). */
export function sendAccepted(ctx: ApiContext, res: Response, collection: string, started: StartForTenantResult): void {
  const statusUrl = statusUrlFor(ctx, collection, started.workflowId);
  res.status(202).location(statusUrl).json({ id: started.workflowId, status: started.status, statusUrl });
}

export interface ResourceStart<W extends Workflow> {
  idempotencyKey: string;
  args: Parameters<W>;
  /** The organization (or institution) the case is for: AnafCif from the start, so listings filter on it at once. */
  cif: string;
  /** Over the request's content: the same key with another request is a 409. */
  requestSha256: string;
  /** The memo's summary in the Web UI, e.g. "e-Transport for CIF 14399840". */
  summary: string;
  /** The 409's message when the key was used for another request. */
  conflictMessage: string;
}

/**
 * Starts (or joins) the tenant's workflow under the Idempotency-Key and answers 202. The memo
 * keeps the request's hash and request id: another body under the same key is a 409
 * IDEMPOTENCY_KEY_REUSED, and a repeat of the first request is marked `Idempotent-Replayed`.
 */
export async function startResource<W extends Workflow>(
  ctx: ApiContext,
  res: Response,
  resource: WorkflowResource<unknown>,
  collection: string,
  start: ResourceStart<W>,
): Promise<void> {
  const requestId = res.locals.requestId;
  const tenant = tenantOf(res);
  const record = await claimIdempotencyKey(ctx, tenant, resource, start);
  const scope = OAUTH_SCOPE_OF_SERVICE[resource.service];
  // The sign-in whose token the case will use, as routed at submission (issue 16): findable in the Web UI by it.
  const authorization = scope ? await servingAuthorization(ctx.client, { tenant, cif: start.cif, scope }) : undefined;
  const started = await ctx.workflows.start<W>(tenant, resource, {
    idempotencyKey: start.idempotencyKey,
    args: start.args,
    searchAttributes: [
      { key: AnafCif, value: start.cif },
      { key: AnafStage, value: 'QUEUED' },
      ...(authorization ? [{ key: AnafAuthorizationId, value: authorization.authorizationId }] : []),
    ],
    memo: { requestSha256: start.requestSha256, requestId, summary: `${start.summary}: queued` },
  });
  const memo = ((await ctx.client.workflow.getHandle(started.workflowId).describe()).memo ?? {}) as {
    requestSha256?: string;
    requestId?: string;
  };
  if (memo.requestSha256 !== start.requestSha256) {
    throw new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', start.conflictMessage, { id: started.workflowId });
  }
  if (!record.started) await idempotencyRecordsFor(ctx.config.dataDir).markStarted(record);
  if (memo.requestId !== requestId) res.set('idempotent-replayed', 'true');
  sendAccepted(ctx, res, collection, started);
}

const SHORTEST_RETENTION_MS = 24 * 3600_000;

/** The services whose ANAF calls carry an OAuth token, by scope (BANCIWS uses a certificate). */
const OAUTH_SCOPE_OF_SERVICE: Partial<Record<string, OAuthScope>> = { efactura: 'EFACTURA', etransport: 'ETRANSPORT' };

/**
 * The key's record (idempotency-records.ts), checked before Temporal is asked: another request
 * under the key is a 409 IDEMPOTENCY_KEY_REUSED, and a key whose workflow Temporal has already
 * forgotten (retention) is a 409 IDEMPOTENCY_KEY_EXPIRED naming it, never a second start.
 */
async function claimIdempotencyKey(
  ctx: ApiContext,
  tenant: string,
  resource: WorkflowResource<unknown>,
  start: { idempotencyKey: string; requestSha256: string; conflictMessage: string },
): Promise<IdempotencyRecord> {
  const records = idempotencyRecordsFor(ctx.config.dataDir);
  const workflowId = workflowIdFor(tenant, resource.kind, start.idempotencyKey);
  const record = await records.claim({
    workflowId,
    requestSha256: start.requestSha256,
    createdAt: new Date().toISOString(),
    started: false,
  });
  if (record.requestSha256 !== start.requestSha256)
    throw new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', start.conflictMessage, { id: workflowId });
  // A record never marked started may still have started its workflow (the API died between the
  // start and the mark). Temporal keeps every workflow at least a day (its shortest retention), so
  // past that age "not found" no longer proves "never started": treated like a started one.
  const olderThanShortestRetention = Date.now() - Date.parse(record.createdAt) > SHORTEST_RETENTION_MS;
  if (record.started || olderThanShortestRetention) {
    const gone = await ctx.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => false,
        (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return true;
          throw err;
        },
      );
    if (gone) {
      throw new ApiError(
        409,
        'IDEMPOTENCY_KEY_EXPIRED',
        `This Idempotency-Key started ${workflowId} on ${record.createdAt}; Temporal no longer keeps it (retention), so it is not started again. Use a new key to send again.`,
        { id: workflowId, createdAt: record.createdAt },
      );
    }
  }
  return record;
}

/**
 * The spec of `POST {collection}` that starts a resource under an Idempotency-Key: 202
 * WorkflowAccepted; 404 (no such organization), 409 (key reused, or expired past retention), 415, 503.
 */
export function startRouteSpec<S extends RequestSchemas>(
  collection: string,
  spec: { summary: string; description: string; request: S & { bodyLimit: string; bodyDescription?: string } },
): Omit<RouteSpec<S & { headers: typeof IdempotencyHeaders }>, 'tags'> {
  return {
    method: 'post',
    permission: 'submit',
    path: collection,
    summary: spec.summary,
    description: spec.description,
    request: { headers: IdempotencyHeaders, ...spec.request },
    responses: { 202: jsonResponse('Accepted (or already accepted under this key)', WorkflowAccepted) },
    errors: [404, 409, 415, 503],
  };
}

/** `GET {item}`: the resource as the API presents it. */
export function mountResourceView<V>(
  route: RouteDefiner,
  ctx: ApiContext,
  resource: WorkflowResource<V>,
  spec: {
    path: string;
    summary: string;
    description: string;
    schema: z.ZodType;
    present: (id: string, loaded: LoadedResource<V>) => unknown;
  },
): void {
  route(
    {
      method: 'get',
      permission: 'read',
      path: spec.path,
      summary: spec.summary,
      request: { params: WorkflowIdParam },
      responses: { 200: jsonResponse(spec.description, spec.schema) },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(spec.present(params.id, await loadResource(ctx, resource, tenantOf(res), params.id)));
    },
  );
}

/** One stored document of a resource, served at `{item}/{suffix}`. */
export interface DocumentRoute<V> {
  suffix: string;
  summary: string;
  /** Names it in the 404 ("The invoice is not available (yet)"). */
  what: string;
  pick: (view: V) => BlobRef | undefined;
  /** The attachment's file name. */
  name: (view: V) => string;
}

/** `GET {item}/{suffix}` for each document; `load` answers the view, or undefined while there is none. */
export function mountDocumentRoutes<V>(
  route: RouteDefiner,
  ctx: ApiContext,
  item: string,
  load: (tenant: string, id: string) => Promise<V | undefined>,
  documents: Array<DocumentRoute<V>>,
): void {
  for (const doc of documents) {
    route(
      {
        method: 'get',
        permission: 'read',
        path: `${item}/${doc.suffix}`,
        summary: doc.summary,
        request: { params: WorkflowIdParam },
        responses: { 200: { description: doc.summary } },
        errors: [404, 503],
      },
      async ({ params }, _req, res) => {
        const view = await load(tenantOf(res), params.id);
        await sendStoredDocument(ctx, res, view && doc.pick(view), doc.what, view ? doc.name(view) : doc.suffix);
      },
    );
  }
}
