import { WorkflowNotFoundError } from '@temporalio/client';
import type { Response, Router } from 'express';
import { type BlobRef, blobStoreFor, BlobNotFoundError, type BlobStore } from '../lib/blob-store';
import { assertTenantOwns } from '../lib/workflow-ids';
import { banciwsMessageQuery, banciwsResolveSignal } from '../workflows/banciws/definitions';
import type { banciwsMessage } from '../workflows/banciws/message';
import type { BanciwsInboxItemView, BanciwsMessageInput, BanciwsMessageView } from '../workflows/banciws/types';
import { AnafCif, AnafStage } from '../workflows/search-attributes';
import { tenantOf } from './auth';
import { BanciwsJsonBody, readBanciwsSubmission } from './banciws-submission';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError } from './errors';
import { refuseResolveUnlessStuck } from './resolve-guard';
import { publicStatus, type TenantWorkflowKind, visibilityString } from './workflow-access';
import { IdempotencyHeaders, ListLimitQuery, statusUrlFor, WorkflowAccepted, WorkflowIdParam } from './workflow-schemas';
import { z } from './zod';

export const BANCIWS_MESSAGE: TenantWorkflowKind = { kind: 'banciws', service: 'banciws', workflowType: 'banciwsMessage' };
export const BANCIWS_INBOX_ITEM: TenantWorkflowKind = { kind: 'banciws-inbox', service: 'banciws', workflowType: 'banciwsInboxItem' };

const COLLECTION = '/v1/banciws/messages';
const INBOX = '/v1/banciws/inbox';

const MessageSchema = z
  .object({
    id: z.string(),
    status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']),
    temporalStatus: z.string(),
    institutionId: z.string(),
    stage: z.string().openapi({ description: 'QUEUED, UPLOADING, RECONCILING, NEEDS_OPERATOR, POLLING, DOWNLOADING, NOTIFYING, DONE' }),
    outcome: z.string().optional().openapi({ description: 'ANSWERED, REJECTED, FAILED' }),
    code: z.string().optional().openapi({ description: 'REJECTED: UPLOAD_REFUSED, STATUS_2 (unknown index), STATUS_3 (signature/PDF errors), STATUS_4 (bad request)' }),
    errors: z.array(z.string()),
    uploadIndex: z.string().optional(),
    idPortal: z.string().optional(),
    statusChecks: z.number(),
    attempts: z.array(z.object({ n: z.number(), startedAt: z.string(), result: z.string(), uploadIndex: z.string().optional(), error: z.string().optional() })),
    decisions: z.array(z.object({ at: z.string(), decision: z.string(), detail: z.string() })),
    needsAttention: z.boolean(),
    attentionReason: z.string().optional(),
    document: z.object({ sha256: z.string(), size: z.number(), url: z.string().url() }),
    answer: z.object({ sha256: z.string(), size: z.number(), url: z.string().url() }).optional(),
    webhook: z.object({ url: z.string(), state: z.string(), attempts: z.number().optional(), error: z.string().optional() }).optional(),
    receivedAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().optional(),
  })
  .openapi('BanciwsMessage');

const InboxItemSchema = z
  .object({
    id: z.string(),
    status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']),
    institutionId: z.string().optional(),
    idPortal: z.string().optional(),
    tipFisier: z.string().optional().openapi({ description: "ANAF's file type: Solicitare ANAF, Raspuns ANAF, Recipisa" }),
    denumire: z.string().optional(),
    dataMesaj: z.string().optional(),
    documentUrl: z.string().url(),
    startedAt: z.string(),
  })
  .openapi('BanciwsInboxItem');

const ResolveBody = z
  .discriminatedUnion('action', [
    z.object({ action: z.literal('ADOPT_INDEX'), uploadIndex: z.string().regex(/^[0-9]{1,15}$/), note: z.string().max(500).optional() }),
    z.object({ action: z.literal('REUPLOAD'), note: z.string().max(500).optional() }),
    z.object({ action: z.literal('ABANDON'), note: z.string().max(500).optional() }),
  ])
  .openapi('BanciwsResolve');

interface Loaded {
  view: BanciwsMessageView;
  temporalStatus: string;
}

async function loadMessage(ctx: ApiContext, tenant: string, id: string): Promise<Loaded> {
  const handle = ctx.workflows.handleFor(tenant, BANCIWS_MESSAGE, id);
  const description = await handle.describe();
  if (description.type !== BANCIWS_MESSAGE.workflowType) throw new WorkflowNotFoundError('not found', id, undefined);
  const temporalStatus = description.status.name;
  const view = temporalStatus === 'COMPLETED' ? ((await handle.result()) as BanciwsMessageView) : await handle.query(banciwsMessageQuery);
  return { view, temporalStatus };
}

