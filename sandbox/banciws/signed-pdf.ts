import { createHash } from 'node:crypto';
import { minimalPdf, type PdfLines } from '../efactura/pdf';

/**
 * A PDF shaped like a signed one: the sandbox's one-page PDF plus an incremental update
 * holding a signature field whose dictionary has /Type /Sig, /Filter, /SubFilter,
 * /ByteRange and /Contents. The "signature" is a digest, not CMS: enough for the API's
 * "is it signed?" check and for clients to store and hash, never a cryptographic claim.
 */
export function signedPdf(doc: PdfLines, signer = 'anaf-flow sandbox'): Buffer {
  const base = minimalPdf(doc);
  const digest = createHash('sha256').update(base).digest('hex');
  const baseText = base.toString('latin1');
  const prevXref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(baseText)?.[1] ?? 0);
  const size = Number(/\/Size (\d+)/.exec(baseText)?.[1] ?? 7);
  const sigObj = size;
  const contents = `<${digest.padEnd(512, '0')}>`;
  const body = `${sigObj} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /Name (${signer.replace(/[()\\]/g, ' ')}) /ByteRange [0 0 0 0] /Contents ${contents} >>\nendobj\n`;
  const offset = base.length;
  const xrefAt = offset + Buffer.byteLength(body, 'latin1');
  const update = `${body}xref\n${sigObj} 1\n${String(offset).padStart(10, '0')} 00000 n \ntrailer\n<< /Size ${sigObj + 1} /Root 1 0 R /Prev ${prevXref} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.concat([base, Buffer.from(update, 'latin1')]);
}

/** The text lines the sandbox wrote into one of its PDFs (for matching receipts to uploads). */
export function pdfMentions(pdf: Buffer, needle: string): boolean {
  return pdf.toString('latin1').includes(needle);
}
