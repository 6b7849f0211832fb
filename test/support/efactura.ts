import assert from 'node:assert/strict';
import { request } from 'undici';
import { submissionQuery } from '../../workflows/efactura/definitions';
import type { SubmissionView } from '../../workflows/efactura/types';
import { walkAuthorizePage } from './sandbox';
import type { Stack } from './stack';
import { viewWhen } from './temporal';

export { eventually } from './wait';

/** Test invoices (UBL / CIUS-RO shaped), small and readable. */
export interface InvoiceSpec {
  supplierCif: string;
  buyerCif: string;
  number: string;
  issueDate?: string;
  /**
   * Becomes a cbc:Note: "SANDBOX:NOK" makes the sandbox reject it, "SANDBOX:XML_ERRORS" makes it unprocessable,
   * "SANDBOX:ZIP_BOMB" / "SANDBOX:ZIP_TRUNCATED" make its answer archive hostile.
   */
  note?: string;
}

export function ublInvoice(s: InvoiceSpec): string {
  const party = (role: string, cif: string) =>
    `<cac:${role}><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>RO${cif}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>` +
    `<cac:PartyLegalEntity><cbc:RegistrationName>Company ${cif}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:${role}>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">',
    '<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</cbc:CustomizationID>',
    `<cbc:ID>${s.number}</cbc:ID>`,
    `<cbc:IssueDate>${s.issueDate ?? '2026-11-20'}</cbc:IssueDate>`,
    '<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>',
    s.note ? `<cbc:Note>${s.note}</cbc:Note>` : '',
    '<cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>',
    party('AccountingSupplierParty', s.supplierCif),
    party('AccountingCustomerParty', s.buyerCif),
    '<cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="RON">119.00</cbc:PayableAmount></cac:LegalMonetaryTotal>',
    '</Invoice>',
    '',
  ].join('\n');
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function callApi(
  stack: Pick<Stack, 'apiUrl'>,
  key: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'x-api-key': key, ...options.headers };
  let body: string | Buffer | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/xml';
    body = options.body;
  }
  const res = await request(`${stack.apiUrl}${path}`, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: raw, text, json };
}

/** Registers the organization and walks the whole OAuth consent, as a user would, for one scope. */
export async function authorizeOrganization(stack: Pick<Stack, 'apiUrl'> & { sandbox: Pick<Stack['sandbox'], 'url'> }, key: string, cif: string, scope: 'EFACTURA' | 'ETRANSPORT' = 'EFACTURA'): Promise<void> {
  const org = await callApi(stack, key, 'POST', '/v1/organizations', { json: { cif, name: `Company ${cif}` } });
  assert.ok(org.status === 201 || org.json?.error?.code === 'ORGANIZATION_EXISTS', org.text);
  const created = await callApi(stack, key, 'POST', `/v1/organizations/${cif}/authorization-requests`, { json: { scope } });
  assert.equal(created.status, 201, created.text);
  const anafUrl = new URL(created.json.url as string);
  const walked = await walkAuthorizePage(stack.sandbox.url, {
    clientId: anafUrl.searchParams.get('client_id')!,
    redirectUri: anafUrl.searchParams.get('redirect_uri')!,
    state: anafUrl.searchParams.get('state')!,
    decision: 'approve',
  });
  const callback = await request(walked.location.toString());
  const page = await callback.body.text();
  assert.equal(callback.statusCode, 200, page);
}

/** Waits for the submission's workflow to end (no polling: Temporal tells us) and returns its final view. */
export async function finished(stack: Pick<Stack, 'client'>, id: string): Promise<SubmissionView> {
  return (await stack.client.workflow.getHandle(id).result()) as SubmissionView;
}

/** The submission's view once `ready` holds, checked as the workflow moves on (bounded). */
export function submissionWhen(stack: Pick<Stack, 'client'>, id: string, ready: (v: SubmissionView) => boolean, timeoutMs = 30_000): Promise<SubmissionView> {
  return viewWhen(stack.client, id, submissionQuery, ready, timeoutMs);
}
