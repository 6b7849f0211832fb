import { ApplicationFailure, WorkflowUpdateFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Router } from 'express';
import type { BlobRef } from '../lib/blob-store';
import { cancelSubmissionUpdate, RESOLVE_REFUSALS, resolveSubmissionUpdate, submissionQuery } from '../workflows/efactura/definitions';
import type { efacturaSubmission } from '../workflows/efactura/submission';
import type { SubmissionInput, SubmissionView } from '../workflows/efactura/types';
import { AnafCif, AnafStage } from '../workflows/search-attributes';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError } from './errors';
import { readSubmission, SubmissionQuery } from './efactura-submission-request';
import { listSubmissions, SubmissionListQuery } from './efactura-listing';
import { getOrganization } from './organization-routes';
import { sendStoredDocument } from './stored-document';
import { publicStatus, type TenantWorkflowKind } from './workflow-access';
import { IdempotencyHeaders, statusUrlFor, WorkflowAccepted, WorkflowIdParam } from './workflow-schemas';
import { z } from './zod';

export const EFACTURA_SUBMISSION: TenantWorkflowKind = { kind: 'efactura', service: 'efactura', workflowType: 'efacturaSubmission' };

/** stareMesaj calls per message and day we allow ourselves: ANAF allows 100, leave some for people. */
const DAILY_STATUS_BUDGET = 90;
const COLLECTION = '/v1/efactura/invoices';

const BlobLinks = z
  .object({
    invoiceXml: z.string().url().openapi({ description: 'The invoice as filed: ANAF’s copy once accepted, else what was submitted' }),
    submittedXml: z.string().url(),
    zip: z.string().url().optional().openapi({ description: 'ANAF’s answer archive as downloaded' }),
    signature: z.string().url().optional(),
    errors: z.string().url(),
  })
  .openapi('EfacturaFiles');

export const SubmissionSchema = z
  .object({
    id: z.string(),
    status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']),
    temporalStatus: z.string(),
    cif: z.string(),
    standard: z.string(),
    flags: z.object({ extern: z.boolean(), autofactura: z.boolean(), executare: z.boolean(), b2c: z.boolean() }),
    stage: z.string().openapi({ description: 'QUEUED, WAITING_FOR_AUTHORIZATION, UPLOADING, RECONCILING, NEEDS_OPERATOR, POLLING, DOWNLOADING, NOTIFYING, DONE' }),
    outcome: z.string().optional().openapi({ description: 'ACCEPTED, REJECTED, REJECTED_AT_UPLOAD, FAILED, CANCELLED' }),
    uploadIndex: z.string().optional(),
    downloadId: z.string().optional(),
    anafState: z.string().optional(),
    duplicateUploadIndex: z.string().optional(),
    errors: z.array(z.string()),
    attempts: z.array(z.object({ n: z.number(), startedAt: z.string(), result: z.string(), uploadIndex: z.string().optional(), error: z.string().optional() })),
    statusChecks: z.number(),
    decisions: z.array(z.object({ at: z.string(), decision: z.string(), detail: z.string() })),
    needsAttention: z.boolean(),
    attentionReason: z.string().optional(),
    invoice: z.object({ supplierCif: z.string().optional(), buyerCif: z.string().optional(), number: z.string().optional(), issueDate: z.string().optional() }),
    webhook: z.object({ url: z.string(), state: z.string(), attempts: z.number().optional(), error: z.string().optional() }).optional(),
    files: BlobLinks,
    receivedAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().optional(),
  })
  .openapi('EfacturaSubmission');

const ResolveBody = z
  .discriminatedUnion('action', [
    z.object({ action: z.literal('ADOPT_INDEX'), uploadIndex: z.string().regex(/^[0-9]{1,20}$/), note: z.string().max(500).optional() }),
    z.object({ action: z.literal('REUPLOAD'), note: z.string().max(500).optional() }),
    z.object({ action: z.literal('ABANDON'), note: z.string().max(500).optional() }),
  ])
  .openapi('EfacturaResolve');

