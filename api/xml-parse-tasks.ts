import type { EfacturaStandard } from '../schemas/efactura-types';
import { inspectInvoiceXml } from '../schemas/efactura-invoice';
import { inspectSignedPdf } from '../schemas/banciws/signed-pdf';
import { inspectDeclarationXml } from '../schemas/etransport-declaration';

/**
 * The checks the API runs on untrusted XML, by name, so that a worker thread
 * (api/xml-parse-worker.ts) can run them: only the name, the bytes and small arguments
 * cross the thread boundary, and only the small inspection result comes back (never the
 * parsed tree, which for a hostile document is the expensive part).
 */
export const XML_PARSE_TASKS = {
  invoice: (xml: Buffer, args: { standard: EfacturaStandard }) => inspectInvoiceXml(xml, args.standard),
  declaration: (xml: Buffer) => inspectDeclarationXml(xml),
  // Not XML, but the same hazard: scanning a 32 MB PDF for its signature holds a thread ~100 ms.
  signedPdf: (pdf: Buffer) => inspectSignedPdf(pdf),
};

export type XmlParseTaskKind = keyof typeof XML_PARSE_TASKS;
export type XmlParseTaskArgs<K extends XmlParseTaskKind> = Parameters<(typeof XML_PARSE_TASKS)[K]>[1];
export type XmlParseTaskResult<K extends XmlParseTaskKind> = ReturnType<(typeof XML_PARSE_TASKS)[K]>;

/** What the main thread posts to a parse thread, and what it answers. */
export interface XmlParseRequest {
  kind: XmlParseTaskKind;
  xml: Uint8Array;
  args: unknown;
}
export type XmlParseAnswer = { ok: true; result: unknown } | { ok: false; message: string; stackExhausted: boolean };

/** Runs one task (in a parse thread); throws only on a bug or an exhausted stack. */
export function runXmlParseTask(request: XmlParseRequest): unknown {
  const xml = Buffer.from(request.xml.buffer, request.xml.byteOffset, request.xml.byteLength);
  const task = XML_PARSE_TASKS[request.kind] as (xml: Buffer, args: unknown) => unknown;
  return task(xml, request.args);
}
