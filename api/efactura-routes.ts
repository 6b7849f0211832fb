import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Router } from 'express';
import { cancelSubmissionUpdate, RESOLVE_REFUSALS, resolveSubmissionUpdate, submissionQuery } from '../workflows/efactura/definitions';
import type { efacturaSubmission } from '../workflows/efactura/submission';
import type { SubmissionInput, SubmissionView } from '../workflows/efactura/types';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, routeDefiner } from './define-route';
import { ApiError } from './errors';
import { readSubmission, SubmissionQuery } from './efactura-submission-request';
import { listSubmissions, SubmissionListQuery } from './efactura-listing';
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
import { AnafEnvironmentField, effectiveEnvironment, environmentBoundSha256, getOrganization } from './organization-routes';
import { SIGNATURE_CHECK_KEYS, SignatureCheckSchemaFields } from './efactura-signature-fields';
import { type DocumentRoute, mountDocumentRoutes, mountResourceView, startResource, startRouteSpec } from './resource-routes';
import { VisibilityPageSchema } from './visibility-listing';
import { isClosedWorkflowError, type LoadedResource, loadResource, updateOr409, type WorkflowResource } from './workflow-resource';
import { statusUrlFor, WorkflowIdParam } from './workflow-schemas';
import { z } from './zod';

export const EFACTURA_SUBMISSION: WorkflowResource<SubmissionView> = {
  kind: 'efactura',
  service: 'efactura',
  workflowType: 'efacturaSubmission',
  viewQuery: submissionQuery,
};

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
    ...resourceHeadFields,
    cif: z.string(),
    standard: z.string(),
    flags: z.object({ extern: z.boolean(), autofactura: z.boolean(), executare: z.boolean(), b2c: z.boolean() }),
    anafEnvironment: AnafEnvironmentField,
    stage: z.string().openapi({
      description: 'QUEUED, WAITING_FOR_AUTHORIZATION, UPLOADING, RECONCILING, NEEDS_OPERATOR, POLLING, DOWNLOADING, NOTIFYING, DONE',
    }),
    outcome: z.string().optional().openapi({ description: 'ACCEPTED, REJECTED, REJECTED_AT_UPLOAD, FAILED, CANCELLED' }),
    uploadIndex: z.string().optional(),
    downloadId: z.string().optional(),
    anafState: z.string().optional(),
    duplicateUploadIndex: z.string().optional(),
    errors: z.array(z.string()),
    attempts: z.array(UploadAttemptSchema),
    statusChecks: z.number(),
    decisions: z.array(DecisionSchema),
    invoice: z.object({
      supplierCif: z.string().optional(),
      buyerCif: z.string().optional(),
      number: z.string().optional(),
      issueDate: z.string().optional(),
    }),
    files: BlobLinks,
    ...SignatureCheckSchemaFields,
    ...lifecycleTailFields,
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

function present(ctx: ApiContext, id: string, loaded: LoadedResource<SubmissionView>): z.infer<typeof SubmissionSchema> {
  const { view } = loaded;
  return {
    ...resourceHead(id, loaded),
    cif: view.cif,
    standard: view.standard,
    flags: view.flags,
    stage: view.stage,
    ...definedFields(
      view,
      'anafEnvironment',
      'outcome',
      'uploadIndex',
      'downloadId',
      'anafState',
      'duplicateUploadIndex',
      ...SIGNATURE_CHECK_KEYS,
    ),
    errors: view.errors,
    attempts: view.attempts,
    statusChecks: view.statusChecks,
    decisions: view.decisions,
    invoice: view.identity,
    files: links(ctx, id, view),
    ...lifecycleTail(view),
  };
}

const DOCUMENTS: Array<DocumentRoute<SubmissionView>> = [
  {
    suffix: 'zip',
    summary: "ANAF's answer archive",
    pick: (v) => v.files.zip,
    what: "ANAF's answer",
    name: (v) => `${v.downloadId ?? 'answer'}.zip`,
  },
  {
    suffix: 'invoice.xml',
    summary: 'The invoice as filed (ANAF’s copy once accepted, else as submitted)',
    pick: (v) => v.files.signedInvoice ?? v.files.invoice,
    what: 'The invoice',
    name: (v) => `${v.uploadIndex ?? 'invoice'}.xml`,
  },
  {
    suffix: 'submitted.xml',
    summary: 'The invoice exactly as submitted',
    pick: (v) => v.files.invoice,
    what: 'The invoice',
    name: () => 'submitted.xml',
  },
  {
    suffix: 'signature.xml',
    summary: "ANAF's signature file",
    pick: (v) => v.files.signature,
    what: "ANAF's signature",
    name: (v) => `semnatura_${v.uploadIndex ?? ''}.xml`,
  },
];

/** A refused resolve update: the workflow's refusal type is the 409's code (RESOLVE_REFUSALS). */
function resolveRefusal(err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    const known = cause instanceof ApplicationFailure && Object.values<string>(RESOLVE_REFUSALS).includes(cause.type ?? '');
    return new ApiError(
      409,
      known ? (cause.type as string) : RESOLVE_REFUSALS.NOT_STUCK,
      cause?.message ?? 'The submission does not wait for a decision',
    );
  }
  if (isClosedWorkflowError(err)) return new ApiError(409, RESOLVE_REFUSALS.FINISHED, 'The submission has already ended');
  return err;
}