const CancelBody = z.object({ reason: z.string().max(500).optional() }).optional();

function links(ctx: ApiContext, id: string, view: SubmissionView): z.infer<typeof BlobLinks> {
  const base = statusUrlFor(ctx, COLLECTION, id);
  return {
    invoiceXml: `${base}/invoice.xml`,
    submittedXml: `${base}/submitted.xml`,
    ...(view.files.zip ? { zip: `${base}/zip` } : {}),
    ...(view.files.signature ? { signature: `${base}/signature.xml` } : {}),
    errors: `${base}/errors`,
  };
}

interface Loaded {
  view: SubmissionView;
  status: ReturnType<typeof publicStatus>;
  temporalStatus: string;
}

/** The submission's state: from its result once closed (no worker needed), else by query. */
async function loadSubmission(ctx: ApiContext, tenant: string, id: string): Promise<Loaded> {
  const handle = ctx.workflows.handleFor(tenant, EFACTURA_SUBMISSION, id);
  const description = await handle.describe();
  if (description.type !== EFACTURA_SUBMISSION.workflowType) throw new WorkflowNotFoundError('not found', id, undefined);
  const temporalStatus = description.status.name;
  const view =
    temporalStatus === 'COMPLETED' ? ((await handle.result()) as SubmissionView) : await handle.query(submissionQuery);
  return { view, status: publicStatus(temporalStatus), temporalStatus };
}

function present(ctx: ApiContext, id: string, loaded: Loaded) {
  const { view } = loaded;
  return {
    id,
    status: loaded.status,
    temporalStatus: loaded.temporalStatus,
    cif: view.cif,
    standard: view.standard,
    flags: view.flags,
    stage: view.stage,
    ...(view.outcome ? { outcome: view.outcome } : {}),
    ...(view.uploadIndex ? { uploadIndex: view.uploadIndex } : {}),
    ...(view.downloadId ? { downloadId: view.downloadId } : {}),
    ...(view.anafState ? { anafState: view.anafState } : {}),
    ...(view.duplicateUploadIndex ? { duplicateUploadIndex: view.duplicateUploadIndex } : {}),
    errors: view.errors,
    attempts: view.attempts,
    statusChecks: view.statusChecks,
    decisions: view.decisions,
    needsAttention: view.needsAttention,
    ...(view.attentionReason ? { attentionReason: view.attentionReason } : {}),
    invoice: view.identity,
    ...(view.webhook ? { webhook: view.webhook } : {}),
    files: links(ctx, id, view),
    receivedAt: view.receivedAt,
    updatedAt: view.updatedAt,
    ...(view.finishedAt ? { finishedAt: view.finishedAt } : {}),
  };
}

