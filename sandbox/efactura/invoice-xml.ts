import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Reading what a client uploads: well-formedness (answered like ANAF's Java/Xerces
 * front end, "org.xml.sax.SAXParseException; lineNumber: …"), the root element each
 * standard expects, the few facts the sandbox needs (supplier and buyer CIF, number,
 * issue date, notes) and a handful of deterministic business rules, so that `nok` and
 * "XML cu erori nepreluat de sistem" happen on demand:
 *
 * - a note (UBL `cbc:Note`, CII `ram:IncludedNote/ram:Content`) containing `SANDBOX:NOK`
 *   → `nok` with a BR-RO style error;
 * - a note containing `SANDBOX:XML_ERRORS` → "XML cu erori nepreluat de sistem";
 * - missing invoice number or issue date, no seller identifier, a seller CIF other than
 *   the request's `cif` → `nok`.
 *
 * Entity processing is off: no DOCTYPE is accepted (as ANAF's hardened parser), and
 * `&amp;`-style references are kept as written, which is all the sandbox needs.
 */

export type UploadStandard = 'UBL' | 'CN' | 'CII' | 'RASP';
export const UPLOAD_STANDARDS: readonly UploadStandard[] = ['UBL', 'CN', 'CII', 'RASP'];

/** The root element (local name) each upload standard must carry. */
const ROOTS: Record<UploadStandard, string> = { UBL: 'Invoice', CN: 'CreditNote', CII: 'CrossIndustryInvoice', RASP: 'header' };

export const MARKER_NOK = 'SANDBOX:NOK';
export const MARKER_XML_ERRORS = 'SANDBOX:XML_ERRORS';
/** Its answer archive, whenever downloaded, is a ZIP bomb (an entry inflating ~1000:1). */
export const MARKER_ZIP_BOMB = 'SANDBOX:ZIP_BOMB';
/** The first download of its answer archive is cut short (a truncated transfer); later ones are whole. */
export const MARKER_ZIP_TRUNCATED = 'SANDBOX:ZIP_TRUNCATED';

type Node = Record<string, unknown>;

export interface ParsedXml {
  /** The root element's local name. */
  root: string;
  /** The root element's qualified name as written ("ubl:Invoice"). */
  rootQName: string;
  node: Node;
}

export type ParseResult = { ok: true; xml: ParsedXml } | { ok: false; error: string };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      last = i;
    }
  }
  return { line, col: offset - last };
}

function sax(line: number, col: number, message: string): string {
  return `org.xml.sax.SAXParseException; lineNumber: ${line}; columnNumber: ${col}; ${message}`;
}

/** Where the root element's start tag ends (Xerces reports schema errors there). */
function rootTagEnd(text: string): { line: number; col: number } {
  const re = /<([A-Za-z_][\w.:-]*)[^>]*>/g;
  for (let m = re.exec(text); m; m = re.exec(text)) return lineCol(text, m.index + m[0].length);
  return { line: 1, col: 1 };
}

/** Parses text as XML; the error string is what follows "Fisierul transmis nu este valid. " at ANAF. */
export function parseXml(text: string): ParseResult {
  const body = text.replace(/^\uFEFF/, '');
  const firstNonSpace = body.search(/\S/);
  if (firstNonSpace === -1) return { ok: false, error: sax(1, 1, 'Premature end of file.') };
  if (body[firstNonSpace] !== '<') {
    const { line, col } = lineCol(body, firstNonSpace);
    return { ok: false, error: sax(line, col, 'Content is not allowed in prolog.') };
  }
  const doctype = /<!DOCTYPE/i.exec(body);
  if (doctype) {
    const { line, col } = lineCol(body, doctype.index + doctype[0].length);
    return {
      ok: false,
      error: sax(line, col, 'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" set to true.'),
    };
  }
  const valid = XMLValidator.validate(body, { allowBooleanAttributes: false });
  if (valid !== true) return { ok: false, error: sax(valid.err.line, valid.err.col, valid.err.msg) };
  let tree: unknown;
  try {
    tree = parser.parse(body);
  } catch (err) {
    return { ok: false, error: sax(1, 1, (err as Error).message) };
  }
  const entries =
    tree && typeof tree === 'object' ? Object.entries(tree as Node).filter(([k]) => !k.startsWith('?') && !k.startsWith('#')) : [];
  const first = entries[0];
  if (!first) return { ok: false, error: sax(1, 1, 'Premature end of file.') };
  const qname = /<([A-Za-z_][\w.:-]*)/.exec(body.slice(body.search(/<[A-Za-z_]/)))?.[1] ?? first[0];
  const node = first[1] && typeof first[1] === 'object' ? (first[1] as Node) : { '#text': first[1] };
  return { ok: true, xml: { root: first[0], rootQName: qname, node } };
}

/** ANAF's schema error when the root does not fit the declared standard. */
export function rootError(text: string, xml: ParsedXml, standard: UploadStandard): string | undefined {
  return xml.root === ROOTS[standard] ? undefined : unexpectedRoot(text, xml);
}

