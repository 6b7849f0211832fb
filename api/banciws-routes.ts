import type { Router } from 'express';
import { assertTenantOwns } from '../lib/temporal/workflow-ids';
import { BANCIWS_RESOLVE_REFUSALS, banciwsMessageQuery, banciwsResolveUpdate } from '../workflows/banciws/definitions';
import type { banciwsMessage } from '../workflows/banciws/message';
import type { BanciwsInboxItemView, BanciwsMessageInput, BanciwsMessageView } from '../workflows/banciws/types';
import { tenantOf } from './auth';
import { BanciwsJsonBody, readBanciwsSubmission } from './banciws-submission';
import type { ApiContext } from './context';
import { jsonResponse, routeDefiner } from './define-route';
import { ApiError } from './errors';
import {
  DecisionSchema,
  definedFields,
  lifecycleSettings,
  lifecycleTail,
  lifecycleTailFields,
  resourceHead,
  resourceHeadFields,
  UploadAttemptSchema,
} from './lifecycle-view';
import { mountResolveByUpdate } from './resolve-guard';
import { type DocumentRoute, mountDocumentRoutes, mountResourceView, startResource, startRouteSpec } from './resource-routes';
import { sendStoredDocument } from './stored-document';
import { publicStatus, type TenantWorkflowKind, visibilityString } from './workflow-access';
import { type LoadedResource, loadResource, type WorkflowResource } from './workflow-resource';
import { ListLimitQuery, statusUrlFor, WorkflowIdParam } from './workflow-schemas';
import { z } from './zod';

export const BANCIWS_MESSAGE: WorkflowResource<BanciwsMessageView> = {
  kind: 'banciws',
  service: 'banciws',
  workflowType: 'banciwsMessage',
  viewQuery: banciwsMessageQuery,
};
export const BANCIWS_INBOX_ITEM: TenantWorkflowKind = { kind: 'banciws-inbox', service: 'banciws', workflowType: 'banciwsInboxItem' };

const COLLECTION = '/v1/banciws/messages';
const INBOX = '/v1/banciws/inbox';

