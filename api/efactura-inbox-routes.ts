import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptionsAction } from '@temporalio/client';
import type { Router } from 'express';
import type { BlobRef } from '../lib/storage/blob-store';
import type { InboxItemView, InboxSyncInput } from '../workflows/efactura/inbox';
import { AnafCif, AnafService, AnafTenant } from '../lib/temporal/search-attributes';
import { tenantOf } from './auth';
import { checkCallbackUrl } from './xml-body';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { SIGNATURE_CHECK_KEYS } from './efactura-signature-fields';
import { definedFields } from './lifecycle-view';
import { ApiError } from './errors';
import { CifParams, CifSchema, getOrganization } from './organization-routes';
import { sendStoredDocument } from './stored-document';
import { visibilityString, type TenantWorkflowKind } from './workflow-access';
import { statusUrlFor, WorkflowIdParam } from './workflow-schemas';
import { z } from './zod';

/**
 * Inbound invoices: an opt-in Schedule per organization (`PUT …/efactura/inbox-sync`)
 * runs the sync workflow; every received message becomes its own workflow (see
 * workflows/efactura/inbox.ts), which is what `GET /v1/efactura/inbox` lists, from
 * Temporal visibility, so there is no second store to keep in step.
 */

export const EFACTURA_INBOX_ITEM: TenantWorkflowKind = {
  kind: 'efactura-inbox',
  service: 'efactura-inbox',
  workflowType: 'efacturaInboxItem',
};
const INBOX = '/v1/efactura/inbox';
const MAX_ITEMS_PER_RUN = 500;

export const inboxScheduleId = (tenant: string, cif: string) => `${tenant}/efactura-inbox-sync/${cif}`;

const SyncSettings = z
  .object({
    intervalMinutes: z
      .number()
      .int()
      .min(5)
      .max(24 * 60)
      .default(60)
      .openapi({ description: 'How often to look for new messages (default hourly)' }),
    callbackUrl: z.string().url().max(2000).optional().openapi({ description: 'POSTed (HMAC-signed) once per received message' }),
  })
  .openapi('EfacturaInboxSyncSettings');

const SyncView = z
  .object({
    cif: z.string(),
    scheduleId: z.string(),
    intervalMinutes: z.number(),
    paused: z.boolean(),
    callbackUrl: z.string().optional(),
    nextRunAt: z.string().optional(),
    recentRuns: z.array(z.object({ workflowId: z.string(), startedAt: z.string() })),
  })
  .openapi('EfacturaInboxSync');

const InboxQuery = z.object({
  cif: CifSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  pageToken: z.string().max(4000).optional(),
});

function syncAction(ctx: ApiContext, input: InboxSyncInput): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: 'efacturaInboxSync',
    workflowId: inboxScheduleId(input.tenant, input.cif),
    taskQueue: ctx.config.temporal.taskQueue,
    args: [input],
    typedSearchAttributes: [
      { key: AnafTenant, value: input.tenant },
      { key: AnafService, value: 'efactura-inbox-sync' },
      { key: AnafCif, value: input.cif },
    ],
  } as ScheduleOptionsAction;
}

async function describeSync(ctx: ApiContext, tenant: string, cif: string): Promise<z.infer<typeof SyncView>> {
  const scheduleId = inboxScheduleId(tenant, cif);
  let d;
  try {
    d = await ctx.client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new ApiError(404, 'INBOX_SYNC_NOT_ENABLED', `Inbox sync is not enabled for CIF ${cif}`);
    throw err;
  }
  const input = (d.action as { args?: unknown[] }).args?.[0] as InboxSyncInput | undefined;
  const interval = d.spec.intervals?.[0]?.every;
  const next = d.info.nextActionTimes[0];
  return {
    cif,
    scheduleId,
    intervalMinutes: typeof interval === 'number' ? Math.round(interval / 60_000) : Number.NaN,
    paused: d.state.paused,
    ...(input?.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
    ...(next ? { nextRunAt: next.toISOString() } : {}),
    recentRuns: d.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, startedAt: a.takenAt.toISOString() })),
  };
}

