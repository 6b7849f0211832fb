import type { Request } from 'express';
import type express from 'express';
import { sha256Hex } from '../lib/blob-store';
import { EFACTURA_STANDARDS, type EfacturaStandard, type InvoiceIdentity } from '../activities/efactura/types';
import { inspectInvoiceXml, MAX_INVOICE_BYTES } from '../schemas/efactura-invoice';
import type { SubmissionFlags } from '../workflows/efactura/types';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { checkCallbackUrl, readXmlBody, XML_TYPES } from './xml-body';
import { CifSchema } from './organization-routes';
import { z } from './zod';

/**
 * Reading an invoice submission: raw XML with parameters in the query string, or JSON
 * with the XML as a string. Everything ANAF would refuse for form is refused here first,
 * with a precise code, before anything is stored or sent.
 */

const Flag = z
  .union([z.boolean(), z.enum(['true', 'false', 'DA', 'NU', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === 'DA' || v === '1')
  .default(false);

const optionFields = {
  cif: CifSchema,
  standard: z.enum(EFACTURA_STANDARDS as [EfacturaStandard, ...EfacturaStandard[]]).default('UBL').openapi({ description: 'UBL, CN (credit note), CII or RASP (buyer message)' }),
  extern: Flag.openapi({ description: 'Buyer outside Romania (ANAF extern=DA)' }),
  autofactura: Flag.openapi({ description: 'Self-billing: the buyer issues it (ANAF autofactura=DA)' }),
  executare: Flag.openapi({ description: 'Filed by an enforcement body (ANAF executare=DA)' }),
  b2c: Flag.openapi({ description: 'Invoice to a consumer: sent with ANAF uploadb2c' }),
  callbackUrl: z.string().url().max(2000).optional().openapi({ description: 'POSTed (HMAC-signed) when the submission ends' }),
};

export const SubmissionQuery = z.object({
  ...optionFields,
  cif: CifSchema.optional(),
});
const SubmissionOptions = z.object(optionFields);
export const SubmissionJsonBody = z
  .object({ ...optionFields, xml: z.string().min(1).openapi({ description: 'The invoice XML, UTF-8' }) })
  .openapi('EfacturaSubmissionJson');

export interface ParsedSubmission {
  cif: string;
  standard: EfacturaStandard;
  flags: SubmissionFlags;
  callbackUrl?: string;
  xml: Buffer;
  identity: InvoiceIdentity;
  /** Over XML and parameters: the same Idempotency-Key with anything different is a conflict. */
  requestSha256: string;
}

const invoiceTooLarge = () => new ApiError(400, 'INVOICE_TOO_LARGE', `The invoice exceeds ANAF's limit of ${MAX_INVOICE_BYTES / (1024 * 1024)} MB`);

export async function readSubmission(ctx: ApiContext, req: Request, res: express.Response): Promise<ParsedSubmission> {
  let options: z.infer<typeof SubmissionOptions>;
  let xml: Buffer;
  if (req.is('application/json')) {
    const body = SubmissionJsonBody.parse(req.body);
    options = body;
    xml = Buffer.from(body.xml, 'utf8');
  } else if (req.is(XML_TYPES)) {
    options = SubmissionOptions.parse(req.query);
    xml = await readXmlBody(req, res, MAX_INVOICE_BYTES, invoiceTooLarge);
  } else {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the invoice as application/xml (parameters in the query) or as JSON { xml, cif, … }');
  }
  if (xml.length === 0) throw new ApiError(400, 'XML_EMPTY', 'The request carries no invoice');
  if (xml.length > MAX_INVOICE_BYTES) throw invoiceTooLarge();
  const inspected = inspectInvoiceXml(xml, options.standard);
  if (!inspected.ok) throw new ApiError(400, inspected.code, inspected.message);

  checkCallbackUrl(ctx, options.callbackUrl);

  const flags: SubmissionFlags = { extern: options.extern, autofactura: options.autofactura, executare: options.executare, b2c: options.b2c };
  const requestSha256 = sha256Hex(
    JSON.stringify({ cif: options.cif, standard: options.standard, flags, callbackUrl: options.callbackUrl ?? null, xml: sha256Hex(xml) }),
  );
  return {
    cif: options.cif,
    standard: options.standard,
    flags,
    ...(options.callbackUrl ? { callbackUrl: options.callbackUrl } : {}),
    xml,
    identity: inspected.identity,
    requestSha256,
  };
}
