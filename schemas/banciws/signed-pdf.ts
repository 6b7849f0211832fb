/**
 * What BANCIWS accepts: a PDF (ANAF's F2101, B101… forms) carrying a digital signature.
 * Checked before anything is stored or sent, so a wrong file fails fast with a precise
 * code instead of coming back from ANAF as ExecutionStatus 3 minutes later. This looks at
 * structure (header, end marker, a signature dictionary with /ByteRange and /Contents);
 * verifying the signature itself is ANAF's job.
 */

export const MAX_BANCIWS_PDF_BYTES = 32 * 1024 * 1024;

export type PdfInspection = { ok: true } | { ok: false; code: 'NOT_A_PDF' | 'PDF_NOT_SIGNED' | 'PDF_TOO_LARGE'; message: string };

const SIGNATURE_DICTIONARY = /\/Type\s*\/Sig\b|\/SubFilter\s*\/(?:adbe\.pkcs7\.(?:detached|sha1)|ETSI\.CAdES\.detached|ETSI\.RFC3161)/;

export function inspectSignedPdf(pdf: Buffer): PdfInspection {
  if (pdf.length > MAX_BANCIWS_PDF_BYTES)
    return { ok: false, code: 'PDF_TOO_LARGE', message: `The document exceeds ${MAX_BANCIWS_PDF_BYTES / (1024 * 1024)} MB` };
  const head = pdf.subarray(0, 1024).toString('latin1');
  if (!/%PDF-[12]\.\d/.test(head)) return { ok: false, code: 'NOT_A_PDF', message: 'The document is not a PDF (no %PDF- header)' };
  if (
    !pdf
      .subarray(Math.max(0, pdf.length - 2048))
      .toString('latin1')
      .includes('%%EOF')
  ) {
    return { ok: false, code: 'NOT_A_PDF', message: 'The PDF is truncated (no %%EOF marker at its end)' };
  }
  const text = pdf.toString('latin1');
  if (!SIGNATURE_DICTIONARY.test(text) || !/\/ByteRange\s*\[/.test(text) || !/\/Contents\s*</.test(text)) {
    return {
      ok: false,
      code: 'PDF_NOT_SIGNED',
      message: 'The PDF carries no digital signature (no signature dictionary with /ByteRange and /Contents)',
    };
  }
  return { ok: true };
}