function fileLinks(ctx: ApiContext, id: string, view: InboxItemView) {
  const base = statusUrlFor(ctx, INBOX, id);
  return {
    zip: `${base}/zip`,
    ...(view.document ? { documentXml: `${base}/document.xml` } : {}),
    ...(view.signature ? { signatureXml: `${base}/signature.xml` } : {}),
  };
}

export function mountEfacturaInboxRoutes(router: Router, ctx: ApiContext): void {
  const syncPath = '/v1/organizations/{cif}/efactura/inbox-sync';

  defineRoute(
    router,
    ctx,
    {
      method: 'put',
      permission: 'submit',
      path: syncPath,
      summary: "Enable (or change) the organization's inbox sync: received invoices and buyer messages, fetched on a schedule",
      tags: ['e-Factura inbox'],
      request: { params: CifParams, body: SyncSettings },
      responses: { 200: { description: 'The sync schedule', content: { 'application/json': { schema: SyncView } } } },
      errors: [404, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, params.cif);
      checkCallbackUrl(ctx, body.callbackUrl);
      const input: InboxSyncInput = {
        tenant,
        cif: params.cif,
        ...(body.callbackUrl ? { callbackUrl: body.callbackUrl } : {}),
        lookbackMs: ctx.config.efactura.inboxLookbackMs,
        overlapMs: ctx.config.efactura.inboxOverlapMs,
        maxItemsPerRun: MAX_ITEMS_PER_RUN,
      };
      const spec = { intervals: [{ every: `${body.intervalMinutes} minutes` as const }] };
      const scheduleId = inboxScheduleId(tenant, params.cif);
      try {
        await ctx.client.schedule.create({
          scheduleId,
          spec,
          action: syncAction(ctx, input),
          // A run still listing when the next is due makes the next one pointless.
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
          memo: { description: `e-Factura inbox sync for CIF ${params.cif}` },
        });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        await ctx.client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action: syncAction(ctx, input) }));
      }
      res.json(await describeSync(ctx, tenant, params.cif));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: syncPath,
      summary: "The organization's inbox sync schedule",
      tags: ['e-Factura inbox'],
      request: { params: CifParams },
      responses: { 200: { description: 'The sync schedule', content: { 'application/json': { schema: SyncView } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(await describeSync(ctx, tenantOf(res), params.cif));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'delete',
      permission: 'submit',
      path: syncPath,
      summary: 'Stop syncing the inbox (received items stay readable)',
      tags: ['e-Factura inbox'],
      request: { params: CifParams },
      responses: { 204: { description: 'Stopped' } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      await describeSync(ctx, tenant, params.cif);
      await ctx.client.schedule.getHandle(inboxScheduleId(tenant, params.cif)).delete();
      res.status(204).end();
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: `${syncPath}/run`,
      summary: 'Sync the inbox now (in addition to the schedule)',
      tags: ['e-Factura inbox'],
      request: { params: CifParams },
      responses: { 202: { description: 'A sync run was started', content: { 'application/json': { schema: SyncView } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      await describeSync(ctx, tenant, params.cif);
      await ctx.client.schedule.getHandle(inboxScheduleId(tenant, params.cif)).trigger(ScheduleOverlapPolicy.SKIP);
      res.status(202).json(await describeSync(ctx, tenant, params.cif));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: INBOX,
      summary: 'Received invoices and buyer messages, newest first',
      tags: ['e-Factura inbox'],
      request: { query: InboxQuery },
      responses: {
        200: {
          description: 'Items',
          content: { 'application/json': { schema: z.object({ items: z.array(z.any()), nextPageToken: z.string().optional() }) } },
        },
      },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      const clauses = [`AnafTenant = ${visibilityString(tenant)}`, `AnafService = 'efactura-inbox'`, `WorkflowType = 'efacturaInboxItem'`];
      if (query.cif) clauses.push(`AnafCif = ${visibilityString(query.cif)}`);
      let nextPageToken: Uint8Array | undefined;
      if (query.pageToken) nextPageToken = Buffer.from(query.pageToken, 'base64url');
      const page = await ctx.client.workflowService.listWorkflowExecutions({
        namespace: ctx.config.temporal.namespace,
        query: clauses.join(' AND '),
        pageSize: query.limit,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      const items = [];
      for (const info of page.executions ?? []) {
        const id = info.execution?.workflowId ?? '';
        if (!id.startsWith(`${tenant}/efactura-inbox/`)) continue;
        const memo = await decodeMemo(ctx, info.memo?.fields);
        items.push({
          id,
          statusUrl: statusUrlFor(ctx, INBOX, id),
          ...memo,
          ...(typeof memo.createdAt === 'number' ? { createdAt: new Date(memo.createdAt).toISOString() } : {}),
        });
      }
      const token = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64url') : undefined;
      res.json({ items, ...(token ? { nextPageToken: token } : {}) });
    },
  );

  const item = `${INBOX}/{id}`;
  const load = async (tenant: string, id: string) => {
    const view = await ctx.workflows.describe<InboxItemView>(tenant, EFACTURA_INBOX_ITEM, id);
    return view;
  };

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: item,
      summary: 'One received message: what ANAF listed, the invoice’s identity, stored files',
      tags: ['e-Factura inbox'],
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The item' } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      const view = await load(tenant, params.id);
      const r = view.result;
      res.json({
        id: params.id,
        status: view.status,
        ...(r
          ? {
              cif: r.cif,
              message: { ...r.message, createdAt: new Date(r.message.createdAt).toISOString() },
              ...(r.anafEnvironment ? { anafEnvironment: r.anafEnvironment } : {}),
              invoice: r.identity,
              receivedAt: r.receivedAt,
              ...definedFields(r, ...SIGNATURE_CHECK_KEYS),
              ...(r.webhook ? { webhook: r.webhook } : {}),
              files: fileLinks(ctx, params.id, r),
            }
          : {}),
        ...(view.failure ? { failure: view.failure } : {}),
      });
    },
  );

  const files: Array<{ suffix: string; pick: (v: InboxItemView) => BlobRef | undefined; name: (v: InboxItemView) => string }> = [
    { suffix: 'zip', pick: (v) => v.zip, name: (v) => `${v.message.id}.zip` },
    { suffix: 'document.xml', pick: (v) => v.document, name: (v) => `${v.message.uploadIndex}.xml` },
    { suffix: 'signature.xml', pick: (v) => v.signature, name: (v) => `semnatura_${v.message.uploadIndex}.xml` },
  ];
  for (const f of files) {
    defineRoute(
      router,
      ctx,
      {
        method: 'get',
        permission: 'read',
        path: `${item}/${f.suffix}`,
        summary: `A received message's ${f.suffix}`,
        tags: ['e-Factura inbox'],
        request: { params: WorkflowIdParam },
        responses: { 200: { description: f.suffix } },
        errors: [404, 503],
      },
      async ({ params }, _req, res) => {
        const view = await load(tenantOf(res), params.id);
        const r = view.result;
        await sendStoredDocument(ctx, res, r ? f.pick(r) : undefined, f.suffix, r ? f.name(r) : f.suffix);
      },
    );
  }
}

async function decodeMemo(
  ctx: ApiContext,
  fields: Record<string, { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> | null }> | null | undefined,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, payload] of Object.entries(fields ?? {})) {
    try {
      out[k] = await ctx.client.options.loadedDataConverter.payloadConverter.fromPayload((await decodePayload(ctx, payload)) as never);
    } catch {
      // A field we cannot read is left out rather than failing the listing.
    }
  }
  return out;
}

async function decodePayload(ctx: ApiContext, payload: unknown): Promise<unknown> {
  const codecs = ctx.client.options.loadedDataConverter.payloadCodecs;
  let p = [payload as never];
  for (const codec of [...codecs].reverse()) p = (await codec.decode(p)) as never;
  return p[0];
}