const MessageSchema = z
  .object({
    ...resourceHeadFields,
    institutionId: z.string(),
    stage: z.string().openapi({ description: 'QUEUED, UPLOADING, RECONCILING, NEEDS_OPERATOR, POLLING, DOWNLOADING, NOTIFYING, DONE' }),
    outcome: z.string().optional().openapi({ description: 'ANSWERED, REJECTED, FAILED' }),
    code: z.string().optional().openapi({
      description: 'REJECTED: UPLOAD_REFUSED, STATUS_2 (unknown index), STATUS_3 (signature/PDF errors), STATUS_4 (bad request)',
    }),
    errors: z.array(z.string()),
    uploadIndex: z.string().optional(),
    idPortal: z.string().optional(),
    statusChecks: z.number(),
    attempts: z.array(UploadAttemptSchema),
    decisions: z.array(DecisionSchema),
    document: z.object({ sha256: z.string(), size: z.number(), url: z.string().url() }),
    answer: z.object({ sha256: z.string(), size: z.number(), url: z.string().url() }).optional(),
    ...lifecycleTailFields,
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

function presentMessage(ctx: ApiContext, id: string, loaded: LoadedResource<BanciwsMessageView>): z.infer<typeof MessageSchema> {
  const { view } = loaded;
  const base = statusUrlFor(ctx, COLLECTION, id);
  return {
    ...resourceHead(id, loaded),
    institutionId: view.institutionId,
    stage: view.stage,
    ...definedFields(view, 'outcome', 'code'),
    errors: view.errors,
    ...definedFields(view, 'uploadIndex', 'idPortal'),
    statusChecks: view.statusChecks,
    attempts: view.attempts,
    decisions: view.decisions,
    document: { sha256: view.document.sha256, size: view.document.size, url: `${base}/document.pdf` },
    ...(view.answer ? { answer: { sha256: view.answer.sha256, size: view.answer.size, url: `${base}/answer.pdf` } } : {}),
    ...lifecycleTail(view),
  };
}

const DOCUMENTS: Array<DocumentRoute<BanciwsMessageView>> = [
  {
    suffix: 'answer.pdf',
    summary: "ANAF's answer (signed PDF)",
    pick: (v) => v.answer,
    what: "ANAF's answer",
    name: (v) => `raspuns_${v.idPortal ?? ''}.pdf`,
  },
  {
    suffix: 'document.pdf',
    summary: 'The document as submitted',
    pick: (v) => v.document,
    what: 'The document',
    name: (v) => v.fileName?.replace(/["\\\r\n]/g, '_') ?? 'document.pdf',
  },
];

export function mountBanciwsRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['BANCIWS']);
  route(
    startRouteSpec(COLLECTION, {
      summary: 'Send a signed PDF to ANAF over BANCIWS (upload → status → answer)',
      description:
        'Body: multipart/form-data with the PDF in part `file` (fields `institution`, `callbackUrl`), or JSON `{ pdf: base64, institution?, callbackUrl?, fileName? }`. ' +
        'Refused before sending: not a PDF (NOT_A_PDF), no digital signature (PDF_NOT_SIGNED), over 32 MB (PDF_TOO_LARGE). ' +
        'The same Idempotency-Key with the same document returns the same exchange; with another, 409.',
      request: { bodyLimit: '48mb', bodyDescription: 'multipart/form-data or application/json (BanciwsSubmissionJson)' },
    }),
    async ({ headers }, req, res) => {
      const tenant = tenantOf(res);
      const submission = await readBanciwsSubmission(ctx, tenant, req, res);
      const document = await ctx.blobs.put(tenant, submission.pdf, 'application/pdf');
      const input: BanciwsMessageInput = {
        tenant,
        institutionId: submission.institution.id,
        cui: submission.institution.cui,
        document,
        ...(submission.fileName ? { fileName: submission.fileName } : {}),
        ...(submission.callbackUrl ? { callbackUrl: submission.callbackUrl } : {}),
        receivedAt: new Date().toISOString(),
        settings: lifecycleSettings(ctx.config.banciws),
      };
      await startResource<typeof banciwsMessage>(ctx, res, BANCIWS_MESSAGE, COLLECTION, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [input],
        cif: submission.institution.cui,
        requestSha256: submission.requestSha256,
        summary: `BANCIWS report of ${submission.institution.id}`,
        conflictMessage: 'This Idempotency-Key was used for a different document or parameters',
      });
    },
  );
  // Documented separately: defineRoute's body schema would insist on JSON, and multipart is accepted too.
  ctx.registry.register('BanciwsSubmissionJson', BanciwsJsonBody);

  route(
    {
      method: 'get',
      permission: 'read',
      path: COLLECTION,
      summary: "List the tenant's BANCIWS exchanges (newest first)",
      request: { query: ListLimitQuery },
      responses: {
        200: jsonResponse(
          'Exchanges',
          z.object({ items: z.array(z.object({ id: z.string(), status: z.string(), statusUrl: z.string() })) }),
        ),
      },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const items = await ctx.workflows.list(tenantOf(res), BANCIWS_MESSAGE, { limit: query.limit });
      res.json({ items: items.map((i) => ({ ...i, statusUrl: statusUrlFor(ctx, COLLECTION, i.id) })) });
    },
  );

  const item = `${COLLECTION}/{id}`;
  const present = (id: string, loaded: LoadedResource<BanciwsMessageView>) => presentMessage(ctx, id, loaded);
  mountResourceView(route, ctx, BANCIWS_MESSAGE, {
    path: item,
    summary: 'One exchange: stage, upload index, status checks, outcome, errors, decisions, documents',
    description: 'The exchange',
    schema: MessageSchema,
    present,
  });
  mountDocumentRoutes(route, ctx, item, async (tenant, id) => (await loadResource(ctx, BANCIWS_MESSAGE, tenant, id)).view, DOCUMENTS);
  mountResolveByUpdate(route, ctx, BANCIWS_MESSAGE, {
    path: `${item}/resolve`,
    summary: 'Operator decision for an exchange whose upload could not be proven: adopt an index, upload again, or abandon',
    description:
      'Accepted only while the exchange waits for a decision (stage NEEDS_OPERATOR or RECONCILING); otherwise 409 EXCHANGE_NOT_STUCK, RESOLVE_ALREADY_PENDING or EXCHANGE_FINISHED.',
    body: ResolveBody,
    update: banciwsResolveUpdate,
    schema: MessageSchema,
    present,
    finished: { code: BANCIWS_RESOLVE_REFUSALS.FINISHED, message: 'The exchange has already ended' },
    refusals: Object.values(BANCIWS_RESOLVE_REFUSALS),
    notStuck: BANCIWS_RESOLVE_REFUSALS.NOT_STUCK,
  });

  route(
    {
      method: 'get',
      permission: 'read',
      path: INBOX,
      summary: "What ANAF sent the tenant's institutions (requests, answers, receipts), each downloaded once",
      request: { query: ListLimitQuery },
      responses: { 200: jsonResponse('Newest first', z.object({ items: z.array(InboxItemSchema) })) },
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

  route(
    {
      method: 'get',
      permission: 'read',
      path: `${INBOX}/{id}/document.pdf`,
      summary: 'One inbox document (signed PDF)',
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The PDF' } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      assertTenantOwns(tenantOf(res), params.id, BANCIWS_INBOX_ITEM.kind);
      const handle = ctx.client.workflow.getHandle(params.id);
      const description = await handle.describe();
      if (description.type !== BANCIWS_INBOX_ITEM.workflowType || description.status.name !== 'COMPLETED') {
        throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', 'The document is not downloaded (yet)');
      }
      const view = (await handle.result()) as BanciwsInboxItemView;
      await sendStoredDocument(
        ctx,
        res,
        view.document,
        'The document',
        `${view.tipFisier.replace(/[^A-Za-z0-9]+/g, '_')}_${view.idPortal}.pdf`,
      );
    },
  );
}
