import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { sha256Hex } from '../lib/storage/blob-store';
import { FOLLOW_UP_KINDS, followUpXml, MAX_DECLARATION_BYTES } from '../schemas/etransport-declaration';
import { prepareOperation } from '../schemas/etransport-operation';
import { declarationQuery, requestOperationUpdate, RESOLVE_REFUSALS, resolveDeclarationUpdate } from '../workflows/etransport/definitions';
import type { etransportDeclaration } from '../workflows/etransport/declaration';
import type { etransportLookup } from '../workflows/etransport/lookup';
import {
  DECLARATION_OUTCOMES,
  DECLARATION_STAGES,
  type DeclarationInput,
  type DeclarationView,
  type LookupInput,
  type PreparedOperation,
} from '../workflows/etransport/types';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { jsonResponse, routeDefiner } from './define-route';
import { ApiError, etransportLookupError } from './errors';
import {
  DecisionSchema,
  definedFields,
  lifecycleSettings,
  lifecycleTail,
  lifecycleTailFields,
  resourceHead,
  resourceHeadFields,
  UploadAttemptSchema,
  WebhookSchema,
} from './lifecycle-view';
import {
  AnafEnvironmentField,
  effectiveEnvironment,
  environmentBoundSha256,
  getOrganization,
  TaxpayerCodeSchema,
} from './organization-routes';
import { mountResolveByUpdate } from './resolve-guard';
import { mountResourceView, startResource, startRouteSpec } from './resource-routes';
import { listVisibleWorkflows, VisibilityPageSchema, visibilityQuery } from './visibility-listing';
import { type LoadedResource, loadResource, updateOr409, type WorkflowResource } from './workflow-resource';
import { IdempotencyHeaders, statusUrlFor, WorkflowIdParam } from './workflow-schemas';
import { inspectDeclaration } from './untrusted-xml-checks';
import { checkCallbackUrl, readXmlBody, XML_TYPES } from './xml-body';
import { z } from './zod';

export const ETRANSPORT_DECLARATION: WorkflowResource<DeclarationView> = {
  kind: 'etransport',
  service: 'etransport',
  workflowType: 'etransportDeclaration',
  viewQuery: declarationQuery,
};

const COLLECTION = '/v1/etransport/declarations';
const DAILY_STATUS_BUDGET = 90;
const OPERATIONS_PER_RUN = 25;
const TAGS = ['e-Transport'];

const DeclarationQuery = z.object({
  cif: TaxpayerCodeSchema.optional(),
  callbackUrl: z
    .string()
    .url()
    .max(2000)
    .optional()
    .openapi({ description: 'POSTed (HMAC-signed) when the notification ends, on each follow-up and before an unconfirmed UIT expires' }),
});
const DeclarationJson = z
  .object({ cif: TaxpayerCodeSchema, xml: z.string().min(1), callbackUrl: z.string().url().max(2000).optional() })
  .openapi('EtransportDeclarationJson');

const FollowUpJson = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('DELETION') }),
    z.object({
      type: z.literal('CONFIRMATION'),
      confirmationType: z.enum(['10', '20', '30']).openapi({ description: '10 confirmed, 20 partially, 30 denied' }),
      remarks: z.string().max(500).optional(),
    }),
    z.object({
      type: z.literal('VEHICLE_CHANGE'),
      vehicle: z.string().min(1).max(20),
      trailer1: z.string().max(20).optional(),
      trailer2: z.string().max(20).optional(),
      date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      remarks: z.string().max(500).optional(),
    }),
    z.object({ type: z.literal('XML'), xml: z.string().min(1) }),
  ])
  .openapi('EtransportFollowUp');

const ListQuery = z.object({
  cif: TaxpayerCodeSchema.optional(),
  state: z.enum(DECLARATION_STAGES).optional().openapi({ description: 'The declaration’s stage' }),
  outcome: z.enum(DECLARATION_OUTCOMES).optional(),
  needsAttention: z.enum(['true', 'false']).optional(),
  uploadIndex: z
    .string()
    .regex(/^[0-9]{1,20}$/)
    .optional(),
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  pageToken: z.string().max(4000).optional(),
});