/** Xerces' complaint about a root element the schema does not declare. */
export function unexpectedRoot(text: string, xml: ParsedXml): string {
  const { line, col } = rootTagEnd(text.replace(/^\uFEFF/, ''));
  return sax(line, col, `cvc-elt.1.a: Cannot find the declaration of element '${xml.rootQName}'.`);
}

// ---------------------------------------------------------------- tree helpers

function all(node: unknown, key: string): unknown[] {
  if (!node || typeof node !== 'object') return [];
  const v = (node as Node)[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function one(node: unknown, ...path: string[]): unknown {
  let cur: unknown = node;
  for (const key of path) {
    cur = all(cur, key)[0];
    if (cur === undefined) return undefined;
  }
  return cur;
}

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim() || undefined;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && '#text' in node) return text((node as Node)['#text']);
  return undefined;
}

function texts(nodes: unknown[]): string[] {
  return nodes.map(text).filter((t): t is string => t !== undefined);
}

/** "RO 123" / "ro123" / "123" → "123"; anything that is not then 1–13 digits → undefined. */
export function cifDigits(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const digits = value.trim().toUpperCase().replace(/^RO/, '').trim();
  return /^[0-9]{1,13}$/.test(digits) ? digits : undefined;
}

// ---------------------------------------------------------------- facts

export interface InvoiceFacts {
  kind: 'invoice';
  /** Supplier CIF, digits only, when the XML names one. */
  supplierCif?: string;
  buyerCif?: string;
  number?: string;
  /** yyyy-mm-dd as written in the XML. */
  issueDate?: string;
  notes: string[];
  /** How to name the seller in a validation error when there is none. */
  sellerIdentifierPresent: boolean;
}

export interface RaspFacts {
  kind: 'rasp';
  /** The upload index of the invoice the buyer answers. */
  invoiceIndex?: string;
  message?: string;
}

function ublPartyCif(party: unknown): { cif?: string; present: boolean } {
  const taxIds = all(party, 'PartyTaxScheme').map((s) => text(one(s, 'CompanyID')));
  const legalIds = all(party, 'PartyLegalEntity').map((s) => text(one(s, 'CompanyID')));
  const partyIds = all(party, 'PartyIdentification').map((s) => text(one(s, 'ID')));
  const candidates = [...taxIds, ...legalIds];
  for (const c of candidates) {
    const cif = cifDigits(c);
    if (cif) return { cif, present: true };
  }
  return { present: [...candidates, ...partyIds].some((c) => c !== undefined) };
}

function ciiPartyCif(party: unknown): { cif?: string; present: boolean } {
  const taxIds = all(party, 'SpecifiedTaxRegistration').map((s) => text(one(s, 'ID')));
  const legalIds = all(party, 'SpecifiedLegalOrganization').map((s) => text(one(s, 'ID')));
  const ids = all(party, 'ID').map(text);
  for (const c of [...taxIds, ...legalIds]) {
    const cif = cifDigits(c);
    if (cif) return { cif, present: true };
  }
  return { present: [...taxIds, ...legalIds, ...ids].some((c) => c !== undefined) };
}

function ciiDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
}

export function extractFacts(xml: ParsedXml): InvoiceFacts | RaspFacts {
  const n = xml.node;
  if (xml.root === 'header') {
    const invoiceIndex = text(n['@index_incarcare']);
    const message = text(n['@message']);
    return { kind: 'rasp', ...(invoiceIndex ? { invoiceIndex } : {}), ...(message ? { message } : {}) };
  }
  if (xml.root === 'CrossIndustryInvoice') {
    const doc = one(n, 'ExchangedDocument');
    const agreement = one(n, 'SupplyChainTradeTransaction', 'ApplicableHeaderTradeAgreement');
    const seller = ciiPartyCif(one(agreement, 'SellerTradeParty'));
    const buyer = ciiPartyCif(one(agreement, 'BuyerTradeParty'));
    const number = text(one(doc, 'ID'));
    const issueDate = ciiDate(text(one(doc, 'IssueDateTime', 'DateTimeString')));
    return {
      kind: 'invoice',
      ...(seller.cif ? { supplierCif: seller.cif } : {}),
      ...(buyer.cif ? { buyerCif: buyer.cif } : {}),
      ...(number ? { number } : {}),
      ...(issueDate ? { issueDate } : {}),
      notes: all(doc, 'IncludedNote').flatMap((note) => texts(all(note, 'Content'))),
      sellerIdentifierPresent: seller.present,
    };
  }
  // UBL Invoice and CreditNote share the parts the sandbox reads.
  const seller = ublPartyCif(one(n, 'AccountingSupplierParty', 'Party'));
  const buyer = ublPartyCif(one(n, 'AccountingCustomerParty', 'Party'));
  const number = text(one(n, 'ID'));
  const issueDate = text(one(n, 'IssueDate'));
  return {
    kind: 'invoice',
    ...(seller.cif ? { supplierCif: seller.cif } : {}),
    ...(buyer.cif ? { buyerCif: buyer.cif } : {}),
    ...(number ? { number } : {}),
    ...(issueDate ? { issueDate } : {}),
    notes: texts(all(n, 'Note')),
    sellerIdentifierPresent: seller.present,
  };
}

