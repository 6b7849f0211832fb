import type { Request } from 'express';
import type express from 'express';
import { sha256Hex } from '../lib/storage/blob-store';
import { EFACTURA_STANDARDS, type EfacturaStandard, type InvoiceIdentity } from '../schemas/efactura-types';
import { MAX_INVOICE_BYTES } from '../schemas/efactura-invoice';
import type { SubmissionFlags } from '../workflows/efactura/types';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { inspectInvoice } from './untrusted-xml-checks';
import { checkCallbackUrl, readXmlBody, XML_TYPES } from './xml-body';
import { cifCheckDigit, isValidCif, isValidCnp, normalizeCif } from '../schemas/cif';
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

/**
 * The CIF as given ("RO" stripped); its form and check digit are checked in readSubmission,
 * so a bad one is refused as INVALID_CIF with the reason, not as a generic validation failure.
 */
const SubmissionCif = z.string().max(40).transform(normalizeCif).openapi({
  description: 'Romanian fiscal code; "RO" prefix accepted and stripped; a bad check digit is 400 INVALID_CIF',
  example: '14399840',
});

/** Why `cif` (normalized) is not a Romanian CIF; undefined when it is one. */
export function cifProblem(cif: string): string | undefined {
  if (isValidCif(cif)) return undefined;
  if (isValidCnp(cif)) {
    // ANAF's upload documents `cif` as the seller's ("la care va ajunge eroarea … vanzatorul"); a CNP
    // there is documented nowhere, so an individual's code is refused rather than guessed at.
    return `CIF ${cif} is a CNP (an individual's code): e-Factura's upload takes the seller's CIF, and ANAF documents no upload for a CNP`;
  }
  if (!/^[0-9]{2,10}$/.test(cif) || cif.startsWith('0')) {
    return `CIF ${JSON.stringify(cif)} is not a Romanian CIF: 2 to 10 digits, not starting with 0 ("RO" prefix allowed)`;
  }
  const expected = cifCheckDigit(cif.slice(0, -1));
  return `CIF ${cif} fails its check digit: with key 753217532 the last digit should be ${expected}, not ${cif[cif.length - 1]}`;
}

const optionFields = {
  cif: SubmissionCif,
  standard: z
    .enum(EFACTURA_STANDARDS as [EfacturaStandard, ...EfacturaStandard[]])
    .default('UBL')
    .openapi({ description: 'UBL, CN (credit note), CII or RASP (buyer message)' }),
  extern: Flag.openapi({ description: 'Buyer outside Romania (ANAF extern=DA)' }),
  autofactura: Flag.openapi({ description: 'Self-billing: the buyer issues it (ANAF autofactura=DA)' }),
  executare: Flag.openapi({ description: 'Filed by an enforcement body (ANAF executare=DA)' }),
  b2c: Flag.openapi({ description: 'Invoice to a consumer: sent with ANAF uploadb2c' }),
  callbackUrl: z.string().url().max(2000).optional().openapi({ description: 'POSTed (HMAC-signed) when the submission ends' }),
};

export const SubmissionQuery = z.object({
  ...optionFields,
  cif: SubmissionCif.optional(),
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

const invoiceTooLarge = () =>
  new ApiError(400, 'INVOICE_TOO_LARGE', `The invoice exceeds ANAF's limit of ${MAX_INVOICE_BYTES / (1024 * 1024)} MB`);

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
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the invoice as application/xml (parameters in the query) or as JSON { xml, cif, … }',
    );
  }
  const badCif = cifProblem(options.cif);
  if (badCif) throw new ApiError(400, 'INVALID_CIF', badCif, { cif: options.cif });
  if (xml.length === 0) throw new ApiError(400, 'XML_EMPTY', 'The request carries no invoice');
  if (xml.length > MAX_INVOICE_BYTES) throw invoiceTooLarge();
  const inspected = await inspectInvoice(ctx, res, xml, options.standard);
  if (!inspected.ok) throw new ApiError(400, inspected.code, inspected.message);

  checkCallbackUrl(ctx, options.callbackUrl);

  const flags: SubmissionFlags = {
    extern: options.extern,
    autofactura: options.autofactura,
    executare: options.executare,
    b2c: options.b2c,
  };
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