const OperationSchema = z.object({
  id: z.string(),
  kind: z.string().openapi({ description: 'NOTIFICATION, CORRECTION, DELETION, CONFIRMATION, VEHICLE_CHANGE' }),
  stage: z.string(),
  outcome: z.string().optional().openapi({ description: 'ACCEPTED, REJECTED, FAILED, INVALID' }),
  uploadIndex: z.string().optional(),
  anafState: z.string().optional(),
  errors: z.array(z.string()),
  attempts: z.array(UploadAttemptSchema),
  statusChecks: z.number(),
  requestedAt: z.string(),
  finishedAt: z.string().optional(),
});

export const DeclarationSchema = z
  .object({
    ...resourceHeadFields,
    cif: z.string(),
    anafEnvironment: AnafEnvironmentField,
    stage: z.string().openapi({ description: DECLARATION_STAGES.join(', ') }),
    outcome: z
      .string()
      .optional()
      .openapi({ description: DECLARATION_OUTCOMES.join(', ') }),
    uit: z.string().optional(),
    uitExpiresAt: z.string().optional(),
    confirmed: z.boolean(),
    confirmationExpected: z.boolean(),
    expiryWarned: z.boolean(),
    uploadIndex: z.string().optional(),
    declaration: z
      .object({
        declarantCif: z.string(),
        refDeclarant: z.string().optional(),
        operationType: z.string().optional(),
        transportDate: z.string().optional(),
        vehicle: z.string().optional(),
      })
      .passthrough(),
    operations: z.array(OperationSchema),
    errors: z.array(z.string()),
    decisions: z.array(DecisionSchema.extend({ operationId: z.string() })),
    ...lifecycleTailFields,
    webhook: WebhookSchema.extend({ lastEvent: z.string().optional() }).optional(),
  })
  .openapi('EtransportDeclaration');

const ResolveBody = z
  .discriminatedUnion('action', [
    z.object({
      action: z.literal('ADOPT_INDEX'),
      uploadIndex: z.string().regex(/^[0-9]{1,20}$/),
      uit: z.string().max(40).optional(),
      note: z.string().max(500).optional(),
    }),
    z.object({ action: z.literal('REUPLOAD'), note: z.string().max(500).optional() }),
    z.object({ action: z.literal('ABANDON'), note: z.string().max(500).optional() }),
  ])
  .openapi('EtransportResolve');

const tooLarge = () =>
  new ApiError(400, 'DECLARATION_TOO_LARGE', `The declaration exceeds ANAF's limit of ${MAX_DECLARATION_BYTES / (1024 * 1024)} MB`);

/** The request's XML (raw with the query's parameters, or JSON with `xml`). */
async function readDeclarationBody(req: Request, res: Response): Promise<{ xml: Buffer; cif?: string; callbackUrl?: string }> {
  if (req.is('application/json')) {
    const body = DeclarationJson.parse(req.body);
    return { xml: Buffer.from(body.xml, 'utf8'), cif: body.cif, ...(body.callbackUrl ? { callbackUrl: body.callbackUrl } : {}) };
  }
  if (req.is(XML_TYPES)) {
    const q = DeclarationQuery.parse(req.query);
    return {
      xml: await readXmlBody(req, res, MAX_DECLARATION_BYTES, tooLarge),
      ...(q.cif ? { cif: q.cif } : {}),
      ...(q.callbackUrl ? { callbackUrl: q.callbackUrl } : {}),
    };
  }
  throw new ApiError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'Send the declaration as application/xml (cif in the query) or as JSON { xml, cif, callbackUrl }',
  );
}