export function mountEfacturaRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      path: COLLECTION,
      summary: 'Submit an invoice to e-Factura',
      description:
        'Body: the invoice XML (`application/xml`, parameters in the query string) or JSON `{ xml, cif, standard, … }`. ' +
        'Checked before anything is sent: well-formed XML without DOCTYPE, the standard’s root element and namespace, ≤ 10 MB, a valid CIF. ' +
        'The same Idempotency-Key with the same body returns the same submission; with another body, 409.',
      tags: ['e-Factura'],
      request: { headers: IdempotencyHeaders, query: SubmissionQuery, bodyLimit: '16mb' },
      responses: { 202: { description: 'Accepted (or already accepted under this key)', content: { 'application/json': { schema: WorkflowAccepted } } } },
      errors: [404, 409, 415, 503],
    },
    async ({ headers }, req, res) => {
      const tenant = tenantOf(res);
      const submission = await readSubmission(ctx, req, res);
      await getOrganization(ctx, tenant, submission.cif);
      const invoice = await ctx.blobs.put(tenant, submission.xml, 'application/xml');
      const requestId = res.locals.requestId;
      const input: SubmissionInput = {
        tenant,
        cif: submission.cif,
        standard: submission.standard,
        flags: submission.flags,
        invoice,
        identity: submission.identity,
        requestSha256: submission.requestSha256,
        ...(submission.callbackUrl ? { callbackUrl: submission.callbackUrl } : {}),
        receivedAt: new Date().toISOString(),
        settings: {
          firstPollDelayMs: ctx.config.efactura.firstPollDelayMs,
          maxPollIntervalMs: ctx.config.efactura.maxPollIntervalMs,
          listingDelayMs: ctx.config.efactura.listingDelayMs,
          dailyStatusBudget: DAILY_STATUS_BUDGET,
        },
      };
      const started = await ctx.workflows.start<typeof efacturaSubmission>(tenant, EFACTURA_SUBMISSION, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [input],
        searchAttributes: [
          { key: AnafCif, value: submission.cif },
          { key: AnafStage, value: 'QUEUED' },
        ],
        memo: { requestSha256: submission.requestSha256, requestId, summary: `e-Factura ${submission.standard} for CIF ${submission.cif}: queued` },
      });
      const description = await ctx.client.workflow.getHandle(started.workflowId).describe();
      const memo = (description.memo ?? {}) as { requestSha256?: string; requestId?: string };
      if (memo.requestSha256 !== submission.requestSha256) {
        throw new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different invoice or different parameters', {
          id: started.workflowId,
        });
      }
      const statusUrl = statusUrlFor(ctx, COLLECTION, started.workflowId);
      if (memo.requestId !== requestId) res.set('idempotent-replayed', 'true');
      res.status(202).location(statusUrl).json({ id: started.workflowId, status: started.status, statusUrl });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: COLLECTION,
      summary: "List the tenant's invoice submissions (filter by CIF, stage, outcome, dates)",
      tags: ['e-Factura'],
      request: { query: SubmissionListQuery },
      responses: { 200: { description: 'Newest first', content: { 'application/json': { schema: z.object({ items: z.array(z.any()), nextPageToken: z.string().optional() }) } } } },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      res.json(await listSubmissions(ctx, tenantOf(res), query));
    },
  );

  const item = `${COLLECTION}/{id}`;

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: item,
      summary: 'One submission: stage, attempts, upload index, ANAF state, errors, decisions, files',
      tags: ['e-Factura'],
      request: { params: WorkflowIdParam },
      responses: { 200: { description: 'The submission', content: { 'application/json': { schema: SubmissionSchema } } } },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const tenant = tenantOf(res);
      res.json(present(ctx, params.id, await loadSubmission(ctx, tenant, params.id)));
    },
  );

  const documents: Array<{ suffix: string; summary: string; pick: (v: SubmissionView) => BlobRef | undefined; what: string; name: (v: SubmissionView) => string }> = [
    { suffix: 'zip', summary: "ANAF's answer archive", pick: (v) => v.files.zip, what: "ANAF's answer", name: (v) => `${v.downloadId ?? 'answer'}.zip` },
    {
      suffix: 'invoice.xml',
      summary: 'The invoice as filed (ANAF’s copy once accepted, else as submitted)',
      pick: (v) => v.files.signedInvoice ?? v.files.invoice,
      what: 'The invoice',
      name: (v) => `${v.uploadIndex ?? 'invoice'}.xml`,
    },
    { suffix: 'submitted.xml', summary: 'The invoice exactly as submitted', pick: (v) => v.files.invoice, what: 'The invoice', name: () => 'submitted.xml' },
    { suffix: 'signature.xml', summary: "ANAF's signature file", pick: (v) => v.files.signature, what: "ANAF's signature", name: (v) => `semnatura_${v.uploadIndex ?? ''}.xml` },
  ];
  for (const doc of documents) {
    defineRoute(
      router,
      ctx,
      {
        method: 'get',
        path: `${item}/${doc.suffix}`,
        summary: doc.summary,
        tags: ['e-Factura'],
        request: { params: WorkflowIdParam },
        responses: { 200: { description: doc.summary } },
        errors: [404, 503],
      },
      async ({ params }, _req, res) => {
        const { view } = await loadSubmission(ctx, tenantOf(res), params.id);
        await sendStoredDocument(ctx, res, doc.pick(view), doc.what, doc.name(view));
      },
    );
  }

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      path: `${item}/errors`,
      summary: "ANAF's messages for this submission (upload or validation errors)",
      tags: ['e-Factura'],
      request: { params: WorkflowIdParam },
      responses: {
        200: {
          description: 'Errors',
          content: { 'application/json': { schema: z.object({ outcome: z.string().optional(), stage: z.string(), errors: z.array(z.string()) }) } },
        },
      },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const { view } = await loadSubmission(ctx, tenantOf(res), params.id);
      res.json({ ...(view.outcome ? { outcome: view.outcome } : {}), stage: view.stage, errors: view.errors });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'delete',
      path: item,
      summary: 'Cancel a submission that has not been sent to ANAF yet',
      tags: ['e-Factura'],
      request: { params: WorkflowIdParam, body: CancelBody },
      responses: { 200: { description: 'Cancelled', content: { 'application/json': { schema: SubmissionSchema } } } },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const handle = ctx.workflows.handleFor(tenant, EFACTURA_SUBMISSION, params.id);
      await loadSubmission(ctx, tenant, params.id);
      try {
        await handle.executeUpdate(cancelSubmissionUpdate, { args: [{ ...(body?.reason ? { reason: body.reason } : {}) }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError || isClosedWorkflowError(err)) {
          throw new ApiError(409, 'TOO_LATE_TO_CANCEL', (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : 'The submission can no longer be cancelled');
        }
        throw err;
      }
      res.json(present(ctx, params.id, await loadSubmission(ctx, tenant, params.id)));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      path: `${item}/resolve`,
      summary: 'Operator decision for a stuck submission: adopt an upload index, upload again, or abandon',
      description:
        'Accepted only while the submission waits for a decision: stage NEEDS_OPERATOR or RECONCILING (any action), ' +
        'WAITING_FOR_AUTHORIZATION (ABANDON only). Otherwise 409 with code SUBMISSION_NOT_STUCK, RESOLVE_ACTION_NOT_ALLOWED, ' +
        'RESOLVE_ALREADY_PENDING or SUBMISSION_FINISHED.',
      tags: ['e-Factura'],
      request: { params: WorkflowIdParam, body: ResolveBody },
      responses: { 202: { description: 'Accepted by the workflow', content: { 'application/json': { schema: SubmissionSchema } } } },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const loaded = await loadSubmission(ctx, tenant, params.id);
      if (loaded.status !== 'RUNNING' || loaded.view.stage === 'DONE') {
        throw new ApiError(409, RESOLVE_REFUSALS.FINISHED, 'The submission has already ended');
      }
      let view: SubmissionView;
      try {
        view = await ctx.workflows.handleFor(tenant, EFACTURA_SUBMISSION, params.id).executeUpdate(resolveSubmissionUpdate, { args: [body] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause;
          const known = cause instanceof ApplicationFailure && Object.values<string>(RESOLVE_REFUSALS).includes(cause.type ?? '');
          throw new ApiError(409, known ? (cause.type as string) : RESOLVE_REFUSALS.NOT_STUCK, cause?.message ?? 'The submission does not wait for a decision');
        }
        if (isClosedWorkflowError(err)) throw new ApiError(409, RESOLVE_REFUSALS.FINISHED, 'The submission has already ended');
        throw err;
      }
      res.status(202).json(present(ctx, params.id, { ...loaded, view }));
    },
  );
}

function isClosedWorkflowError(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || /already completed|workflow execution already/i.test((err as Error)?.message ?? '');
}