function present(ctx: ApiContext, id: string, { view, temporalStatus }: Loaded) {
  const base = statusUrlFor(ctx, COLLECTION, id);
  return {
    id,
    status: publicStatus(temporalStatus as Parameters<typeof publicStatus>[0]),
    temporalStatus,
    institutionId: view.institutionId,
    stage: view.stage,
    ...(view.outcome ? { outcome: view.outcome } : {}),
    ...(view.code ? { code: view.code } : {}),
    errors: view.errors,
    ...(view.uploadIndex ? { uploadIndex: view.uploadIndex } : {}),
    ...(view.idPortal ? { idPortal: view.idPortal } : {}),
    statusChecks: view.statusChecks,
    attempts: view.attempts,
    decisions: view.decisions,
    needsAttention: view.needsAttention,
    ...(view.attentionReason ? { attentionReason: view.attentionReason } : {}),
    document: { sha256: view.document.sha256, size: view.document.size, url: `${base}/document.pdf` },
    ...(view.answer ? { answer: { sha256: view.answer.sha256, size: view.answer.size, url: `${base}/answer.pdf` } } : {}),
    ...(view.webhook ? { webhook: view.webhook } : {}),
    receivedAt: view.receivedAt,
    updatedAt: view.updatedAt,
    ...(view.finishedAt ? { finishedAt: view.finishedAt } : {}),
  };
}

