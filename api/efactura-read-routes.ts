import type { Router } from 'express';
import type { MessagePage } from '../schemas/efactura-types';
import type { efacturaMessages, efacturaPdf, efacturaValidation } from '../workflows/efactura/reads';
import { runAnafRead } from './anaf-read';
import { mountSignatureVerifyRoute } from './efactura-signature';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError } from './errors';
import { readXmlBody, XML_TYPES } from './xml-body';
import { CifSchema, getOrganization } from './organization-routes';
import { z } from './zod';

/**
 * ANAF's e-Factura reads through the API: the message listing (paginated, typed), and
 * validation and PDF rendering of an invoice. Each runs as a short workflow on the ANAF
 * task queue (see anaf-read.ts), never as a direct call from the API.
 */

const DAY_MS = 24 * 3600 * 1000;
const MAX_CHECK_BYTES = 5 * 1024 * 1024;

const MessagesQuery = z
  .object({
    cif: CifSchema,
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(60)
      .optional()
      .openapi({ description: 'The last N days (1–60); or give startTime and endTime' }),
    startTime: z.coerce.number().int().positive().optional().openapi({ description: 'Epoch ms' }),
    endTime: z.coerce.number().int().positive().optional().openapi({ description: 'Epoch ms' }),
    filter: z.enum(['E', 'T', 'P', 'R']).optional().openapi({ description: 'E errors, T sent, P received, R buyer messages' }),
    page: z.coerce.number().int().min(1).max(100_000).default(1),
  })
  .refine((q) => q.days !== undefined || (q.startTime !== undefined && q.endTime !== undefined), {
    message: 'give days, or startTime and endTime',
  })
  .refine((q) => q.startTime === undefined || q.endTime === undefined || q.endTime > q.startTime, {
    message: 'endTime must be after startTime',
  });

const MessageSchema = z
  .object({
    id: z.string().openapi({ description: 'What descarcare takes' }),
    uploadIndex: z.string().openapi({ description: 'id_solicitare' }),
    cif: z.string(),
    type: z.string().openapi({ description: 'FACTURA TRIMISA, FACTURA PRIMITA, ERORI FACTURA, MESAJ CUMPARATOR PRIMIT/TRANSMIS' }),
    details: z.string(),
    createdAt: z.string().openapi({ description: 'ISO 8601 (ANAF: data_creare, Romanian time)' }),
    supplierCif: z.string().optional().openapi({ description: "cif_emitent: the invoice's seller, when ANAF names it" }),
    buyerCif: z.string().optional().openapi({ description: "cif_beneficiar: the invoice's buyer, when ANAF names it" }),
  })
  .openapi('EfacturaMessage');

const MessagesPageSchema = z
  .object({
    messages: z.array(MessageSchema),
    page: z.number(),
    totalPages: z.number(),
    totalRecords: z.number(),
    nextPage: z.number().optional(),
  })
  .openapi('EfacturaMessagesPage');

const CheckQuery = z.object({
  cif: CifSchema.openapi({ description: 'Whose authorization is used to call ANAF' }),
  standard: z.enum(['FACT1', 'FCN']).default('FACT1').openapi({ description: 'FACT1 invoice (UBL or CII), FCN credit note' }),
});
const PdfQuery = CheckQuery.extend({
  validate: z.enum(['true', 'false']).default('true').openapi({ description: 'false: render without ANAF validation' }),
});