function present(id: string, loaded: LoadedResource<DeclarationView>): z.infer<typeof DeclarationSchema> {
  const { view } = loaded;
  return {
    ...resourceHead(id, loaded),
    cif: view.cif,
    stage: view.stage,
    ...definedFields(view, 'anafEnvironment', 'outcome', 'uit', 'uitExpiresAt'),
    confirmed: view.confirmed,
    confirmationExpected: view.confirmationExpected,
    expiryWarned: view.expiryWarned,
    ...definedFields(view, 'uploadIndex'),
    declaration: { ...view.identity },
    operations: view.operations.map(({ document: _document, requestKey: _key, ...op }) => op),
    errors: view.errors,
    decisions: view.decisions,
    ...lifecycleTail(view),
  };
}

/** An ANAF read for the API, through the lookup workflow; its failures become precise HTTP answers. */
async function lookup(ctx: ApiContext, input: LookupInput): Promise<Awaited<ReturnType<typeof etransportLookup>>> {
  try {
    return await ctx.client.workflow.execute<typeof etransportLookup>('etransportLookup', {
      workflowId: `${input.tenant}/etransport-lookup/${input.kind}-${input.cif}-${randomUUID()}`,
      taskQueue: ctx.config.temporal.taskQueue,
      args: [input],
      workflowExecutionTimeout: '3 minutes',
    });
  } catch (err) {
    throw etransportLookupError(err, input.cif);
  }
}

