import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { validateBanciws } from './validator';
import { BANCIWS_NS, type BanciwsDocument } from './xsd';

export { validateBanciws };

/**
 * BANCIWS's XML, both ways: requests and answers are built from typed objects by
 * fast-xml-parser's builder (which escapes every value), validated against our XSDs by
 * libxml2 (xmllint-wasm), and parsed back into typed objects. No string interpolation of
 * values anywhere; nothing unvalidated leaves or enters.
 */

export { ZILE_PATTERN } from '../../lib/anaf/zile';

export interface ListedMessage {
  idPortal: string;
  cuiBanca: string;
  /** ANAF's request to the institution, ANAF's answer, or a receipt ("Solicitare ANAF", "Raspuns ANAF", "Recipisa"). */
  tipFisier: string;
  denumire: string;
  indexIncarcare?: string;
  /** YYYYMMDDHHMM. */
  dataMesaj: string;
}

export interface ListAnswer {
  error?: string;
  messages: ListedMessage[];
}

/** 0 answer ready (Id_portal), 1 processing, 2 unknown index, 3 signature/PDF errors (Errors), 4 bad request. */
export type StatusCode = 0 | 1 | 2 | 3 | 4;
export interface StatusAnswer {
  indexIncarcare: string;
  cuiBanca?: string;
  executionStatus: StatusCode;
  idPortal?: string;
  errors: string[];
}

export interface UploadAnswer {
  /** YYYYMMDDHHMM. */
  dateResponse: string;
  /** 0 ok, 1 refused (Errors). */
  executionStatus: 0 | 1;
  indexIncarcare?: string;
  errors: string[];
}

/** 1 no rights / unknown id, 2 technical error, 3 bad request. */
export type DownloadErrorCode = 1 | 2 | 3;
export interface DownloadAnswer {
  idPortal: string;
  errorCode?: DownloadErrorCode;
  /** The signed PDF, base64 (ANAF carries it in raspuns/@errorMessage). */
  pdfBase64?: string;
}

export class BanciwsXmlError extends Error {
  constructor(
    readonly document: BanciwsDocument,
    readonly problems: string[],
  ) {
    super(`${document} XML is not valid: ${problems.slice(0, 5).join('; ')}`);
    this.name = 'BanciwsXmlError';
  }
}

/**
 * ANAF answered well-formed XML outside the shape it documents (an identifier that is not N(15)
 * digits, a code out of range, another document): asking again brings the same answer, so the
 * activities never retry it; `anafText` is ANAF's answer, for the operator.
 */
export class BanciwsUnexpectedAnswer extends BanciwsXmlError {
  constructor(
    document: BanciwsDocument,
    problems: string[],
    readonly anafText: string,
  ) {
    super(document, problems);
    this.name = 'BanciwsUnexpectedAnswer';
  }
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: true, processEntities: true });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'Errors' || name === 'listaMesaje',
});

type Attrs = Record<string, string | undefined>;
type Children = Record<string, Array<Attrs> | Attrs>;

function attrs(values: Attrs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out[`@${k}`] = v;
  return out;
}

