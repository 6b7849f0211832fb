import type { Router } from 'express';
import type { efacturaSignature } from '../workflows/efactura/reads';
import { runAnafRead } from './anaf-read';
import { tenantOf } from './auth';
import type { ApiContext } from './context';
import { defineRoute, jsonResponse } from './define-route';
import { EFACTURA_SUBMISSION } from './efactura-routes';
import { ApiError } from './errors';
import { CifSchema, getOrganization } from './organization-routes';
import { loadResource } from './workflow-resource';
import { z } from './zod';

/**
 * ANAF's signature over an invoice (semnatura_<id>.xml), checked through ANAF's signature
 * validation (validaresemnatura, POST /api/validate/signature): on a submission's and an inbox
 * item's view once checked, and on demand here for a stored submission or an uploaded pair.
 */

const MAX_XML_CHARS = 10 * 1024 * 1024;

const VerifyBody = z
  .union([
    z.strictObject({
      submissionId: z.string().min(1).max(600).openapi({ description: 'An accepted submission: its ANAF copy and signature are checked' }),
    }),
    z.strictObject({
      cif: CifSchema.openapi({ description: 'Whose e-Factura authorization is used to call ANAF' }),
      xml: z.string().min(1).max(MAX_XML_CHARS).openapi({ description: 'The invoice XML as ANAF signed it' }),
      signature: z.string().min(1).max(MAX_XML_CHARS).openapi({ description: 'semnatura_<id>.xml' }),
    }),
  ])
  .openapi('EfacturaSignatureVerify');

const VerifyAnswer = z
  .object({ valid: z.boolean(), message: z.string().openapi({ description: "ANAF's words" }), checkedAt: z.string() })
  .openapi('EfacturaSignatureVerdict');

export function mountSignatureVerifyRoute(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/efactura/signature/verify',
      summary: "Check ANAF's signature over an invoice with ANAF (validaresemnatura): a stored submission's, or an uploaded pair",
      tags: ['e-Factura'],
      request: { body: VerifyBody, bodyLimit: '24mb' },
      responses: { 200: jsonResponse("ANAF's verdict", VerifyAnswer) },
      errors: [404, 409, 422, 429, 502, 503],
    },
    async ({ body }, _req, res) => {
      const tenant = tenantOf(res);
      let pair: { cif: string; documentKey: string; signatureKey: string };
      if ('submissionId' in body) {
        const { view } = await loadResource(ctx, EFACTURA_SUBMISSION, tenant, body.submissionId);
        const { signedInvoice, signature } = view.files;
        if (!signedInvoice || !signature) {
          throw new ApiError(
            409,
            'SIGNATURE_NOT_AVAILABLE',
            'The submission holds no ANAF signature: only an accepted invoice carries one',
          );
        }
        pair = { cif: view.cif, documentKey: signedInvoice.key, signatureKey: signature.key };
      } else {
        await getOrganization(ctx, tenant, body.cif);
        const [xml, signature] = await Promise.all([
          ctx.blobs.put(tenant, Buffer.from(body.xml, 'utf8'), 'application/xml'),
          ctx.blobs.put(tenant, Buffer.from(body.signature, 'utf8'), 'application/xml'),
        ]);
        pair = { cif: body.cif, documentKey: xml.key, signatureKey: signature.key };
      }
      const answer = await runAnafRead<typeof efacturaSignature>(ctx, tenant, pair.cif, 'efacturaSignature', [{ tenant, ...pair }]);
      res.json({ valid: answer.valid, message: answer.message, checkedAt: answer.checkedAt });
    },
  );
}
