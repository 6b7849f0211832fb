import type { EfacturaStandard, InvoiceIdentity } from './efactura-types';
import { at, children, parseUntrustedXml, textOf } from './untrusted-xml';
import { isValidCnp } from './cif';

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

export type InvoiceProblemCode =
  'XML_NOT_WELL_FORMED' | 'XML_DOCTYPE_FORBIDDEN' | 'XML_WRONG_ROOT' | 'INVOICE_TOO_LARGE' | 'XML_EMPTY' | 'XML_TOO_COMPLEX';

export type InvoiceInspection =
  { ok: true; root: string; namespace: string; identity: InvoiceIdentity } | { ok: false; code: InvoiceProblemCode; message: string };

/** The root element (local name) and namespace each upload standard requires. */
export const STANDARD_ROOTS: Record<EfacturaStandard, { root: string; namespace?: string }> = {
  UBL: { root: 'Invoice', namespace: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2' },
  CN: { root: 'CreditNote', namespace: 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2' },
  CII: { root: 'CrossIndustryInvoice', namespace: 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100' },
  // The buyer's message about a received invoice, as ANAF's upload documentation shows it:
  // <header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="…" message="…"/>.
  RASP: { root: 'header', namespace: 'mfp:anaf:dgti:spv:reqMesaj:v1' },
};

/** "RO 14399840" / "ro14399840" / "14399840" → "14399840"; an individual's CNP (a B2C buyer) as it is. */
export function cifDigitsOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const digits = value
    .trim()
    .toUpperCase()
    .replace(/^RO\s*/, '');
  return /^[0-9]{2,10}$/.test(digits) || isValidCnp(digits) ? digits : undefined;
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

/** Parses and checks `xml` against the declared standard; never throws for bad input. */
export function inspectInvoiceXml(xml: Buffer, standard: EfacturaStandard): InvoiceInspection {
  if (xml.length > MAX_INVOICE_BYTES) {
    return { ok: false, code: 'INVOICE_TOO_LARGE', message: `The invoice exceeds ANAF's limit of ${MAX_INVOICE_BYTES / (1024 * 1024)} MB` };
  }
  const parsed = parseUntrustedXml(xml, 'The request carries no invoice');
  if (!parsed.ok) return parsed;
  const { root, namespace } = parsed;
  const expected = STANDARD_ROOTS[standard];
  if (root !== expected.root || (expected.namespace !== undefined && namespace !== expected.namespace)) {
    const wanted = `${expected.root}${expected.namespace ? ` in namespace ${expected.namespace}` : ''}`;
    return {
      ok: false,
      code: 'XML_WRONG_ROOT',
      message: `standard=${standard} needs the root element ${wanted}; this document has ${root}${namespace ? ` in ${namespace}` : ' without a namespace'}`,
    };
  }
  return { ok: true, root, namespace, identity: identityOf(root, parsed.node) };
}

/**
 * Is `found` (an invoice ANAF holds) the invoice we sent? Supplier CIF, number and issue
 * date must all be known and equal: a weaker match could adopt someone else's index.
 */
export function sameInvoice(found: InvoiceIdentity, ours: InvoiceIdentity): boolean {
  if (!ours.supplierCif || !ours.number || !ours.issueDate) return false;
  return found.supplierCif === ours.supplierCif && found.number === ours.number && found.issueDate === ours.issueDate;
}
