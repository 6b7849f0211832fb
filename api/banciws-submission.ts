import type { Request, Response } from 'express';
import { sha256Hex } from '../lib/storage/blob-store';
import type { BanciwsInstitution } from '../lib/config/banciws-config';
import { MAX_BANCIWS_PDF_BYTES } from '../schemas/banciws/signed-pdf';
import type { ApiContext } from './context';
import { ApiError, issuesOf, validationFailed } from './errors';
import { inspectPdf } from './untrusted-xml-checks';
import { checkCallbackUrl, readRawBody } from './xml-body';
import { z } from './zod';

/**
 * Reading a BANCIWS submission: multipart/form-data (a `file` part plus fields) or JSON
 * with the PDF in base64. Everything ANAF would refuse for form — not a PDF, no signature,
 * too big — is refused here with a precise code, before anything is stored or sent.
 */

export const BanciwsJsonBody = z
  .object({
    pdf: z.string().min(1).openapi({ description: 'The digitally signed PDF, base64' }),
    fileName: z.string().max(200).optional(),
    institution: z
      .string()
      .max(40)
      .optional()
      .openapi({ description: 'Institution id (BANCIWS_INSTITUTIONS); optional when the tenant has one' }),
    callbackUrl: z.string().url().max(2000).optional().openapi({ description: 'POSTed (HMAC-signed) when the exchange ends' }),
  })
  .strict()
  .openapi('BanciwsSubmissionJson');

export interface ParsedBanciwsSubmission {
  institution: BanciwsInstitution;
  pdf: Buffer;
  fileName?: string;
  callbackUrl?: string;
  /** Over the PDF and parameters: the same Idempotency-Key with anything different is a conflict. */
  requestSha256: string;
}

const tooLarge = () => new ApiError(413, 'PDF_TOO_LARGE', `The document exceeds ${MAX_BANCIWS_PDF_BYTES / (1024 * 1024)} MB`);

/** multipart/form-data through the WHATWG parser Node already ships (undici's Response.formData). */
async function readMultipart(req: Request, res: Response): Promise<{ pdf: Buffer; fields: Record<string, string>; fileName?: string }> {
  const raw = await readRawBody(req, res, MAX_BANCIWS_PDF_BYTES + 1024 * 1024, tooLarge);
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
  } catch {
    throw new ApiError(400, 'MALFORMED_MULTIPART', 'The multipart body cannot be read');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw new ApiError(400, 'FILE_MISSING', 'Send the signed PDF in a multipart part named "file"');
  const fields: Record<string, string> = {};
  for (const [k, v] of form.entries()) if (typeof v === 'string') fields[k] = v;
  return { pdf: Buffer.from(await file.arrayBuffer()), fields, ...(file.name ? { fileName: file.name } : {}) };
}

export function institutionFor(ctx: ApiContext, tenant: string, requested: string | undefined): BanciwsInstitution {
  const own = ctx.config.banciws.institutions.filter((i) => i.tenant === tenant);
  if (requested) {
    const found = own.find((i) => i.id === requested);
    if (!found) throw new ApiError(404, 'INSTITUTION_NOT_FOUND', `No BANCIWS institution "${requested}" is configured for this tenant`);
    return found;
  }
  if (own.length === 1) return own[0]!;
  if (own.length === 0)
    throw new ApiError(404, 'INSTITUTION_NOT_FOUND', 'No BANCIWS institution is configured for this tenant (BANCIWS_INSTITUTIONS)');
  throw new ApiError(
    400,
    'INSTITUTION_REQUIRED',
    `This tenant has ${own.length} institutions: name one (${own.map((i) => i.id).join(', ')})`,
  );
}

export async function readBanciwsSubmission(
  ctx: ApiContext,
  tenant: string,
  req: Request,
  res: Response,
): Promise<ParsedBanciwsSubmission> {
  let pdf: Buffer;
  let fields: { institution?: string; callbackUrl?: string; fileName?: string };
  if (req.is('multipart/form-data')) {
    const form = await readMultipart(req, res);
    pdf = form.pdf;
    const parsed = BanciwsJsonBody.omit({ pdf: true }).safeParse({ ...form.fields, ...(form.fileName ? { fileName: form.fileName } : {}) });
    if (!parsed.success) throw validationFailed(issuesOf(parsed.error, 'body'));
    fields = parsed.data;
  } else if (req.is('application/json')) {
    const parsed = BanciwsJsonBody.safeParse(req.body);
    if (!parsed.success) throw validationFailed(issuesOf(parsed.error, 'body'));
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(parsed.data.pdf.replace(/\s+/g, '')))
      throw new ApiError(400, 'PDF_NOT_BASE64', 'pdf must be the document in base64');
    pdf = Buffer.from(parsed.data.pdf, 'base64');
    fields = parsed.data;
  } else {
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the signed PDF as multipart/form-data (part "file") or as JSON { pdf: base64, … }',
    );
  }
  if (pdf.length === 0) throw new ApiError(400, 'PDF_EMPTY', 'The request carries no document');
  const inspection = await inspectPdf(ctx, res, pdf);
  if (!inspection.ok) throw inspection.code === 'PDF_TOO_LARGE' ? tooLarge() : new ApiError(400, inspection.code, inspection.message);
  const institution = institutionFor(ctx, tenant, fields.institution);
  checkCallbackUrl(ctx, fields.callbackUrl);
  const requestSha256 = sha256Hex(
    JSON.stringify({ institution: institution.id, callbackUrl: fields.callbackUrl ?? null, pdf: sha256Hex(pdf) }),
  );
  return {
    institution,
    pdf,
    ...(fields.fileName ? { fileName: fields.fileName } : {}),
    ...(fields.callbackUrl ? { callbackUrl: fields.callbackUrl } : {}),
    requestSha256,
  };
}