// ---------------------------------------------------------------- rules

export type Verdict = { outcome: 'ok' } | { outcome: 'nok'; errors: string[] } | { outcome: 'xml-errors' };

const schematron = (rule: string, ro: string, en: string) => `E: validari globale  SCHEMATRON   eroare: [${rule}]-${ro}     #${en}`;

export const RULE_MESSAGES = {
  missingNumber: schematron(
    'BR-02',
    'O factura trebuie sa aiba un numar de factura (BT-1).',
    'An Invoice shall have an Invoice number (BT-1).',
  ),
  missingIssueDate: schematron(
    'BR-03',
    'O factura trebuie sa aiba o data de emitere a facturii (BT-2).',
    'An Invoice shall have an Invoice issue date (BT-2).',
  ),
  badIssueDate: (value: string) =>
    `E: sectiune IssueDate (1)  eroare regula: data de emitere (BT-2) = ${value} nu respecta formatul AAAA-LL-ZZ`,
  missingSeller: schematron(
    'BR-CO-26',
    'Pentru ca cumparatorul sa identifice automat vanzatorul, trebuie sa existe Identificatorul vanzatorului (BT-29), Identificatorul de inregistrare legala a vanzatorului (BT-30) si/sau Identificatorul de TVA al vanzatorului (BT-31).',
    'In order for the buyer to automatically identify a supplier, the Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT identifier (BT-31) shall be present.',
  ),
  sellerMismatch: (sellerCif: string, cif: string) =>
    `E: AccountingSupplierParty (1) sectiune Party (1) sectiune PartyTaxScheme (1) sectiune CompanyID (1)  eroare regula: CIF vanzator=${sellerCif} din factura nu corespunde cu CIF=${cif} din request`,
  buyerMismatch: (buyerCif: string, cif: string) =>
    `E: AccountingCustomerParty (1) sectiune Party (1) sectiune PartyTaxScheme (1) sectiune CompanyID (1)  eroare regula: autofactura: CIF cumparator=${buyerCif} din factura nu corespunde cu CIF=${cif} din request`,
  sandboxNok: schematron(
    'BR-RO-999',
    'Factura a fost respinsa la cerere de sandbox-ul ANAF (marcajul SANDBOX:NOK dintr-o nota a facturii).',
    'Rejected on request by the ANAF sandbox (the SANDBOX:NOK marker in an invoice note).',
  ),
  raspMissingIndex: 'E: mesajul RASP trebuie sa contina atributul index_incarcare al facturii la care raspunde',
  raspUnknownInvoice: (index: string) => `E: Nu exista factura cu id_incarcare=${index} la care sa se raspunda`,
  raspNotBuyer: (index: string, cif: string) => `E: CIF=${cif} nu este cumparatorul facturii cu id_incarcare=${index}`,
} as const;

export interface RuleContext {
  /** The request's `cif`; absent for validare/transformare, which do not compare CIFs. */
  requestCif?: string;
  autofactura?: boolean;
  executare?: boolean;
}

/** The deterministic business rules; the duplicate check lives with the store (it needs history). */
export function judgeInvoice(facts: InvoiceFacts, ctx: RuleContext = {}): Verdict {
  if (facts.notes.some((n) => n.includes(MARKER_XML_ERRORS))) return { outcome: 'xml-errors' };
  const errors: string[] = [];
  if (!facts.number) errors.push(RULE_MESSAGES.missingNumber);
  if (!facts.issueDate) errors.push(RULE_MESSAGES.missingIssueDate);
  else if (!/^\d{4}-\d{2}-\d{2}$/.test(facts.issueDate)) errors.push(RULE_MESSAGES.badIssueDate(facts.issueDate));
  if (!facts.supplierCif && !facts.sellerIdentifierPresent) errors.push(RULE_MESSAGES.missingSeller);
  if (ctx.requestCif && !ctx.executare) {
    if (ctx.autofactura) {
      if (facts.buyerCif && facts.buyerCif !== ctx.requestCif) errors.push(RULE_MESSAGES.buyerMismatch(facts.buyerCif, ctx.requestCif));
    } else if (facts.supplierCif && facts.supplierCif !== ctx.requestCif) {
      errors.push(RULE_MESSAGES.sellerMismatch(facts.supplierCif, ctx.requestCif));
    }
  }
  if (facts.notes.some((n) => n.includes(MARKER_NOK))) errors.push(RULE_MESSAGES.sandboxNok);
  return errors.length ? { outcome: 'nok', errors } : { outcome: 'ok' };
}