async function readDocument(
  req: Parameters<typeof readXmlBody>[0],
  res: Parameters<typeof readXmlBody>[1],
  ctx: ApiContext,
  tenant: string,
) {
  if (!req.is(XML_TYPES)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the invoice as application/xml');
  const xml = await readXmlBody(
    req,
    res,
    MAX_CHECK_BYTES,
    () => new ApiError(400, 'INVOICE_TOO_LARGE', 'ANAF validates and renders documents of at most 5 MB'),
  );
  if (xml.length === 0) throw new ApiError(400, 'XML_EMPTY', 'The request carries no invoice');
  return ctx.blobs.put(tenant, xml, 'application/xml');
}

export function mountEfacturaReadRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'read',
      path: '/v1/efactura/messages',
      summary: "ANAF's message listing for an organization (listaMesajePaginatieFactura), one page, typed",
      tags: ['e-Factura'],
      request: { query: MessagesQuery },
      responses: {
        200: { description: 'One page, oldest first as ANAF orders it', content: { 'application/json': { schema: MessagesPageSchema } } },
      },
      errors: [404, 409, 422, 429, 502, 503],
    },
    async ({ query }, _req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, query.cif);
      const page = await runAnafRead<typeof efacturaMessages>(ctx, tenant, query.cif, 'efacturaMessages', [
        { tenant, cif: query.cif, ...windowOf(query), page: query.page, ...(query.filter ? { filter: query.filter } : {}) },
      ]);
      res.json(present(page));
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/efactura/validate',
      summary: 'Validate an invoice with ANAF (validare/FACT1|FCN) without filing it',
      tags: ['e-Factura'],
      request: { query: CheckQuery, bodyLimit: '6mb' },
      responses: {
        200: {
          description: 'ANAF’s verdict',
          content: { 'application/json': { schema: z.object({ valid: z.boolean(), messages: z.array(z.string()) }) } },
        },
      },
      errors: [404, 409, 415, 422, 429, 502, 503],
    },
    async ({ query }, req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, query.cif);
      const doc = await readDocument(req, res, ctx, tenant);
      const answer = await runAnafRead<typeof efacturaValidation>(ctx, tenant, query.cif, 'efacturaValidation', [
        { tenant, cif: query.cif, standard: query.standard, documentKey: doc.key },
      ]);
      res.json({ valid: answer.valid, messages: answer.valid ? [] : answer.messages });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/efactura/pdf',
      summary: "ANAF's PDF rendering of an invoice (transformare), with or without validation",
      tags: ['e-Factura'],
      request: { query: PdfQuery, bodyLimit: '6mb' },
      responses: { 200: { description: 'The PDF (application/pdf)' } },
      errors: [404, 409, 415, 422, 429, 502, 503],
    },
    async ({ query }, req, res) => {
      const tenant = tenantOf(res);
      await getOrganization(ctx, tenant, query.cif);
      const doc = await readDocument(req, res, ctx, tenant);
      const answer = await runAnafRead<typeof efacturaPdf>(ctx, tenant, query.cif, 'efacturaPdf', [
        { tenant, cif: query.cif, standard: query.standard, documentKey: doc.key, validate: query.validate === 'true' },
      ]);
      if (!answer.ok)
        throw new ApiError(422, 'INVOICE_INVALID', 'ANAF did not render the invoice: it failed validation', { messages: answer.messages });
      const pdf = await ctx.blobs.get(answer.pdf.key);
      res.status(200).type('application/pdf').set('content-disposition', 'inline; filename="factura.pdf"').send(pdf);
    },
  );
  mountSignatureVerifyRoute(router, ctx);
}

/**
 * "The last N days" is counted by the activity when it calls ANAF, not here: ANAF refuses a start
 * older than 60 days at the moment the call reaches it, which is later than this request.
 */
function windowOf(query: z.infer<typeof MessagesQuery>): { days: number } | { startTime: number; endTime: number } {
  if (query.startTime === undefined && query.endTime === undefined) return { days: query.days ?? 1 };
  const endTime = query.endTime ?? Date.now() - 1_000;
  return { startTime: query.startTime ?? endTime - (query.days ?? 1) * DAY_MS, endTime };
}

function present(page: MessagePage) {
  return {
    messages: page.messages.map((m) => ({
      id: m.id,
      uploadIndex: m.uploadIndex,
      cif: m.cif,
      type: m.type,
      details: m.details,
      createdAt: new Date(m.createdAt).toISOString(),
      ...(m.supplierCif ? { supplierCif: m.supplierCif } : {}),
      ...(m.buyerCif ? { buyerCif: m.buyerCif } : {}),
    })),
    page: page.page,
    totalPages: page.totalPages,
    totalRecords: page.totalRecords,
    // page is the one we asked for (our counter), totalPages ANAF's numar_total_pagini.
    ...(page.page < page.totalPages ? { nextPage: page.page + 1 } : {}),
  };
}
