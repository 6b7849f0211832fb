/**
 * What anaf-flow reads out of e-Factura's answers, typed. The client turns ANAF's XML,
 * JSON and ZIP answers into these; workflows and the API only ever see these shapes.
 */

export type EfacturaStandard = 'UBL' | 'CN' | 'CII' | 'RASP';
export const EFACTURA_STANDARDS: readonly EfacturaStandard[] = ['UBL', 'CN', 'CII', 'RASP'];

export interface UploadParams {
  /** The CIF the upload is made for (digits only). */
  cif: string;
  standard: EfacturaStandard;
  extern?: boolean;
  autofactura?: boolean;
  executare?: boolean;
  /** Goes to `uploadb2c` instead of `upload`. */
  b2c?: boolean;
}

/** `ExecutionStatus="0"` with `index_incarcare`, or `"1"` with ANAF's `Errors/@errorMessage`. */
export type UploadAnswer =
  { accepted: true; uploadIndex: string; dateResponse?: string } | { accepted: false; errors: string[]; dateResponse?: string };

export type FinalStare = 'ok' | 'nok' | 'XML cu erori nepreluat de sistem';

/** stareMesaj: still processing, a final state, or ANAF's `<Errors>` (unknown index, no rights). */
export type StareAnswer =
  | { state: 'in prelucrare' }
  | { state: 'ok' | 'nok'; downloadId: string }
  | { state: 'XML cu erori nepreluat de sistem'; downloadId?: string }
  | { state: 'error'; errors: string[] };

/** One entry of ANAF's message listings (`mesaje[]`). */
export interface AnafMessage {
  /** `id`: what `descarcare` takes. */
  id: string;
  /** `id_solicitare`: the upload index the message is about. */
  uploadIndex: string;
  cif: string;
  /** `tip`: FACTURA TRIMISA, FACTURA PRIMITA, ERORI FACTURA, MESAJ CUMPARATOR PRIMIT/TRANSMIS. */
  type: string;
  details: string;
  /** `data_creare` as ANAF writes it (yyyyMMddHHmm, Romanian time). */
  createdAtText: string;
  /** The same instant as epoch ms. */
  createdAt: number;
  /** `cif_emitent`: the invoice's seller, when ANAF names it. */
  supplierCif?: string;
  /** `cif_beneficiar`: the invoice's buyer, when ANAF names it. */
  buyerCif?: string;
}

export type MessageFilter = 'E' | 'T' | 'P' | 'R';

export interface MessagePage {
  messages: AnafMessage[];
  /** The page we asked for (ANAF's `index_pagina_curenta` is not trusted). */
  page: number;
  totalPages: number;
  totalRecords: number;
  perPage: number;
}

/** One error of a `nok` answer's error file (namespace `mesajEroriFactuta`, ANAF's typo). */
export interface AnafValidationError {
  message: string;
}

/** What `descarcare`'s ZIP holds, once read and checked. */
export type AnswerArchive =
  | {
      kind: 'ok';
      invoiceFileName: string;
      invoiceXml: Buffer;
      signatureFileName: string;
      signatureXml: Buffer;
    }
  | {
      kind: 'nok';
      errorFileName: string;
      errorXml: Buffer;
      uploadIndex?: string;
      supplierCif?: string;
      errors: AnafValidationError[];
      /** Set when ANAF says "Factura a mai fost transmisa anterior cu index=N". */
      duplicateOfIndex?: string;
    };

export type ValidationStandard = 'FACT1' | 'FCN';

export type ValidationAnswer = { valid: true } | { valid: false; messages: string[] };

/** ANAF's signature validation (validaresemnatura): its verdict and its words. */
export interface SignatureAnswer {
  valid: boolean;
  message: string;
}

/**
 * What a submission or inbox item keeps of the check of ANAF's signature: the verdict and when it
 * was made, or why no verdict came (the check failed; never fatal to the lifecycle).
 */
export type SignatureCheck =
  | { signatureValid: boolean; signatureCheckedAt: string; signatureMessage: string }
  | { signatureCheckError: string; signatureCheckedAt: string };

/** The same on a submission's or an inbox item's view: absent until checked (and for histories before the check). */
export interface SignatureCheckFields {
  /** ANAF's verdict on its signature; absent when the check gave none. */
  signatureValid?: boolean;
  signatureCheckedAt?: string;
  /** ANAF's words. */
  signatureMessage?: string;
  /** Why the check gave no verdict: recorded, never fatal. */
  signatureCheckError?: string;
}

export type PdfAnswer = { ok: true; pdf: Buffer } | { ok: false; messages: string[] };

/** Who issued an invoice, which and when: what reconciliation compares. */
export interface InvoiceIdentity {
  supplierCif?: string;
  buyerCif?: string;
  number?: string;
  issueDate?: string;
}