function build(doc: BanciwsDocument, headerAttrs: Attrs, children: Children = {}): string {
  const header: Record<string, unknown> = { '@xmlns': BANCIWS_NS[doc], ...attrs(headerAttrs) };
  for (const [name, value] of Object.entries(children)) header[name] = Array.isArray(value) ? value.map(attrs) : attrs(value);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ header }) as string}`;
}

export async function assertValid(doc: BanciwsDocument, xml: string): Promise<string> {
  const problems = await validateBanciws(doc, xml);
  if (problems.length) throw new BanciwsXmlError(doc, problems);
  return xml;
}

async function parseValid(doc: BanciwsDocument, xml: string): Promise<Record<string, unknown>> {
  const problems = await validateBanciws(doc, xml);
  if (problems.length) {
    // Not well-formed may be a cut answer (worth asking again); well-formed and outside the schema is ANAF's answer as it is.
    if (doc.endsWith('Answer') && XMLValidator.validate(xml) === true) throw new BanciwsUnexpectedAnswer(doc, problems, xml);
    throw new BanciwsXmlError(doc, problems);
  }
  const parsed = parser.parse(xml) as { header?: Record<string, unknown> | string };
  if (parsed.header === undefined) throw new BanciwsXmlError(doc, ['no header element']);
  // An empty <header/> (no list items, no attributes besides xmlns) parses as "".
  return typeof parsed.header === 'object' ? parsed.header : {};
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? (v as Array<Record<string, unknown>>) : []);
const errorsOf = (header: Record<string, unknown>) => list(header.Errors).map((e) => str(e.errorMessage) ?? '');

// ---- requests: built and validated by the client, parsed by the sandbox ----

export const listRequest = (zile: string) => assertValid('listRequest', build('listRequest', {}, { listaMesaje: { Zile: zile } }));
export const statusRequest = (index: string) =>
  assertValid('statusRequest', build('statusRequest', {}, { listaMesaje: { index_incarcare: index } }));
export const uploadRequest = (pdf: Buffer) =>
  assertValid('uploadRequest', build('uploadRequest', {}, { upload: { fisier: pdf.toString('base64') } }));
export const downloadRequest = (idPortal: string) => assertValid('downloadRequest', build('downloadRequest', { id_portal: idPortal }));

export async function parseListRequest(xml: string): Promise<{ zile: string }> {
  const h = await parseValid('listRequest', xml);
  return { zile: str(list(h.listaMesaje)[0]?.Zile) ?? '' };
}
export async function parseStatusRequest(xml: string): Promise<{ indexIncarcare: string }> {
  const h = await parseValid('statusRequest', xml);
  return { indexIncarcare: str(list(h.listaMesaje)[0]?.index_incarcare) ?? '' };
}
export async function parseUploadRequest(xml: string): Promise<{ pdf: Buffer }> {
  const h = await parseValid('uploadRequest', xml);
  const upload = h.upload as Record<string, unknown> | undefined;
  return { pdf: Buffer.from(str(upload?.fisier) ?? '', 'base64') };
}
export async function parseDownloadRequest(xml: string): Promise<{ idPortal: string }> {
  const h = await parseValid('downloadRequest', xml);
  return { idPortal: str(h.id_portal) ?? '' };
}

// ---- answers: built by the sandbox, validated and parsed by the client ----

export function buildListAnswer(a: ListAnswer): Promise<string> {
  return assertValid(
    'listAnswer',
    build(
      'listAnswer',
      { Mesaj_eroare: a.error },
      a.messages.length
        ? {
            listaMesaje: a.messages.map((m) => ({
              id_portal: m.idPortal,
              cui_banca: m.cuiBanca,
              Tip_fisier: m.tipFisier,
              denumire: m.denumire,
              Index_incarcare: m.indexIncarcare,
              Data_mesaj: m.dataMesaj,
            })),
          }
        : {},
    ),
  );
}

export function buildStatusAnswer(a: StatusAnswer): Promise<string> {
  return assertValid(
    'statusAnswer',
    build(
      'statusAnswer',
      { Index_incarcare: a.indexIncarcare, Cui_banca: a.cuiBanca, ExecutionStatus: String(a.executionStatus), Id_portal: a.idPortal },
      a.errors.length ? { Errors: a.errors.map((errorMessage) => ({ errorMessage })) } : {},
    ),
  );
}

export function buildUploadAnswer(a: UploadAnswer): Promise<string> {
  return assertValid(
    'uploadAnswer',
    build(
      'uploadAnswer',
      { dateResponse: a.dateResponse, ExecutionStatus: String(a.executionStatus), index_incarcare: a.indexIncarcare },
      a.errors.length ? { Errors: a.errors.map((errorMessage) => ({ errorMessage })) } : {},
    ),
  );
}

export function buildDownloadAnswer(a: DownloadAnswer): Promise<string> {
  return assertValid(
    'downloadAnswer',
    build(
      'downloadAnswer',
      { id_portal: a.idPortal, Mesaj_eroare: a.errorCode !== undefined ? String(a.errorCode) : undefined },
      a.pdfBase64 ? { raspuns: { errorMessage: a.pdfBase64 } } : {},
    ),
  );
}

export async function parseListAnswer(xml: string): Promise<ListAnswer> {
  const h = await parseValid('listAnswer', xml);
  const error = str(h.Mesaj_eroare);
  return {
    ...(error ? { error } : {}),
    messages: list(h.listaMesaje).map((m) => ({
      idPortal: str(m.id_portal)!,
      cuiBanca: str(m.cui_banca)!,
      tipFisier: str(m.Tip_fisier)!,
      denumire: str(m.denumire)!,
      ...(str(m.Index_incarcare) ? { indexIncarcare: str(m.Index_incarcare)! } : {}),
      dataMesaj: str(m.Data_mesaj)!,
    })),
  };
}

export async function parseStatusAnswer(xml: string): Promise<StatusAnswer> {
  const h = await parseValid('statusAnswer', xml);
  return {
    indexIncarcare: str(h.Index_incarcare)!,
    ...(str(h.Cui_banca) ? { cuiBanca: str(h.Cui_banca)! } : {}),
    executionStatus: Number(h.ExecutionStatus) as StatusCode,
    ...(str(h.Id_portal) ? { idPortal: str(h.Id_portal)! } : {}),
    errors: errorsOf(h),
  };
}

export async function parseUploadAnswer(xml: string): Promise<UploadAnswer> {
  const h = await parseValid('uploadAnswer', xml);
  return {
    dateResponse: str(h.dateResponse)!,
    executionStatus: Number(h.ExecutionStatus) as 0 | 1,
    ...(str(h.index_incarcare) ? { indexIncarcare: str(h.index_incarcare)! } : {}),
    errors: errorsOf(h),
  };
}

export async function parseDownloadAnswer(xml: string): Promise<DownloadAnswer> {
  const h = await parseValid('downloadAnswer', xml);
  const raspuns = h.raspuns as Record<string, unknown> | undefined;
  const code = str(h.Mesaj_eroare);
  return {
    idPortal: str(h.id_portal)!,
    ...(code ? { errorCode: Number(code) as DownloadErrorCode } : {}),
    ...(str(raspuns?.errorMessage) ? { pdfBase64: str(raspuns?.errorMessage)! } : {}),
  };
}
