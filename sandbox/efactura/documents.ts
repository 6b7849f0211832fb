import { createHash, createHmac } from 'node:crypto';
import { anafDateTime, anafMinute } from './time';

/**
 * The XML documents the simulated service writes: the upload and stareMesaj answers, the
 * error file of a `nok` archive, the (fake) Ministry signature, and a sample invoice for
 * received messages. Shapes follow ANAF's Swagger examples and what public clients parse;
 * the text is the sandbox's own.
 */

export const NS_UPLOAD = 'mfp:anaf:dgti:spv:respUploadFisier:v1';
export const NS_STARE = 'mfp:anaf:dgti:efactura:stareMesajFactura:v1';
/** ANAF's own spelling ("Factuta"): clients match it literally. */
export const NS_ERRORS = 'mfp:anaf:dgti:efactura:mesajEroriFactuta:v1';
export const NS_XMLDSIG = 'http://www.w3.org/2000/09/xmldsig#';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

export function escapeXmlAttr(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#xD;')
    .replace(/\n/g, '&#xA;')
    .replace(/\t/g, '&#x9;');
}

export function escapeXmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function errorsBlock(ns: string, attrs: string, tag: string, messages: string[]): string {
  const children = messages.map((m) => `    <${tag} errorMessage="${escapeXmlAttr(m)}"/>`).join('\r\n');
  return `${DECLARATION}\r\n<header xmlns="${ns}"${attrs}>\r\n${children}\r\n</header>`;
}

/** `<header xmlns=respUploadFisier dateResponse ExecutionStatus="0" index_incarcare/>` */
export function uploadAccepted(now: number, index: string): string {
  return `${DECLARATION}\r\n<header xmlns="${NS_UPLOAD}" dateResponse="${anafMinute(now)}" ExecutionStatus="0" index_incarcare="${index}"/>`;
}

/** `ExecutionStatus="1"` with one `<Errors errorMessage/>` per problem. */
export function uploadRejected(now: number, messages: string[]): string {
  return errorsBlock(NS_UPLOAD, ` dateResponse="${anafMinute(now)}" ExecutionStatus="1"`, 'Errors', messages);
}

export type Stare = 'in prelucrare' | 'ok' | 'nok' | 'XML cu erori nepreluat de sistem';

export function stareAnswer(stare: Stare, downloadId?: string): string {
  const id = downloadId ? ` id_descarcare="${downloadId}"` : '';
  return `${DECLARATION}\n<header xmlns="${NS_STARE}" stare="${stare}"${id}/>`;
}

export function stareError(message: string): string {
  return errorsBlock(NS_STARE, '', 'Errors', [message]);
}

/** The first file of a `nok` archive. */
export function errorFile(index: string, supplierCif: string, messages: string[]): string {
  return errorsBlock(NS_ERRORS, ` Index_incarcare="${index}" Cif_emitent="${escapeXmlAttr(supplierCif)}"`, 'Error', messages);
}

/** Not a signature anyone can verify: the key is a constant of the sandbox, and says so. */
const SANDBOX_SIGNING_SECRET = 'anaf-flow sandbox: this is not a Ministry of Finance signature';