async function sendPdf(blobs: BlobStore, res: Response, ref: BlobRef | undefined, what: string, filename: string): Promise<void> {
  if (!ref) throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', `${what} is not available (yet)`);
  let bytes: Buffer;
  try {
    bytes = await blobs.get(ref.key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', `${what} is no longer stored`);
    throw err;
  }
  res.status(200).type('application/pdf').set('content-disposition', `attachment; filename="${filename}"`).set('x-content-sha256', ref.sha256).send(bytes);
}

export function mountBanciwsRoutes(router: Router, ctx: ApiContext): void {
  // The same store the workers write to (DATA_DIR/blobs).
  const blobs = blobStoreFor(ctx.config.dataDir);

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      path: COLLECTION,
      summary: 'Send a signed PDF to ANAF over BANCIWS (upload → status → answer)',
      description:
        'Body: multipart/form-data with the PDF in part `file` (fields `institution`, `callbackUrl`), or JSON `{ pdf: base64, institution?, callbackUrl?, fileName? }`. ' +
        'Refused before sending: not a PDF (NOT_A_PDF), no digital signature (PDF_NOT_SIGNED), over 32 MB (PDF_TOO_LARGE). ' +
        'The same Idempotency-Key with the same document returns the same exchange; with another, 409.',
      tags: ['BANCIWS'],
      request: { headers: IdempotencyHeaders, bodyLimit: '48mb', bodyDescription: 'multipart/form-data or application/json (BanciwsSubmissionJson)' },
      responses: { 202: { description: 'Accepted (or already accepted under this key)', content: { 'application/json': { schema: WorkflowAccepted } } } },
      errors: [404, 409, 415, 503],
    },
    async ({ headers }, req, res) => {
      const tenant = tenantOf(res);
      const submission = await readBanciwsSubmission(ctx, tenant, req, res);
      const document = await blobs.put(tenant, submission.pdf, 'application/pdf');
      const requestId = res.locals.requestId;
      const input: BanciwsMessageInput = {
        tenant,
        institutionId: submission.institution.id,
        cui: submission.institution.cui,
        document,
        ...(submission.fileName ? { fileName: submission.fileName } : {}),
        ...(submission.callbackUrl ? { callbackUrl: submission.callbackUrl } : {}),
        receivedAt: new Date().toISOString(),
        settings: {
          firstPollDelayMs: ctx.config.banciws.firstPollDelayMs,
          maxPollIntervalMs: ctx.config.banciws.maxPollIntervalMs,
          listingDelayMs: ctx.config.banciws.listingDelayMs,
        },
      };
      const started = await ctx.workflows.start<typeof banciwsMessage>(tenant, BANCIWS_MESSAGE, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [input],
        searchAttributes: [
          { key: AnafCif, value: submission.institution.cui },
          { key: AnafStage, value: 'QUEUED' },
        ],
        memo: { requestSha256: submission.requestSha256, requestId, summary: `BANCIWS report of ${submission.institution.id}: queued` },
      });
      const description = await ctx.client.workflow.getHandle(started.workflowId).describe();
      const memo = (description.memo ?? {}) as { requestSha256?: string; requestId?: string };
      if (memo.requestSha256 !== submission.requestSha256) {
        throw new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different document or parameters', { id: started.workflowId });
      }
      const statusUrl = statusUrlFor(ctx, COLLECTION, started.workflowId);
      if (memo.requestId !== requestId) res.set('idempotent-replayed', 'true');
      res.status(202).location(statusUrl).json({ id: started.workflowId, status: started.status, statusUrl });
    },
  );
  // Documented separately: defineRoute's body schema would insist on JSON, and multipart is accepted too.
  ctx.registry.register('BanciwsSubmissionJson', BanciwsJsonBody);

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: COLLECTION,
      summary: "List the tenant's BANCIWS exchanges (newest first)",
      tags: ['BANCIWS'],
      request: { query: ListLimitQuery },
      responses: { 200: { description: 'Exchanges', content: { 'application/json': { schema: z.object({ items: z.array(z.object({ id: z.string(), status: z.string(), statusUrl: z.string() })) }) } } } },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const items = await ctx.workflows.list(tenantOf(res), BANCIWS_MESSAGE, { limit: query.limit });
      res.json({ items: items.map((i) => ({ ...i, statusUrl: statusUrlFor(ctx, COLLECTION, i.id) })) });
    },
  );

  const item = `${COLLECTION}/{id}`;
  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: item,
      summary: 'One exchange: stage, upload index, status checks, outcome, errors, decisions, documents',
      tags: ['BANCIWS'],
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The exchange', content: { 'application/json': { schema: MessageSchema } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      res.json(present(ctx, params.id, await loadMessage(ctx, tenantOf(res), params.id)));
    },
  );

  for (const doc of [
    { suffix: 'answer.pdf', summary: "ANAF's answer (signed PDF)", pick: (v: BanciwsMessageView) => v.answer, what: "ANAF's answer", name: (v: BanciwsMessageView) => `raspuns_${v.idPortal ?? ''}.pdf` },
    { suffix: 'document.pdf', summary: 'The document as submitted', pick: (v: BanciwsMessageView) => v.document, what: 'The document', name: (v: BanciwsMessageView) => v.fileName?.replace(/["\\\r\n]/g, '_') ?? 'document.pdf' },
  ]) {
    defineRoute(
      router,
      ctx,
      { method: 'get', path: `${item}/${doc.suffix}`, summary: doc.summary, tags: ['BANCIWS'], request: { params: WorkflowIdParam }, responses: { 200: { description: doc.summary } }, errors: [404, 503] },
      async ({ params }, _req, res) => {
        const { view } = await loadMessage(ctx, tenantOf(res), params.id);
        await sendPdf(blobs, res, doc.pick(view), doc.what, doc.name(view));
      },
    );
  }

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      path: `${item}/resolve`,
      summary: 'Operator decision for an exchange whose upload could not be proven: adopt an index, upload again, or abandon',
      description: 'Accepted only while the exchange waits for a decision (stage NEEDS_OPERATOR or RECONCILING); otherwise 409 EXCHANGE_NOT_STUCK, or EXCHANGE_FINISHED.',
      tags: ['BANCIWS'],
      request: { params: WorkflowIdParam, body: ResolveBody },
      responses: { 202: { description: 'Sent to the workflow', content: { 'application/json': { schema: MessageSchema } } } },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const loaded = await loadMessage(ctx, tenant, params.id);
      if (loaded.temporalStatus !== 'RUNNING' || loaded.view.stage === 'DONE') throw new ApiError(409, 'EXCHANGE_FINISHED', 'The exchange has already ended');
      refuseResolveUnlessStuck(loaded.view.stage, body.action, { notStuck: 'EXCHANGE_NOT_STUCK' });
      await ctx.workflows.handleFor(tenant, BANCIWS_MESSAGE, params.id).signal(banciwsResolveSignal, body);
      res.status(202).json(present(ctx, params.id, loaded));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: INBOX,
      summary: "What ANAF sent the tenant's institutions (requests, answers, receipts), each downloaded once",
      tags: ['BANCIWS'],
      request: { query: ListLimitQuery },
      responses: { 200: { description: 'Newest first', content: { 'application/json': { schema: z.object({ items: z.array(InboxItemSchema) }) } } } },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      const q = `AnafTenant = ${visibilityString(tenant)} AND WorkflowType = ${visibilityString(BANCIWS_INBOX_ITEM.workflowType)}`;
      const items: z.infer<typeof InboxItemSchema>[] = [];
      for await (const info of ctx.client.workflow.list({ query: q, pageSize: query.limit })) {
        if (!info.workflowId.startsWith(`${tenant}/${BANCIWS_INBOX_ITEM.kind}/`)) continue;
        const memo = (info.memo ?? {}) as Partial<Record<'institutionId' | 'idPortal' | 'tipFisier' | 'denumire' | 'dataMesaj', string>>;
        items.push({
          id: info.workflowId,
          status: publicStatus(info.status.name),
          ...memo,
          documentUrl: `${statusUrlFor(ctx, INBOX, info.workflowId)}/document.pdf`,
          startedAt: info.startTime.toISOString(),
        });
        if (items.length >= query.limit) break;
      }
      res.json({ items });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: `${INBOX}/{id}/document.pdf`,
      summary: 'One inbox document (signed PDF)',
      tags: ['BANCIWS'],
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The PDF' } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      assertTenantOwns(tenant, params.id, BANCIWS_INBOX_ITEM.kind);
      const handle = ctx.client.workflow.getHandle(params.id);
      const description = await handle.describe();
      if (description.type !== BANCIWS_INBOX_ITEM.workflowType || description.status.name !== 'COMPLETED') {
        throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', 'The document is not downloaded (yet)');
      }
      const view = (await handle.result()) as BanciwsInboxItemView;
      await sendPdf(blobs, res, view.document, 'The document', `${view.tipFisier.replace(/[^A-Za-z0-9]+/g, '_')}_${view.idPortal}.pdf`);
    },
  );
}
