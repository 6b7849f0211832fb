import { XMLValidator } from 'fast-xml-parser';
import { hardenedXmlParser } from '../lib/xml-parser';
import type { EfacturaStandard, InvoiceIdentity } from '../activities/efactura/types';

/**
 * What we check of an invoice before it is stored or sent, and what we read out of it.
 * ANAF refuses, at upload, a file that is not well-formed or whose root element does not
 * fit the `standard` parameter; we refuse the same earlier, with a code an ERP can act on.
 * The identity (supplier CIF, number, issue date) is what reconciliation compares when an
 * upload's answer was lost.
 *
 * No DOCTYPE is accepted and entities are never expanded: the XML comes from outside.
 */

/** ANAF's upload limit. */
export const MAX_INVOICE_BYTES = 10 * 1024 * 1024;

export type InvoiceProblemCode = 'XML_NOT_WELL_FORMED' | 'XML_DOCTYPE_FORBIDDEN' | 'XML_WRONG_ROOT' | 'INVOICE_TOO_LARGE' | 'XML_EMPTY';

export type InvoiceInspection =
  | { ok: true; root: string; namespace: string; identity: InvoiceIdentity }
  | { ok: false; code: InvoiceProblemCode; message: string };

/** The root element (local name) and namespace each upload standard requires. */
export const STANDARD_ROOTS: Record<EfacturaStandard, { root: string; namespace?: string }> = {
  UBL: { root: 'Invoice', namespace: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2' },
  CN: { root: 'CreditNote', namespace: 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2' },
  CII: { root: 'CrossIndustryInvoice', namespace: 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100' },
  // The buyer's message about a received invoice: ANAF documents its root, not a namespace we could rely on.
  RASP: { root: 'header' },
};

type Node = Record<string, unknown>;

const parser = hardenedXmlParser({ removeNSPrefix: false });

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);
const prefixOf = (qname: string) => (qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '');

/** Children by local name, whatever prefix the sender chose. */
function children(node: unknown, name: string): unknown[] {
  if (!node || typeof node !== 'object') return [];
  const out: unknown[] = [];
  for (const [key, value] of Object.entries(node as Node)) {
    if (key.startsWith('@') || localName(key) !== name) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

function at(node: unknown, ...path: string[]): unknown {
  let cur = node;
  for (const name of path) {
    cur = children(cur, name)[0];
    if (cur === undefined) return undefined;
  }
  return cur;
}

function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim() || undefined;
  if (node && typeof node === 'object' && '#text' in node) return textOf((node as Node)['#text']);
  return undefined;
}

/** "RO 14399840" / "ro14399840" / "14399840" → "14399840". */
export function cifDigitsOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const digits = value.trim().toUpperCase().replace(/^RO\s*/, '');
  return /^[0-9]{2,10}$/.test(digits) ? digits : undefined;
}

function firstCif(candidates: unknown[]): string | undefined {
  for (const c of candidates) {
    const cif = cifDigitsOf(textOf(c));
    if (cif) return cif;
  }
  return undefined;
}

function ublPartyCif(party: unknown): string | undefined {
  return firstCif([
    ...children(party, 'PartyTaxScheme').map((s) => at(s, 'CompanyID')),
    ...children(party, 'PartyLegalEntity').map((s) => at(s, 'CompanyID')),
    ...children(party, 'PartyIdentification').map((s) => at(s, 'ID')),
  ]);
}

function ciiPartyCif(party: unknown): string | undefined {
  return firstCif([
    ...children(party, 'SpecifiedTaxRegistration').map((s) => at(s, 'ID')),
    ...children(party, 'SpecifiedLegalOrganization').map((s) => at(s, 'ID')),
  ]);
}

/** CII dates are format 102 (yyyymmdd); we compare in yyyy-mm-dd like UBL. */
function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
}

function compact(identity: InvoiceIdentity): InvoiceIdentity {
  return Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined)) as InvoiceIdentity;
}