export function signatureFile(content: Buffer, id: string, now: number): string {
  const digest = createHash('sha256').update(content).digest('base64');
  const signedInfo =
    `<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
    `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>`;
  const value = createHmac('sha256', SANDBOX_SIGNING_SECRET).update(signedInfo).digest('base64');
  return [
    DECLARATION,
    `<ds:Signature xmlns:ds="${NS_XMLDSIG}" Id="sandbox-signature-${id}">`,
    signedInfo,
    `<ds:SignatureValue>${value}</ds:SignatureValue>`,
    '<ds:KeyInfo><ds:KeyName>ANAF-SANDBOX (fake key, not a qualified signature)</ds:KeyName>',
    '<ds:X509Data><ds:X509SubjectName>CN=ANAF Sandbox, O=anaf-flow, C=RO</ds:X509SubjectName></ds:X509Data></ds:KeyInfo>',
    `<ds:Object><SigningTime xmlns="urn:anaf-flow:sandbox">${anafDateTime(now)}</SigningTime></ds:Object>`,
    '</ds:Signature>',
  ].join('\n');
}

/**
 * Sandbox only: how the sandbox decides what ANAF's signature validation answers. It checks the
 * signature it made itself (signatureFile): the HMAC over SignedInfo and the digest of `file`.
 * ANAF verifies the Ministry's real signature; only its answers are copied (router.ts).
 */
export function sandboxSignatureHolds(file: Buffer, signatureXml: string): boolean {
  const signedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(signatureXml)?.[0];
  const value = /<ds:SignatureValue>([^<]*)<\/ds:SignatureValue>/.exec(signatureXml)?.[1];
  const digest = signedInfo && /<ds:DigestValue>([^<]*)<\/ds:DigestValue>/.exec(signedInfo)?.[1];
  if (!signedInfo || !value || !digest) return false;
  return (
    createHmac('sha256', SANDBOX_SIGNING_SECRET).update(signedInfo).digest('base64') === value &&
    createHash('sha256').update(file).digest('base64') === digest
  );
}

export interface SampleInvoice {
  supplierCif: string;
  buyerCif: string;
  number: string;
  issueDate: string;
}

/** A small CIUS-RO shaped UBL invoice for messages the sandbox makes up (received invoices). */
export function sampleInvoice(s: SampleInvoice): string {
  const party = (role: 'AccountingSupplierParty' | 'AccountingCustomerParty', cif: string, name: string) =>
    [
      `  <cac:${role}>`,
      '    <cac:Party>',
      `      <cac:PostalAddress><cbc:StreetName>Str. Exemplu 1</cbc:StreetName><cbc:CityName>SECTOR1</cbc:CityName><cbc:CountrySubentity>RO-B</cbc:CountrySubentity><cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>`,
      `      <cac:PartyTaxScheme><cbc:CompanyID>RO${escapeXmlText(cif)}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>`,
      `      <cac:PartyLegalEntity><cbc:RegistrationName>${name}</cbc:RegistrationName></cac:PartyLegalEntity>`,
      '    </cac:Party>',
      `  </cac:${role}>`,
    ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">',
    '  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</cbc:CustomizationID>',
    `  <cbc:ID>${escapeXmlText(s.number)}</cbc:ID>`,
    `  <cbc:IssueDate>${escapeXmlText(s.issueDate)}</cbc:IssueDate>`,
    '  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>',
    '  <cbc:Note>Factura generata de sandbox-ul ANAF (anaf-flow)</cbc:Note>',
    '  <cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>',
    party('AccountingSupplierParty', s.supplierCif, 'Furnizor Sandbox SRL'),
    party('AccountingCustomerParty', s.buyerCif, 'Cumparator Sandbox SRL'),
    '  <cac:TaxTotal><cbc:TaxAmount currencyID="RON">19.00</cbc:TaxAmount>',
    '    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="RON">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="RON">19.00</cbc:TaxAmount>',
    '      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19.00</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>',
    '  <cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="RON">100.00</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount currencyID="RON">100.00</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount currencyID="RON">119.00</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID="RON">119.00</cbc:PayableAmount></cac:LegalMonetaryTotal>',
    '  <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="H87">1</cbc:InvoicedQuantity><cbc:LineExtensionAmount currencyID="RON">100.00</cbc:LineExtensionAmount>',
    '    <cac:Item><cbc:Name>Serviciu sandbox</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19.00</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>',
    '    <cac:Price><cbc:PriceAmount currencyID="RON">100.00</cbc:PriceAmount></cac:Price></cac:InvoiceLine>',
    '</Invoice>',
    '',
  ].join('\n');
}

/** Spring Boot's default error body, which ANAF's services answer for missing parameters. */
export function springError(now: number, status: number, error: string, message: string): Record<string, unknown> {
  return { timestamp: anafDateTime(now), status, error, message };
}