export function mountEfacturaRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, ['e-Factura']);
  route(
    startRouteSpec(COLLECTION, {
      summary: 'Submit an invoice to e-Factura',
      description:
        'Body: the invoice XML (`application/xml`, parameters in the query string) or JSON `{ xml, cif, standard, … }`. ' +
        'Checked before anything is sent: well-formed XML without DOCTYPE, the standard’s root element and namespace, ≤ 10 MB, a valid CIF. ' +
        'The same Idempotency-Key with the same body returns the same submission; with another body, 409.',
      request: { query: SubmissionQuery, bodyLimit: '16mb' },
    }),
    async ({ headers }, req, res) => {
      const tenant = tenantOf(res);
      const submission = await readSubmission(ctx, req, res);
      const organization = await getOrganization(ctx, tenant, submission.cif);
      // Fixed for the submission's life: a later change of the organization's setting never moves it.
      const environment = effectiveEnvironment(ctx, organization.environments, 'EFACTURA');
      const requestSha256 = environmentBoundSha256(submission.requestSha256, environment);
      const invoice = await ctx.blobs.put(tenant, submission.xml, 'application/xml');
      const input: SubmissionInput = {
        tenant,
        cif: submission.cif,
        standard: submission.standard,
        flags: submission.flags,
        invoice,
        identity: submission.identity,
        requestSha256,
        ...(submission.callbackUrl ? { callbackUrl: submission.callbackUrl } : {}),
        receivedAt: new Date().toISOString(),
        settings: { ...lifecycleSettings(ctx.config.efactura), dailyStatusBudget: DAILY_STATUS_BUDGET },
        anafEnvironment: environment.environment,
      };
      await startResource<typeof efacturaSubmission>(ctx, res, EFACTURA_SUBMISSION, COLLECTION, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [input],
        cif: submission.cif,
        requestSha256,
        summary: `e-Factura ${submission.standard} for CIF ${submission.cif}`,
        conflictMessage: 'This Idempotency-Key was used for a different invoice or different parameters',
      });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: COLLECTION,
      summary: "List the tenant's invoice submissions (filter by CIF, stage, outcome, dates)",
      request: { query: SubmissionListQuery },
      responses: { 200: jsonResponse('Newest first', VisibilityPageSchema) },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      res.json(await listSubmissions(ctx, tenantOf(res), query));
    },
  );

  const item = `${COLLECTION}/{id}`;
  const load = (tenant: string, id: string) => loadResource(ctx, EFACTURA_SUBMISSION, tenant, id);
  mountResourceView(route, ctx, EFACTURA_SUBMISSION, {
    path: item,
    summary: 'One submission: stage, attempts, upload index, ANAF state, errors, decisions, files',
    description: 'The submission',
    schema: SubmissionSchema,
    present: (id, loaded) => present(ctx, id, loaded),
  });
  mountDocumentRoutes(route, ctx, item, async (tenant, id) => (await load(tenant, id)).view, DOCUMENTS);

  route(
    {
      method: 'get',
      permission: 'read',
      path: `${item}/errors`,
      summary: "ANAF's messages for this submission (upload or validation errors)",
      request: { params: WorkflowIdParam },
      responses: {
        200: jsonResponse('Errors', z.object({ outcome: z.string().optional(), stage: z.string(), errors: z.array(z.string()) })),
      },
      errors: [404, 503],
    },
    async ({ params }, _req, res) => {
      const { view } = await load(tenantOf(res), params.id);
      res.json({ ...(view.outcome ? { outcome: view.outcome } : {}), stage: view.stage, errors: view.errors });
    },
  );

  route(
    {
      method: 'delete',
      permission: 'submit',
      path: item,
      summary: 'Cancel a submission that has not been sent to ANAF yet',
      request: { params: WorkflowIdParam, body: CancelBody },
      responses: { 200: jsonResponse('Cancelled', SubmissionSchema) },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      await load(tenant, params.id);
      const handle = ctx.workflows.handleFor(tenant, EFACTURA_SUBMISSION, params.id);
      await updateOr409('TOO_LATE_TO_CANCEL', 'The submission can no longer be cancelled', () =>
        handle.executeUpdate(cancelSubmissionUpdate, { args: [{ ...(body?.reason ? { reason: body.reason } : {}) }] }),
      );
      res.json(present(ctx, params.id, await load(tenant, params.id)));
    },
  );

  route(
    {
      method: 'post',
      permission: 'operate',
      path: `${item}/resolve`,
      summary: 'Operator decision for a stuck submission: adopt an upload index, upload again, or abandon',
      description:
        'Accepted only while the submission waits for a decision: stage NEEDS_OPERATOR or RECONCILING (any action), ' +
        'WAITING_FOR_AUTHORIZATION (ABANDON only). Otherwise 409 with code SUBMISSION_NOT_STUCK, RESOLVE_ACTION_NOT_ALLOWED, ' +
        'RESOLVE_ALREADY_PENDING or SUBMISSION_FINISHED.',
      request: { params: WorkflowIdParam, body: ResolveBody },
      responses: { 202: jsonResponse('Accepted by the workflow', SubmissionSchema) },
      errors: [404, 409, 503],
    },
    async ({ params, body }, _req, res) => {
      const tenant = tenantOf(res);
      const loaded = await load(tenant, params.id);
      if (loaded.status !== 'RUNNING' || loaded.view.stage === 'DONE') {
        throw new ApiError(409, RESOLVE_REFUSALS.FINISHED, 'The submission has already ended');
      }
      const handle = ctx.workflows.handleFor(tenant, EFACTURA_SUBMISSION, params.id);
      const view = await handle.executeUpdate(resolveSubmissionUpdate, { args: [body] }).catch((err: unknown) => {
        throw resolveRefusal(err);
      });
      res.status(202).json(present(ctx, params.id, { ...loaded, view }));
    },
  );
}