export function identityOf(root: string, node: unknown): InvoiceIdentity {
  if (root === 'CrossIndustryInvoice') {
    const agreement = at(node, 'SupplyChainTradeTransaction', 'ApplicableHeaderTradeAgreement');
    return compact({
      supplierCif: ciiPartyCif(at(agreement, 'SellerTradeParty')),
      buyerCif: ciiPartyCif(at(agreement, 'BuyerTradeParty')),
      number: textOf(at(node, 'ExchangedDocument', 'ID')),
      issueDate: isoDate(textOf(at(node, 'ExchangedDocument', 'IssueDateTime', 'DateTimeString'))),
    });
  }
  if (root === 'Invoice' || root === 'CreditNote') {
    return compact({
      supplierCif: ublPartyCif(at(node, 'AccountingSupplierParty', 'Party')),
      buyerCif: ublPartyCif(at(node, 'AccountingCustomerParty', 'Party')),
      number: textOf(at(node, 'ID')),
      issueDate: textOf(at(node, 'IssueDate')),
    });
  }
  // A buyer message names the invoice it answers by upload index only.
  return {};
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parses and checks `xml` against the declared standard; never throws for bad input. */
export function inspectInvoiceXml(xml: Buffer, standard: EfacturaStandard): InvoiceInspection {
  if (xml.length === 0) return { ok: false, code: 'XML_EMPTY', message: 'The request carries no invoice' };
  if (xml.length > MAX_INVOICE_BYTES) {
    return { ok: false, code: 'INVOICE_TOO_LARGE', message: `The invoice exceeds ANAF's limit of ${MAX_INVOICE_BYTES / (1024 * 1024)} MB` };
  }
  const text = xml.toString('utf8').replace(/^\uFEFF/, '');
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    return {
      ok: false,
      code: 'XML_DOCTYPE_FORBIDDEN',
      message: `DOCTYPE declarations are not accepted (line ${lineOf(text, doctype.index)}): ANAF refuses them, and they carry entity expansion and XXE risks`,
    };
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    return { ok: false, code: 'XML_NOT_WELL_FORMED', message: `Not well-formed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}` };
  }
  let tree: Node;
  try {
    tree = parser.parse(text) as Node;
  } catch (err) {
    return { ok: false, code: 'XML_NOT_WELL_FORMED', message: `Not well-formed XML: ${(err as Error).message}` };
  }
  const rootEntry = Object.entries(tree).find(([k]) => !k.startsWith('?') && !k.startsWith('#'));
  if (!rootEntry) return { ok: false, code: 'XML_NOT_WELL_FORMED', message: 'The document has no root element' };
  const [qname, rootNode] = rootEntry;
  const prefix = prefixOf(qname);
  const attrs = rootNode && typeof rootNode === 'object' ? (rootNode as Node) : {};
  const namespace = String(attrs[prefix ? `@xmlns:${prefix}` : '@xmlns'] ?? '');
  const root = localName(qname);
  const expected = STANDARD_ROOTS[standard];
  if (root !== expected.root || (expected.namespace !== undefined && namespace !== expected.namespace)) {
    const wanted = `${expected.root}${expected.namespace ? ` in namespace ${expected.namespace}` : ''}`;
    return {
      ok: false,
      code: 'XML_WRONG_ROOT',
      message: `standard=${standard} needs the root element ${wanted}; this document has ${root}${namespace ? ` in ${namespace}` : ' without a namespace'}`,
    };
  }
  return { ok: true, root, namespace, identity: identityOf(root, rootNode) };
}

/**
 * Is `found` (an invoice ANAF holds) the invoice we sent? Supplier CIF, number and issue
 * date must all be known and equal: a weaker match could adopt someone else's index.
 */
export function sameInvoice(found: InvoiceIdentity, ours: InvoiceIdentity): boolean {
  if (!ours.supplierCif || !ours.number || !ours.issueDate) return false;
  return found.supplierCif === ours.supplierCif && found.number === ours.number && found.issueDate === ours.issueDate;
}