export function mountEtransportRoutes(router: Router, ctx: ApiContext): void {
  const route = routeDefiner(router, ctx, TAGS);
  route(
    startRouteSpec(COLLECTION, {
      summary: 'Declare a transport to e-Transport (a notification, schema v2)',
      description:
        'Body: the e-Transport XML (`application/xml`, `cif` in the query) or JSON `{ xml, cif, callbackUrl }`. Checked before anything is sent: well-formed, no DOCTYPE, ' +
        'root `eTransport` in namespace `mfp:anaf:dgti:eTransport:declaratie:v2`, one `notificare` with a known `codTipOperatiune`, a valid `codDeclarant`. ' +
        'The declaration then lives as long as its UIT: follow-ups go to `/operations`.',
      request: { query: DeclarationQuery, bodyLimit: '8mb' },
    }),
    async ({ headers }, req, res) => {
      const tenant = tenantOf(res);
      const body = await readDeclarationBody(req, res);
      if (!body.cif) throw new ApiError(400, 'VALIDATION_FAILED', 'cif is required (query string or JSON)');
      if (body.xml.length === 0) throw new ApiError(400, 'XML_EMPTY', 'The request carries no declaration');
      const inspected = await inspectDeclaration(ctx, res, body.xml);
      if (!inspected.ok) throw new ApiError(400, inspected.code, inspected.message);
      if (inspected.kind !== 'NOTIFICATION') {
        throw new ApiError(
          400,
          'NOT_A_NOTIFICATION',
          `This document is a ${inspected.kind.toLowerCase()} of UIT ${inspected.uit}: send it to ${COLLECTION}/{id}/operations`,
        );
      }
      checkCallbackUrl(ctx, body.callbackUrl);
      const organization = await getOrganization(ctx, tenant, body.cif);
      // Fixed for the declaration's life (its follow-ups too): a later change of the organization's setting never moves it.
      const environment = effectiveEnvironment(ctx, organization.environments, 'ETRANSPORT');
      const requestSha256 = environmentBoundSha256(
        sha256Hex(JSON.stringify({ cif: body.cif, callbackUrl: body.callbackUrl ?? null, xml: sha256Hex(body.xml) })),
        environment,
      );
      const document = await ctx.blobs.put(tenant, body.xml, 'application/xml');
      const input: DeclarationInput = {
        tenant,
        cif: body.cif,
        notification: { kind: 'NOTIFICATION', document, identity: inspected.identity },
        requestSha256,
        ...(body.callbackUrl ? { callbackUrl: body.callbackUrl } : {}),
        receivedAt: new Date().toISOString(),
        settings: {
          ...lifecycleSettings(ctx.config.etransport),
          dailyStatusBudget: DAILY_STATUS_BUDGET,
          expiryWarningMs: ctx.config.etransport.expiryWarningMs,
          operationsPerRun: OPERATIONS_PER_RUN,
        },
        anafEnvironment: environment.environment,
      };
      await startResource<typeof etransportDeclaration>(ctx, res, ETRANSPORT_DECLARATION, COLLECTION, {
        idempotencyKey: headers['Idempotency-Key'],
        args: [input],
        cif: body.cif,
        requestSha256,
        summary: `e-Transport for CIF ${body.cif}`,
        conflictMessage: 'This Idempotency-Key was used for a different declaration',
      });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: COLLECTION,
      summary: "List the tenant's declarations (by CIF, state, outcome, dates)",
      request: { query: ListQuery },
      responses: { 200: jsonResponse('Newest first', VisibilityPageSchema) },
      errors: [503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      const q = visibilityQuery(tenant, ETRANSPORT_DECLARATION, { ...query, stage: query.state });
      res.json(
        await listVisibleWorkflows(ctx, tenant, ETRANSPORT_DECLARATION.kind, { query: q, limit: query.limit, pageToken: query.pageToken }),
      );
    },
  );

  const item = `${COLLECTION}/{id}`;
  mountResourceView(route, ctx, ETRANSPORT_DECLARATION, {
    path: item,
    summary: 'One declaration: state, UIT and its expiry, every operation with its outcome, errors, decisions',
    description: 'The declaration',
    schema: DeclarationSchema,
    present,
  });

  route(
    {
      method: 'post',
      permission: 'submit',
      path: `${item}/operations`,
      summary: 'A follow-up on the UIT: correction, deletion, confirmation or vehicle change',
      description:
        'Body: the follow-up XML (`notificare` with `corectie uit`, `stergere`, `confirmare`, `modifVehicul`) or JSON ' +
        '`{"type":"DELETION"}` | `{"type":"CONFIRMATION","confirmationType":"10"}` | `{"type":"VEHICLE_CHANGE","vehicle","date"}`. ' +
        'Refused with 409 unless the declaration’s UIT is valid. The same Idempotency-Key names the same operation.',
      request: { params: WorkflowIdParam, headers: IdempotencyHeaders, bodyLimit: '8mb' },
      responses: {
        202: jsonResponse('Queued on the declaration', z.object({ id: z.string(), operationId: z.string(), statusUrl: z.string() })),
      },
      errors: [404, 409, 415, 503],
    },
    async ({ params, headers }, req, res) => {
      const tenant = tenantOf(res);
      const loaded = await loadResource(ctx, ETRANSPORT_DECLARATION, tenant, params.id);
      const { view } = loaded;
      if (loaded.status !== 'RUNNING' || !view.uit || view.outcome !== 'ACCEPTED') {
        throw new ApiError(409, 'DECLARATION_NOT_ACTIVE', `The declaration has no valid UIT (${view.outcome ?? view.stage})`);
      }
      let xml: Buffer;
      if (req.is('application/json')) {
        const body = FollowUpJson.parse(req.body);
        xml = Buffer.from(
          body.type === 'XML'
            ? body.xml
            : followUpXml(
                view.identity.declarantCif,
                { ...body, uit: view.uit } as Parameters<typeof followUpXml>[1],
                view.identity.refDeclarant,
              ),
          'utf8',
        );
      } else if (req.is(XML_TYPES)) {
        xml = await readXmlBody(req, res, MAX_DECLARATION_BYTES, tooLarge);
      } else {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the follow-up as application/xml or JSON');
      }
      const prepared = await prepareOperation(ctx.blobs, tenant, xml, headers['Idempotency-Key'], (doc) =>
        inspectDeclaration(ctx, res, doc),
      );
      if ('invalid' in prepared) throw new ApiError(400, prepared.invalid, prepared.message);
      if (!FOLLOW_UP_KINDS.includes(prepared.kind))
        throw new ApiError(400, 'NOT_A_FOLLOW_UP', 'A new notification is a new declaration: POST it to ' + COLLECTION);
      if (prepared.uit !== view.uit)
        throw new ApiError(400, 'UIT_MISMATCH', `The document refers to UIT ${prepared.uit}; this declaration's UIT is ${view.uit}`);
      const handle = ctx.workflows.handleFor(tenant, ETRANSPORT_DECLARATION, params.id);
      const answer = await updateOr409('DECLARATION_NOT_ACTIVE', 'The declaration no longer accepts operations', () =>
        handle.executeUpdate(requestOperationUpdate, {
          args: [prepared satisfies PreparedOperation],
          updateId: `op-${headers['Idempotency-Key']}`,
        }),
      );
      if (answer.duplicate) res.set('idempotent-replayed', 'true');
      res.status(202).json({ id: params.id, operationId: answer.operationId, statusUrl: statusUrlFor(ctx, COLLECTION, params.id) });
    },
  );

  mountResolveByUpdate(route, ctx, ETRANSPORT_DECLARATION, {
    path: `${item}/resolve`,
    summary: 'Operator decision for an operation whose upload answer was lost: adopt an index, upload again, or abandon',
    description:
      'Accepted only while the declaration waits for a decision: stage NEEDS_OPERATOR or RECONCILING (any action), WAITING_FOR_AUTHORIZATION (ABANDON only). ' +
      'Otherwise 409 DECLARATION_NOT_STUCK, RESOLVE_ACTION_NOT_ALLOWED, RESOLVE_ALREADY_PENDING or DECLARATION_FINISHED.',
    body: ResolveBody,
    update: resolveDeclarationUpdate,
    schema: DeclarationSchema,
    present,
    finished: { code: RESOLVE_REFUSALS.FINISHED, message: 'The declaration has already ended' },
    refusals: Object.values(RESOLVE_REFUSALS),
    notStuck: RESOLVE_REFUSALS.NOT_STUCK,
  });

  route(
    {
      method: 'get',
      permission: 'read',
      path: '/v1/etransport/messages',
      summary:
        "ANAF's lista: the organization's declarations of the last 1–60 days (valid ones in their final state, and every erroneous upload)",
      request: { query: z.object({ cif: TaxpayerCodeSchema, days: z.coerce.number().int().min(1).max(60).default(60) }) },
      responses: {
        200: jsonResponse('As ANAF lists them, typed', z.object({ cif: z.string(), days: z.number(), items: z.array(z.any()) })),
      },
      errors: [404, 409, 502, 503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, query.cif);
      const result = await lookup(ctx, { tenant, cif: query.cif, kind: 'lista', days: query.days });
      res.json({ cif: query.cif, days: query.days, items: result.lista ?? [] });
    },
  );

  route(
    {
      method: 'get',
      permission: 'read',
      path: '/v1/etransport/carriers',
      summary: "ANAF's info: the active transports a carrier (transport organizer) was named for",
      request: {
        query: z.object({
          cui: TaxpayerCodeSchema.openapi({
            description: 'The carrier’s fiscal code: an organization of this tenant authorized for ETRANSPORT',
          }),
          cuiDecl: TaxpayerCodeSchema.optional(),
          uit: z.string().max(40).optional(),
          refDecl: z.string().max(200).optional(),
        }),
      },
      responses: { 200: jsonResponse('Active transports', z.object({ cui: z.string(), items: z.array(z.any()) })) },
      errors: [404, 409, 502, 503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, query.cui);
      const result = await lookup(ctx, {
        tenant,
        cif: query.cui,
        kind: 'info',
        query: {
          carrierCif: query.cui,
          ...(query.cuiDecl ? { declarantCif: query.cuiDecl } : {}),
          ...(query.uit ? { uit: query.uit } : {}),
          ...(query.refDecl ? { refDeclarant: query.refDecl } : {}),
        },
      });
      res.json({ cui: query.cui, items: result.info ?? [] });
    },
  );
}
