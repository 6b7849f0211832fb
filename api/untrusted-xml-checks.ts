import type { Response } from 'express';
import type { PdfInspection } from '../schemas/banciws/signed-pdf';
import type { EfacturaStandard } from '../schemas/efactura-types';
import type { InvoiceInspection } from '../schemas/efactura-invoice';
import type { DeclarationInspection } from '../schemas/etransport-declaration';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { XmlParseRefused } from './xml-parse-pool';
import type { XmlParseTaskArgs, XmlParseTaskKind, XmlParseTaskResult } from './xml-parse-tasks';

/**
 * The API's checks of untrusted documents (invoices, transport declarations, BANCIWS's signed
 * PDFs), run on the parse
 * threads of ctx.xmlParsing. A normal document gets the same inspection, and so the same
 * answers, as before; a document or a load the caps refuse gets a typed answer:
 * 422 XML_TOO_COMPLEX / XML_PARSE_TIMEOUT (the document: sending it again will not help),
 * 429 TOO_MANY_PARSES with Retry-After (the load: try again).
 */

async function parseOffThread<K extends XmlParseTaskKind>(
  ctx: ApiContext,
  res: Response,
  kind: K,
  xml: Buffer,
  args: XmlParseTaskArgs<K>,
): Promise<XmlParseTaskResult<K>> {
  const tenant = res.locals.tenant ?? 'anonymous';
  let result: XmlParseTaskResult<K>;
  try {
    result = await ctx.xmlParsing.run(tenant, kind, xml, args);
  } catch (err) {
    if (!(err instanceof XmlParseRefused)) throw err;
    res.locals.log?.warn({ code: err.code, busy: err.busy, bytes: xml.length }, 'XML parse refused by a cap');
    if (err.code === 'TOO_MANY_PARSES') {
      // The time the parses admitted now need at their recent pace: a burst hears "1", not the time cap.
      res.set('Retry-After', String(ctx.xmlParsing.retryAfterSeconds()));
      throw new ApiError(429, err.code, err.message, { scope: err.busy });
    }
    throw new ApiError(422, err.code, err.message);
  }
  if (!result.ok && (result.code as string) === 'XML_TOO_COMPLEX') throw new ApiError(422, result.code, result.message);
  return result;
}

/** inspectInvoiceXml (schemas/efactura-invoice.ts), off the event loop. */
export function inspectInvoice(ctx: ApiContext, res: Response, xml: Buffer, standard: EfacturaStandard): Promise<InvoiceInspection> {
  return parseOffThread(ctx, res, 'invoice', xml, { standard });
}

/** inspectSignedPdf (schemas/banciws/signed-pdf.ts), off the event loop. */
export function inspectPdf(ctx: ApiContext, res: Response, pdf: Buffer): Promise<PdfInspection> {
  return parseOffThread(ctx, res, 'signedPdf', pdf, undefined);
}

/** inspectDeclarationXml (schemas/etransport-declaration.ts), off the event loop. */
export function inspectDeclaration(ctx: ApiContext, res: Response, xml: Buffer): Promise<DeclarationInspection> {
  return parseOffThread(ctx, res, 'declaration', xml, undefined);
}
