import assert from 'node:assert/strict';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import express, { type Request } from 'express';
import { strFromU8, unzipSync } from 'fflate';
import { request } from 'undici';
import { withCheckDigit } from '../../schemas/cif';
import { SandboxClock } from '../../sandbox/clock';
import { createSandbox, type RunningSandbox } from '../../sandbox';
import { createEfacturaRouter, NS_ERRORS, type CallerRights, type EfacturaOptions, type EfacturaService } from '../../sandbox/efactura';
import { obtainTokens } from '../../devkit/oauth-walk';

/**
 * The e-Factura service of the ANAF sandbox over real HTTP: a tiny Express host with a
 * stand-in bearer gate ("Bearer test-token" passes), the service's router, and a clock
 * that only moves when a test moves it.
 */

const SELLER = withCheckDigit('1234567');
const BUYER = withCheckDigit('7654321');
const OTHER = withCheckDigit('2345678');
const START = Date.UTC(2026, 2, 10, 8, 0, 0); // 10 March 2026, 10:00 in Bucharest
const DAY = 24 * 3600 * 1000;
const AUTH = { authorization: 'Bearer test-token' };

interface Host {
  url: string;
  clock: SandboxClock;
  service: EfacturaService;
  close(): Promise<void>;
}

/** Tokens the stand-in gate knows, and the CIFs each may act for (absent = any). */
const TOKENS: Record<string, CallerRights | undefined> = {
  'test-token': undefined,
  'limited-token': { subject: 'ABC123', cifs: [OTHER] },
  'no-cif-token': { subject: 'DEF456', cifs: [] },
};

const rightsByRequest = new WeakMap<Request, CallerRights>();

async function startHost(options: Partial<EfacturaOptions> = {}): Promise<Host> {
  const clock = new SandboxClock(() => START);
  const service = createEfacturaRouter({
    now: () => clock.now(),
    options: { processingDelayMs: 2000, ...options },
    requireBearer: (req, res, next) => {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token || !(token in TOKENS)) {
        res.status(403).json({ status: 403, error: 'Forbidden', message: 'no valid bearer token' });
        return;
      }
      const rights = TOKENS[token];
      if (rights) rightsByRequest.set(req, rights);
      next();
    },
    identityOf: (req) => rightsByRequest.get(req),
  });
  const app = express();
  app.use(service.router);
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    service,
    close: () =>
      new Promise<void>((resolve) => {
        service.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One host per describe block; closed after it. */
function useHost(options: Partial<EfacturaOptions> = {}): () => Host {
  let host: Host | undefined;
  before(async () => {
    host = await startHost(options);
  });
  after(async () => {
    await host?.close();
  });
  return () => {
    if (!host) throw new Error('host not started yet');
    return host;
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = AUTH,
): Promise<Reply> {
  const res = await request(`${base}${path}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'text/plain', ...headers } : headers,
    ...(body !== undefined ? { body } : {}),
  });
  const buf = Buffer.from(await res.body.arrayBuffer());
  const text = buf.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body: buf, text, json };
}

interface InvoiceSpec {
  number?: string | null;
  issueDate?: string | null;
  seller?: string;
  buyer?: string;
  note?: string;
  root?: 'Invoice' | 'CreditNote';
}

function ubl(spec: InvoiceSpec = {}): string {
  const root = spec.root ?? 'Invoice';
  const ns =
    root === 'Invoice'
      ? 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'
      : 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2';
  const number = spec.number === undefined ? 'FX-0001' : spec.number;
  const date = spec.issueDate === undefined ? '2026-03-09' : spec.issueDate;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<${root} xmlns="${ns}" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">`,
    '  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</cbc:CustomizationID>',
    number !== null ? `  <cbc:ID>${number}</cbc:ID>` : '',
    date !== null ? `  <cbc:IssueDate>${date}</cbc:IssueDate>` : '',
    spec.note ? `  <cbc:Note>${spec.note}</cbc:Note>` : '',
    '  <cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>',
    `  <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>RO${spec.seller ?? SELLER}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity><cbc:RegistrationName>Vanzator SRL</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>`,
    `  <cac:AccountingCustomerParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>RO${spec.buyer ?? BUYER}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity><cbc:RegistrationName>Cumparator SRL</cbc:RegistrationName><cbc:CompanyID>J40/1/2020</cbc:CompanyID></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>`,
    `</${root}>`,
  ]
    .filter(Boolean)
    .join('\n');
}

const UPLOAD_HEADER =
  /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?>\r?\n<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="(\d{12})" ExecutionStatus="0" index_incarcare="(\d+)"\/>$/;

async function upload(host: Host, xml: string, query = `standard=UBL&cif=${SELLER}`, env = 'test'): Promise<string> {
  const r = await call(host.url, 'POST', `/${env}/FCTEL/rest/upload?${query}`, xml);
  assert.equal(r.status, 200, r.text);
  const m = UPLOAD_HEADER.exec(r.text);
  assert.ok(m, `not an accepted upload: ${r.text}`);
  return m[2] as string;
}

async function uploadErrors(host: Host, body: string | Buffer, query: string): Promise<string[]> {
  const r = await call(host.url, 'POST', `/test/FCTEL/rest/upload?${query}`, body);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="\d{12}" ExecutionStatus="1">/);
  assert.doesNotMatch(r.text, /index_incarcare/);
  return [...r.text.matchAll(/<Errors errorMessage="([^"]*)"\/>/g)].map((m) => m[1] as string);
}

async function stare(host: Host, index: string, headers = AUTH): Promise<{ stare?: string; id?: string; error?: string; text: string }> {
  const r = await call(host.url, 'GET', `/test/FCTEL/rest/stareMesaj?id_incarcare=${encodeURIComponent(index)}`, undefined, headers);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1"/);
  const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(r.text)?.[1];
  return {
    text: r.text,
    ...(attr(' stare') ? { stare: attr(' stare') } : {}),
    ...(attr('id_descarcare') ? { id: attr('id_descarcare') } : {}),
    ...(attr('errorMessage') ? { error: attr('errorMessage') } : {}),
  };
}

function unzip(buf: Buffer): Record<string, string> {
  return Object.fromEntries(Object.entries(unzipSync(new Uint8Array(buf))).map(([name, data]) => [name, strFromU8(data)]));
}

async function download(host: Host, id: string): Promise<Record<string, string>> {
  const r = await call(host.url, 'GET', `/test/FCTEL/rest/descarcare?id=${id}`);
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^application\/zip/);
  assert.equal(r.headers['content-disposition'], `attachment; filename="${id}.zip"`);
  return unzip(r.body);
}

async function processed(host: Host, xml: string, query?: string): Promise<{ index: string; id: string; stare: string }> {
  const index = await upload(host, xml, query);
  host.clock.advance(host.service.options.processingDelayMs);
  const s = await stare(host, index);
  assert.ok(s.stare && s.id, s.text);
  return { index, id: s.id, stare: s.stare };
}

// ------------------------------------------------------------------------------------------

describe('upload → stareMesaj → descarcare', () => {
  const host = useHost();

  test('an upload is "in prelucrare" until the processing delay has passed, then ok with a ZIP holding the invoice and a signature', async () => {
    const h = host();
    const xml = ubl({ number: 'OK-1' });
    const r = await call(h.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, xml);
    assert.match(String(r.headers['content-type']), /^application\/xml/);
    const m = UPLOAD_HEADER.exec(r.text);
    assert.ok(m, r.text);
    assert.equal(m[1], '202603101000', 'dateResponse is Romanian local time, YYYYMMDDHHmm');
    const index = m[2] as string;
    assert.ok(Number(index) > 5_000_000_000);

    const early = await stare(h, index);
    assert.equal(early.stare, 'in prelucrare');
    assert.equal(early.id, undefined);
    assert.match(
      early.text,
      /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?>\n<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="in prelucrare"\/>$/,
    );

    h.clock.advance(1999);
    assert.equal((await stare(h, index)).stare, 'in prelucrare');
    h.clock.advance(1);
    const done = await stare(h, index);
    assert.equal(done.stare, 'ok');
    assert.match(done.id ?? '', /^\d+$/);
    assert.match(
      done.text,
      new RegExp(`<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="ok" id_descarcare="${done.id}"/>`),
    );

    const files = await download(h, done.id as string);
    assert.deepEqual(Object.keys(files).sort(), [`${index}.xml`, `semnatura_${index}.xml`].sort());
    assert.equal(files[`${index}.xml`], xml, 'the invoice comes back exactly as uploaded');
    assert.match(files[`semnatura_${index}.xml`] ?? '', /<ds:Signature xmlns:ds="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#"/);
    assert.match(files[`semnatura_${index}.xml`] ?? '', /<ds:DigestValue>[A-Za-z0-9+/=]+<\/ds:DigestValue>/);
  });

  test('indexes are numeric, increasing and unique; uploadb2c and /prod answer the same way', async () => {
    const h = host();
    const a = await upload(h, ubl({ number: 'SEQ-1' }));
    const b = await upload(h, ubl({ number: 'SEQ-2' }));
    const r = await call(h.url, 'POST', `/test/FCTEL/rest/uploadb2c?standard=UBL&cif=${SELLER}`, ubl({ number: 'SEQ-3' }));
    const c = UPLOAD_HEADER.exec(r.text)?.[2];
    const d = await upload(h, ubl({ number: 'SEQ-4' }), `standard=UBL&cif=${SELLER}`, 'prod');
    assert.ok(c);
    const all = [a, b, c, d].map(Number);
    assert.deepEqual(
      [...all].sort((x, y) => x - y),
      all,
    );
    assert.equal(new Set(all).size, 4);
    // An index of one environment does not exist in the other.
    const cross = await call(h.url, 'GET', `/prod/FCTEL/rest/stareMesaj?id_incarcare=${a}`);
    assert.match(cross.text, new RegExp(`Nu exista factura cu id_incarcare= ${a}`));
  });

  test('a CreditNote (standard CN) and a CII invoice are accepted too', async () => {
    const h = host();
    const cn = await processed(h, ubl({ root: 'CreditNote', number: 'CN-1' }), `standard=CN&cif=${SELLER}`);
    assert.equal(cn.stare, 'ok');
    const cii = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">',
      '  <rsm:ExchangedDocument><ram:ID>CII-7</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">20260309</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>',
      `  <rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>V</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">RO${SELLER}</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty><ram:BuyerTradeParty><ram:Name>C</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">RO${BUYER}</ram:ID></ram:SpecifiedTaxRegistration></ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction>`,
      '</rsm:CrossIndustryInvoice>',
    ].join('\n');
    const c = await processed(h, cii, `standard=CII&cif=${SELLER}`);
    assert.equal(c.stare, 'ok');
    assert.equal(h.service.state.uploadsFor(SELLER, 'CII-7', '2026-03-09'), 1);
  });
});

describe('nok and XML with errors', () => {
  const host = useHost({ processingDelayMs: 0 });

  test("the SANDBOX:NOK marker ends nok; the archive holds the error XML in ANAF's (misspelt) namespace", async () => {
    const h = host();
    const { index, id, stare: s } = await processed(h, ubl({ number: 'NOK-1', note: 'please SANDBOX:NOK thanks' }));
    assert.equal(s, 'nok');
    const files = await download(h, id);
    assert.deepEqual(Object.keys(files).sort(), [`${index}.xml`, `semnatura_${index}.xml`].sort());
    const errors = files[`${index}.xml`] ?? '';
    assert.equal(NS_ERRORS, 'mfp:anaf:dgti:efactura:mesajEroriFactuta:v1');
    assert.match(
      errors,
      new RegExp(`<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="${index}" Cif_emitent="${SELLER}">`),
    );
    assert.match(errors, /<Error errorMessage="E: validari globale {2}SCHEMATRON {3}eroare: \[BR-RO-999\]-[^"]+"\/>/);
  });

  test('the SANDBOX:XML_ERRORS marker ends "XML cu erori nepreluat de sistem", with nothing to download or list', async () => {
    const h = host();
    const index = await upload(h, ubl({ number: 'XE-1', note: 'SANDBOX:XML_ERRORS' }));
    const s = await stare(h, index);
    assert.equal(s.stare, 'XML cu erori nepreluat de sistem');
    assert.equal(s.id, undefined);
    assert.equal(h.service.state.upload(index)?.downloadId, undefined);
    assert.equal(h.service.state.messages.filter((m) => m.idSolicitare === index).length, 0);
  });

  test("missing number or issue date, and a seller other than the request's cif, end nok with ANAF-style errors", async () => {
    const h = host();
    const noNumber = await processed(h, ubl({ number: null, issueDate: null }));
    assert.equal(noNumber.stare, 'nok');
    const errs = (await download(h, noNumber.id))[`${noNumber.index}.xml`] ?? '';
    assert.match(errs, /\[BR-02\]/);
    assert.match(errs, /\[BR-03\]/);

    const mismatch = await processed(h, ubl({ number: 'MM-1', seller: OTHER }));
    assert.equal(mismatch.stare, 'nok');
    const mm = (await download(h, mismatch.id))[`${mismatch.index}.xml`] ?? '';
    assert.match(mm, new RegExp(`CIF vanzator=${OTHER} din factura nu corespunde cu CIF=${SELLER} din request`));
    assert.match(mm, new RegExp(`Cif_emitent="${OTHER}"`));

    // With autofactura=DA the buyer uploads in the supplier's name: the request cif is the buyer's.
    const self = await processed(h, ubl({ number: 'AF-1', seller: OTHER }), `standard=UBL&cif=${BUYER}&autofactura=DA`);
    assert.equal(self.stare, 'ok');
  });
});

describe('upload errors', () => {
  const host = useHost({ processingDelayMs: 0 });

  test('bad standard, non-numeric cif, invalid flags: ExecutionStatus="1" with ANAF\'s messages', async () => {
    const h = host();
    assert.deepEqual(await uploadErrors(h, ubl(), `standard=XYZ&cif=${SELLER}`), [
      'Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP',
    ]);
    assert.deepEqual(await uploadErrors(h, ubl(), 'standard=UBL&cif=123a'), ['CIF introdus= 123a nu este un numar']);
    assert.deepEqual(await uploadErrors(h, ubl(), `standard=UBL&cif=RO${SELLER}`), [`CIF introdus= RO${SELLER} nu este un numar`]);
    assert.deepEqual(await uploadErrors(h, ubl(), `standard=UBL&cif=${SELLER}&extern=NU`), [
      'Daca parametrul extern trebuie completat, valoarea acceptata este DA',
    ]);
    assert.deepEqual(await uploadErrors(h, ubl(), `standard=UBL&cif=${SELLER}&autofactura=1`), [
      'Daca parametrul autofacturare trebuie completat, valoarea acceptata este DA',
    ]);
  });

  test('a body that is not XML, or not the declared standard, or carries a DOCTYPE, is refused at upload', async () => {
    const h = host();
    const [notXml] = await uploadErrors(h, 'hello, not xml', `standard=UBL&cif=${SELLER}`);
    assert.equal(
      notXml,
      'Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 1; Content is not allowed in prolog.',
    );
    const [broken] = await uploadErrors(h, '<Invoice><cbc:ID>1</Invoice>', `standard=UBL&cif=${SELLER}`);
    assert.match(broken ?? '', /^Fisierul transmis nu este valid\. org\.xml\.sax\.SAXParseException; lineNumber: \d+; columnNumber: \d+; /);
    const [wrongRoot] = await uploadErrors(h, ubl(), `standard=CN&cif=${SELLER}`);
    assert.match(wrongRoot ?? '', /cvc-elt\.1\.a: Cannot find the declaration of element 'Invoice'\./);
    const [doctype] = await uploadErrors(
      h,
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Invoice>&a;</Invoice>',
      `standard=UBL&cif=${SELLER}`,
    );
    assert.match(doctype ?? '', /DOCTYPE is disallowed/);
  });

  test("a file over 10 MB gets ANAF's size message", async () => {
    const h = host();
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    big.write('<Invoice>', 0);
    assert.deepEqual(await uploadErrors(h, big, `standard=UBL&cif=${SELLER}`), ['Marime fisier transmis mai mare de 10 MB.']);
  });

  test('missing parameters or an empty body are Spring 400s; none of the refused uploads is counted as an upload', async () => {
    const h = host();
    const noParams = await call(h.url, 'POST', '/test/FCTEL/rest/upload?standard=UBL', ubl());
    assert.equal(noParams.status, 400);
    assert.deepEqual(Object.keys(noParams.json).sort(), ['error', 'message', 'status', 'timestamp']);
    assert.equal(noParams.json.message, 'Parametrii standard si cif sunt obligatorii');
    assert.match(noParams.json.timestamp, /^\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}$/);
    const empty = await call(h.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, '');
    assert.equal(empty.status, 400);
    assert.equal(empty.json.message, 'Trebuie sa aveti atasat in request un fisier de tip xml');
    assert.equal(h.service.state.totalUploads, 0);
    assert.ok(h.service.state.counters.uploadsRejected >= 2);
  });
});

describe('duplicates and the upload counter', () => {
  const host = useHost({ processingDelayMs: 1000 });

  test('the same invoice uploaded again after the first ended ok ends nok, naming the first index', async () => {
    const h = host();
    const xml = ubl({ number: 'DUP-1', issueDate: '2026-03-01' });
    const first = await processed(h, xml);
    assert.equal(first.stare, 'ok');
    const second = await processed(h, xml);
    assert.equal(second.stare, 'nok');
    const errs = (await download(h, second.id))[`${second.index}.xml`] ?? '';
    assert.match(
      errs,
      new RegExp(`<Error errorMessage="Factura a mai fost transmisa anterior cu index=${first.index} si data incarcare=2026-03-10"/>`),
    );
    assert.equal(h.service.state.upload(second.index)?.duplicateOf, first.index);

    // Uploaded again while the second is still being processed: still the first index.
    const third = await upload(h, xml);
    assert.equal((await stare(h, third)).stare, 'in prelucrare');
    h.clock.advance(1000);
    const t = await stare(h, third);
    assert.equal(t.stare, 'nok');
    assert.match((await download(h, t.id as string))[`${third}.xml`] ?? '', new RegExp(`index=${first.index} `));
  });

  test('uploads are counted per invoice identity (supplier CIF + number + issue date)', async () => {
    const h = host();
    const before = h.service.state.totalUploads;
    await upload(h, ubl({ number: 'CNT-1', issueDate: '2026-03-02' }));
    await upload(h, ubl({ number: 'CNT-1', issueDate: '2026-03-02' }));
    await upload(h, ubl({ number: 'CNT-2', issueDate: '2026-03-02' }));
    await uploadErrors(h, ubl({ number: 'CNT-3' }), `standard=XYZ&cif=${SELLER}`);
    const state = h.service.state;
    assert.equal(state.uploadsFor(SELLER, 'CNT-1', '2026-03-02'), 2);
    assert.equal(state.uploadsFor(`RO${SELLER}`, 'CNT-1', '2026-03-02'), 2, 'the RO prefix does not matter');
    assert.equal(state.uploadsFor(SELLER, 'CNT-2', '2026-03-02'), 1);
    assert.equal(state.uploadsFor(SELLER, 'CNT-3', '2026-03-09'), 0, 'refused uploads are not counted');
    assert.equal(state.uploadsFor(SELLER, 'CNT-1', '2026-03-03'), 0);
    assert.equal(state.totalUploads - before, 3);
  });

  test('a nok first upload does not make the next one a duplicate', async () => {
    const h = host();
    const bad = await processed(h, ubl({ number: 'FIX-1', note: 'SANDBOX:NOK' }));
    assert.equal(bad.stare, 'nok');
    const good = await processed(h, ubl({ number: 'FIX-1' }));
    assert.equal(good.stare, 'ok');
  });
});

describe('stareMesaj', () => {
  const host = useHost({ processingDelayMs: 0 });

  test('parameter errors, unknown indexes and the daily limit of 100 per message', async () => {
    const h = host();
    const missing = await call(h.url, 'GET', '/test/FCTEL/rest/stareMesaj');
    assert.equal(missing.status, 400);
    assert.equal(missing.json.message, 'Parametrul id_incarcare este obligatoriu');
    assert.equal((await stare(h, 'aaa')).error, 'Id_incarcare introdus= aaa nu este un numar intreg');
    assert.equal((await stare(h, '15000')).error, 'Nu exista factura cu id_incarcare= 15000');

    const index = await upload(h, ubl({ number: 'LIM-1' }));
    for (let i = 0; i < 100; i++) assert.equal((await stare(h, index)).stare, 'ok');
    const over = await stare(h, index);
    assert.equal(over.stare, undefined);
    assert.equal(over.error, 'S-au facut deja 100 descarcari de mesaj in cursul zilei');
    assert.match(over.text, /<Errors errorMessage="S-au facut deja 100 descarcari de mesaj in cursul zilei"\/>/);
    // Another message has its own quota; the next Romanian day starts afresh.
    const other = await upload(h, ubl({ number: 'LIM-2' }));
    assert.equal((await stare(h, other)).stare, 'ok');
    h.clock.advance(DAY);
    assert.equal((await stare(h, index)).stare, 'ok');
  });
});

describe('descarcare', () => {
  const host = useHost({ processingDelayMs: 0 });

  test("10 downloads per message per day, then ANAF's exact JSON; errors for bad and unknown ids", async () => {
    const h = host();
    const { id } = await processed(h, ubl({ number: 'DL-1' }));
    for (let i = 0; i < 10; i++) await download(h, id);
    const over = await call(h.url, 'GET', `/test/FCTEL/rest/descarcare?id=${id}`);
    assert.equal(over.status, 200);
    assert.equal(over.text, '{"eroare":"S-au facut deja 10 descarcari de mesaj in cursul zilei","titlu":"Descarcare mesaj"}');
    assert.match(String(over.headers['content-type']), /^application\/json/);

    const bad = await call(h.url, 'GET', '/test/FCTEL/rest/descarcare?id=123a');
    assert.deepEqual(bad.json, { eroare: 'Id descarcare introdus= 123a nu este un numar intreg', titlu: 'Descarcare mesaj' });
    const unknown = await call(h.url, 'GET', '/test/FCTEL/rest/descarcare?id=21');
    assert.deepEqual(unknown.json, { eroare: 'Pentru id=21 nu exista inregistrata nici o factura', titlu: 'Descarcare mesaj' });
    const missing = await call(h.url, 'GET', '/test/FCTEL/rest/descarcare');
    assert.equal(missing.status, 400);
    assert.equal(missing.json.message, 'Parametrul id este obligatoriu');

    h.clock.advance(DAY);
    await download(h, id);
  });
});

describe('listaMesajeFactura (simple)', () => {
  const host = useHost({ processingDelayMs: 0, listingDelayMs: 15 * 60_000, listPageSize: 3, simpleListDailyLimit: 12 });

  const list = async (h: Host, query: string) => call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?${query}`);

  test("messages appear only after the listing delay, with ANAF's fields, newest first, filtered by letter", async () => {
    const h = host();
    const empty = await list(h, `zile=15&cif=${SELLER}`);
    assert.equal(empty.status, 200);
    assert.equal(empty.text, '{"eroare":"Nu exista mesaje in ultimele 15 zile","titlu":"Lista Mesaje"}');

    const ok = await processed(h, ubl({ number: 'L-1' }));
    h.clock.advance(60_000);
    const nok = await processed(h, ubl({ number: 'L-2', note: 'SANDBOX:NOK' }));
    assert.equal((await list(h, `zile=1&cif=${SELLER}`)).json.eroare, 'Nu exista mesaje in ultimele 1 zile', 'not before ~15 minutes');

    h.clock.advance(15 * 60_000);
    const r = await list(h, `zile=1&cif=${SELLER}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['cui', 'mesaje', 'serial', 'titlu']);
    assert.equal(r.json.cui, SELLER);
    assert.equal(r.json.titlu, 'Lista Mesaje disponibile din ultimele 1 zile');
    assert.deepEqual(
      r.json.mesaje.map((m: Record<string, string>) => [m.tip, m.id_solicitare, m.id]),
      [
        ['ERORI FACTURA', nok.index, nok.id],
        ['FACTURA TRIMISA', ok.index, ok.id],
      ],
    );
    const [errors, sent] = r.json.mesaje;
    assert.deepEqual(Object.keys(sent).sort(), ['cif', 'data_creare', 'detalii', 'id', 'id_solicitare', 'tip']);
    assert.equal(sent.data_creare, '202603101000');
    assert.equal(sent.cif, SELLER);
    assert.equal(sent.detalii, `Factura cu id_incarcare=${ok.index} emisa de cif_emitent=${SELLER} pentru cif_beneficiar=${BUYER}`);
    assert.equal(errors.detalii, `Erori de validare identificate la factura primita cu id_incarcare=${nok.index}`);

    assert.deepEqual(
      (await list(h, `zile=1&cif=${SELLER}&filtru=E`)).json.mesaje.map((m: { tip: string }) => m.tip),
      ['ERORI FACTURA'],
    );
    assert.deepEqual(
      (await list(h, `zile=1&cif=${SELLER}&filtru=T`)).json.mesaje.map((m: { tip: string }) => m.tip),
      ['FACTURA TRIMISA'],
    );
    assert.equal((await list(h, `zile=1&cif=${SELLER}&filtru=P`)).json.eroare, 'Nu exista mesaje in ultimele 1 zile');

    // The buyer sees the same invoice as FACTURA PRIMITA, same download id.
    const buyer = await list(h, `zile=1&cif=${BUYER}&filtru=P`);
    assert.deepEqual(
      buyer.json.mesaje.map((m: Record<string, string>) => [m.tip, m.cif, m.id]),
      [['FACTURA PRIMITA', BUYER, ok.id]],
    );
  });

  test('parameter errors: zile out of 1..60, non-numeric, bad cif, bad filtru, missing parameters', async () => {
    const h = host();
    assert.deepEqual((await list(h, `zile=61&cif=${SELLER}`)).json, {
      eroare: 'Numarul de zile trebuie sa fie intre 1 si 60',
      titlu: 'Lista Mesaje',
    });
    assert.equal((await list(h, `zile=0&cif=${SELLER}`)).json.eroare, 'Numarul de zile trebuie sa fie intre 1 si 60');
    assert.equal((await list(h, `zile=aaa&cif=${SELLER}`)).json.eroare, 'Numarul de zile introdus= aaa nu este un numar intreg');
    assert.equal((await list(h, 'zile=5&cif=aaa')).json.eroare, 'CIF introdus= aaa nu este un numar');
    assert.equal(
      (await list(h, `zile=5&cif=${SELLER}&filtru=X`)).json.eroare,
      'Valorile acceptate pentru parametrul filtru sunt E, T, P sau R',
    );
    const missing = await list(h, 'zile=5');
    assert.equal(missing.status, 400);
    assert.equal(missing.json.message, 'Parametrii zile si cif sunt obligatorii');
  });

  test('more messages than a page: the simple listing sends clients to the paginated one; then the daily quota', async () => {
    const h = host();
    for (let i = 0; i < 3; i++) await processed(h, ubl({ number: `MANY-${i}` }));
    h.clock.advance(15 * 60_000);
    const r = await list(h, `zile=1&cif=${SELLER}`);
    assert.equal(
      r.json.eroare,
      'Lista de mesaje este mai mare decat numarul de 3 elemente permise in pagina. Folositi endpoint-ul cu paginatie.',
    );
    let last: Reply | undefined;
    for (let i = 0; i < 12; i++) last = await list(h, `zile=1&cif=${SELLER}`);
    assert.equal(last?.json.eroare, 'S-au facut deja 12 interogari de lista mesaje de catre utilizator in cursul zilei');
  });
});

describe('listaMesajePaginatieFactura', () => {
  const host = useHost({ processingDelayMs: 0, listPageSize: 2 });
  const list = async (h: Host, query: string) => call(h.url, 'GET', `/test/FCTEL/rest/listaMesajePaginatieFactura?${query}`);

  test("pages of listPageSize with ANAF's totals; a page past the end and the time window are checked", async () => {
    const h = host();
    const from = h.clock.now();
    const indexes: string[] = [];
    for (let i = 0; i < 5; i++) {
      indexes.push((await processed(h, ubl({ number: `P-${i}` }))).index);
      h.clock.advance(60_000);
    }
    const to = h.clock.now();
    const q = (page: number, extra = '') => `startTime=${from}&endTime=${to}&cif=${SELLER}&pagina=${page}${extra}`;
    const p1 = await list(h, q(1));
    assert.equal(p1.status, 200, p1.text);
    assert.deepEqual(
      Object.keys(p1.json).sort(),
      [
        'cui',
        'index_pagina_curenta',
        'mesaje',
        'numar_inregistrari_in_pagina',
        'numar_total_inregistrari',
        'numar_total_inregistrari_per_pagina',
        'numar_total_pagini',
        'serial',
        'titlu',
      ].sort(),
    );
    assert.equal(p1.json.numar_inregistrari_in_pagina, 2);
    assert.equal(p1.json.numar_total_inregistrari_per_pagina, 2);
    assert.equal(p1.json.numar_total_inregistrari, 5);
    assert.equal(p1.json.numar_total_pagini, 3);
    assert.equal(p1.json.index_pagina_curenta, 1);
    assert.equal(p1.json.titlu, 'Lista Mesaje disponibile din intervalul 10-03-2026 10:00:00 - 10-03-2026 10:05:00');
    const p3 = await list(h, q(3));
    assert.equal(p3.json.numar_inregistrari_in_pagina, 1);
    assert.equal(p3.json.index_pagina_curenta, 3);
    const seen = [p1, await list(h, q(2)), p3].flatMap((p) => p.json.mesaje.map((m: { id_solicitare: string }) => m.id_solicitare));
    assert.deepEqual(seen, [...indexes].reverse(), 'newest first, every message once');

    assert.deepEqual((await list(h, q(4))).json, {
      eroare: 'Pagina solicitata 4 este mai mare decat numarul toatal de pagini 3',
      titlu: 'Lista Mesaje',
    });
    assert.equal((await list(h, q(1, '&filtru=E'))).json.eroare, 'Nu exista mesaje in intervalul selectat');
    // A window that ends before the first message.
    assert.equal(
      (await list(h, `startTime=${from - DAY}&endTime=${from - 1}&cif=${SELLER}&pagina=1`)).json.eroare,
      'Nu exista mesaje in intervalul selectat',
    );
  });

  test('startTime older than 60 days, endTime before startTime or in the future, non-numeric values, missing parameters', async () => {
    const h = host();
    const now = h.clock.now();
    const old = await list(h, `startTime=${now - 61 * DAY}&endTime=${now}&cif=${SELLER}&pagina=1`);
    assert.match(
      old.json.eroare,
      /^startTime = \d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2} nu poate fi mai vechi de 60 de zile fata de momentul requestului$/,
    );
    const backwards = await list(h, `startTime=${now - 1000}&endTime=${now - 2000}&cif=${SELLER}&pagina=1`);
    assert.match(backwards.json.eroare, /^endTime = .+ nu poate fi <= startTime = .+$/);
    const future = await list(h, `startTime=${now - 1000}&endTime=${now + DAY}&cif=${SELLER}&pagina=1`);
    assert.match(future.json.eroare, /^endTime = .+ nu poate in viitor fata de momentul requestului$/);
    assert.equal(
      (await list(h, `startTime=aaa&endTime=${now}&cif=${SELLER}&pagina=1`)).json.eroare,
      'startTime = aaa nu este un numar sau nu are o valoare acceptata de sistem',
    );
    assert.equal(
      (await list(h, `startTime=1&endTime=${now}&cif=${SELLER}&pagina=aa`)).json.eroare,
      'pagina = aa nu este un numar sau nu are o valoare acceptata de sistem',
    );
    assert.equal(
      (await list(h, `startTime=${now - 1000}&endTime=${now}&cif=aaa&pagina=1`)).json.eroare,
      'CIF introdus= aaa nu este un numar sau nu are o valoare acceptata de sistem',
    );
    const missing = await list(h, `startTime=${now}&cif=${SELLER}`);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.message, 'Parametrii startTime, endTime, cif si pagina sunt obligatorii');
  });
});

describe('received invoices', () => {
  const host = useHost({ processingDelayMs: 0 });

  test('addReceivedInvoice creates a FACTURA PRIMITA for the buyer that downloads as a ZIP', async () => {
    const h = host();
    const received = h.service.addReceivedInvoice({ buyerCif: `RO${OTHER}`, number: 'IN-1', issueDate: '2026-03-08' });
    assert.equal(received.buyerCif, OTHER);
    const r = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${OTHER}&filtru=P`);
    assert.equal(r.json.mesaje.length, 1, r.text);
    const [m] = r.json.mesaje;
    assert.equal(m.tip, 'FACTURA PRIMITA');
    assert.equal(m.id, received.id);
    assert.equal(m.id_solicitare, received.index);
    assert.equal(
      m.detalii,
      `Factura cu id_incarcare=${received.index} emisa de cif_emitent=${received.supplierCif} pentru cif_beneficiar=${OTHER}`,
    );
    const files = await download(h, received.id);
    assert.match(files[`${received.index}.xml`] ?? '', /<cbc:ID>IN-1<\/cbc:ID>/);
    assert.match(files[`${received.index}.xml`] ?? '', new RegExp(`<cbc:CompanyID>RO${OTHER}</cbc:CompanyID>`));
    assert.ok(files[`semnatura_${received.index}.xml`]);
  });

  test('the admin route does the same over HTTP, and `at` decides when it appears', async () => {
    const h = host();
    const at = h.clock.now() + 3600_000;
    const created = await request(`${h.url}/__sandbox/efactura/received`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ buyerCif: BUYER, supplierCif: OTHER, xml: ubl({ number: 'ADM-1', seller: OTHER, buyer: BUYER }), at }),
    });
    assert.equal(created.statusCode, 201);
    const body = (await created.body.json()) as { id: string; index: string; number: string };
    assert.equal(body.number, 'ADM-1');
    const listNow = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${BUYER}&filtru=P`);
    assert.ok(!listNow.json.mesaje?.some((m: { id: string }) => m.id === body.id), 'not before `at`');
    h.clock.advance(3600_000);
    const listLater = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${BUYER}&filtru=P`);
    assert.ok(
      listLater.json.mesaje.some((m: { id: string }) => m.id === body.id),
      listLater.text,
    );

    const invalid = await request(`${h.url}/__sandbox/efactura/received`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ buyerCif: 'abc' }),
    });
    assert.equal(invalid.statusCode, 400);
    await invalid.body.dump();
  });

  test("receivedEveryMs generates one per known CIF on an unref'd timer, stopped by close()", async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const clock = new SandboxClock(() => START);
      const service = createEfacturaRouter({
        now: () => clock.now(),
        requireBearer: (_req, _res, next) => next(),
        options: { receivedEveryMs: 60_000, knownCifs: [BUYER] },
      });
      mock.timers.tick(60_000);
      assert.deepEqual(
        service.state.messages.map((m) => [m.env, m.cif, m.tip]),
        [
          ['test', BUYER, 'FACTURA PRIMITA'],
          ['prod', BUYER, 'FACTURA PRIMITA'],
        ],
      );
      service.close();
      mock.timers.tick(600_000);
      assert.equal(service.state.messages.length, 2);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('RASP (buyer messages)', () => {
  const host = useHost({ processingDelayMs: 0 });

  test('the buyer answers an invoice it received; both sides list it under filtru=R', async () => {
    const h = host();
    const invoice = await processed(h, ubl({ number: 'R-1' }));
    const rasp = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="${invoice.index}" message="Am primit factura"/>`;
    const answer = await processed(h, rasp, `standard=RASP&cif=${BUYER}`);
    assert.equal(answer.stare, 'ok');
    const sellerSide = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${SELLER}&filtru=R`);
    assert.deepEqual(
      sellerSide.json.mesaje.map((m: { tip: string }) => m.tip),
      ['MESAJ CUMPARATOR PRIMIT'],
    );
    const buyerSide = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${BUYER}&filtru=R`);
    assert.deepEqual(
      buyerSide.json.mesaje.map((m: { tip: string }) => m.tip),
      ['MESAJ CUMPARATOR TRANSMIS'],
    );
    // Someone who is not the buyer cannot answer it.
    const stranger = await processed(h, rasp, `standard=RASP&cif=${OTHER}`);
    assert.equal(stranger.stare, 'nok');
  });
});

describe('rate limit and bearer', () => {
  const host = useHost({ processingDelayMs: 0, perMinuteLimit: 5 });

  test('more calls than perMinuteLimit in a minute answer 429 with Retry-After, until the next minute', async () => {
    const h = host();
    const path = `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${SELLER}`;
    for (let i = 0; i < 5; i++) assert.equal((await call(h.url, 'GET', path)).status, 200);
    const limited = await call(h.url, 'GET', `/test/FCTEL/rest/stareMesaj?id_incarcare=1`);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '60');
    assert.equal(h.service.state.counters.rateLimited, 1);
    h.clock.advance(60_000);
    assert.equal((await call(h.url, 'GET', path)).status, 200);
  });

  test('403 without a valid bearer token, before anything else', async () => {
    const h = host();
    h.clock.advance(60_000);
    const none = await call(h.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, ubl(), {});
    assert.equal(none.status, 403);
    const wrong = await call(h.url, 'GET', `/prod/FCTEL/rest/stareMesaj?id_incarcare=1`, undefined, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 403);
    assert.equal(h.service.state.totalUploads, 0);
  });
});

describe('rights', () => {
  const host = useHost({ processingDelayMs: 0 });

  test("a token whose certificate lacks the CIF gets ANAF's rights errors on every endpoint", async () => {
    const h = host();
    const limited = { authorization: 'Bearer limited-token' };
    const noCif = { authorization: 'Bearer no-cif-token' };
    const up = await call(h.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, ubl(), limited);
    assert.match(up.text, new RegExp(`<Errors errorMessage="Nu aveti drept in SPV pentru CIF=${SELLER}"/>`));
    const up2 = await call(h.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, ubl(), noCif);
    assert.match(up2.text, /<Errors errorMessage="Nu exista niciun CIF pentru care sa aveti drept in SPV"\/>/);

    const { index, id } = await processed(h, ubl({ number: 'RIGHTS-1' }));
    assert.equal((await stare(h, index, limited)).error, `Nu aveti dreptul de inteorgare pentru id_incarcare= ${index}`);
    assert.equal((await stare(h, index, noCif)).error, 'Nu exista niciun CIF petru care sa aveti drept');
    const dl = await call(h.url, 'GET', `/test/FCTEL/rest/descarcare?id=${id}`, undefined, limited);
    assert.deepEqual(dl.json, { eroare: 'Nu aveti dreptul sa descarcati acesta factura', titlu: 'Descarcare mesaj' });
    const ls = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${SELLER}`, undefined, limited);
    assert.deepEqual(ls.json, { eroare: `Nu aveti drept in SPV pentru CIF=${SELLER}`, titlu: 'Lista Mesaje' });
    h.service.addReceivedInvoice({ buyerCif: OTHER });
    const own = await call(h.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${OTHER}`, undefined, limited);
    assert.equal(own.json.serial, 'ABC123', 'serial is the certificate of the caller');
  });
});

describe('validare and transformare', () => {
  const host = useHost();

  test('validare answers {stare, Messages, trace_id} as ANAF does', async () => {
    const h = host();
    const ok = await call(h.url, 'POST', '/prod/FCTEL/rest/validare/FACT1', ubl());
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.json).sort(), ['stare', 'trace_id']);
    assert.equal(ok.json.stare, 'ok');
    assert.match(ok.json.trace_id, /^[0-9a-f-]{36}$/);

    const nok = await call(h.url, 'POST', '/prod/FCTEL/rest/validare/FACT1', ubl({ note: 'SANDBOX:NOK' }));
    assert.equal(nok.json.stare, 'nok');
    assert.match(nok.json.Messages[0].message, /BR-RO-999/);
    const badStandard = await call(h.url, 'POST', '/prod/FCTEL/rest/validare/XYZ', ubl());
    assert.deepEqual(badStandard.json.Messages, [{ message: 'Valorile acceptate pentru parametrul standard sunt FACT1 si FCN' }]);
    const wrongRoot = await call(h.url, 'POST', '/prod/FCTEL/rest/validare/FCN', ubl());
    assert.equal(wrongRoot.json.stare, 'nok');
    const cn = await call(h.url, 'POST', '/prod/FCTEL/rest/validare/FCN', ubl({ root: 'CreditNote' }));
    assert.equal(cn.json.stare, 'ok');
    // ANAF serves them under /prod only: /test is refused, as at ANAF.
    for (const path of [
      '/test/FCTEL/rest/validare/FACT1',
      '/test/FCTEL/rest/transformare/FACT1',
      '/test/FCTEL/rest/transformare/FACT1/DA',
    ]) {
      assert.equal((await call(h.url, 'POST', path, ubl())).status, 404, path);
    }
    const noStandard = await call(h.url, 'POST', '/test/FCTEL/rest/validare', ubl());
    assert.equal(noStandard.status, 404);
    assert.equal(noStandard.json.path, '/FCTEL/rest/validare/');
    assert.equal(h.service.state.totalUploads, 0, 'validation stores nothing');
  });

  test('transformare returns a small PDF naming the invoice; it validates first unless /DA (novld)', async () => {
    const h = host();
    const pdf = await call(h.url, 'POST', '/prod/FCTEL/rest/transformare/FACT1', ubl({ number: 'PDF-42' }));
    assert.equal(pdf.status, 200);
    assert.match(String(pdf.headers['content-type']), /^application\/pdf/);
    assert.equal(pdf.body.subarray(0, 5).toString('latin1'), '%PDF-');
    const text = pdf.body.toString('latin1');
    assert.match(text, /\(Factura PDF-42\) Tj/);
    assert.match(text, /%%EOF\n$/);
    // The xref offsets point at the objects.
    const xrefAt = Number(/startxref\n(\d+)\n/.exec(text)?.[1]);
    assert.equal(text.slice(xrefAt, xrefAt + 4), 'xref');
    const firstObj = Number(/\n(\d{10}) 00000 n /.exec(text)?.[1]);
    assert.equal(text.slice(firstObj, firstObj + 7), '1 0 obj');

    const invalid = await call(h.url, 'POST', '/prod/FCTEL/rest/transformare/FACT1', ubl({ number: null }));
    assert.equal(invalid.json.stare, 'nok');
    assert.match(invalid.json.Messages[0].message, /BR-02/);
    const unchecked = await call(h.url, 'POST', '/prod/FCTEL/rest/transformare/FACT1/DA', ubl({ number: null, note: 'SANDBOX:NOK' }));
    assert.equal(unchecked.body.subarray(0, 5).toString('latin1'), '%PDF-');
    const badStandard = await call(h.url, 'POST', '/prod/FCTEL/rest/transformare/FOO/DA', ubl());
    assert.equal(badStandard.json.stare, 'nok');
  });
});

describe('as a module of the sandbox framework (real IdP tokens, certificate CIF rights, reset)', () => {
  const CERT = { serial: '0A1B2C3D', subject: 'CN=TEST EFACTURA, O=VANZATOR SRL, C=RO', cifs: [SELLER] };
  let service: EfacturaService | undefined;
  let sandbox: RunningSandbox | undefined;
  before(async () => {
    sandbox = await createSandbox({
      port: 0,
      oauth: { certificates: [CERT] },
      efactura: { processingDelayMs: 1000 },
    });
    service = sandbox.efactura;
  });
  after(async () => {
    await sandbox?.close();
  });

  test("requireBearer gates, the certificate's CIFs are the rights, the sandbox clock and reset drive the state", async () => {
    assert.ok(sandbox && service);
    const { access_token: token } = await obtainTokens(sandbox.url, { certSerial: CERT.serial });
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await call(sandbox.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, ubl(), {})).status, 403);

    const up = await call(sandbox.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${SELLER}`, ubl({ number: 'MOD-1' }), auth);
    const index = UPLOAD_HEADER.exec(up.text)?.[2];
    assert.ok(index, up.text);
    const foreign = await call(sandbox.url, 'POST', `/test/FCTEL/rest/upload?standard=UBL&cif=${OTHER}`, ubl({ seller: OTHER }), auth);
    assert.match(foreign.text, new RegExp(`Nu aveti drept in SPV pentru CIF=${OTHER}`));

    const poll = async () => call(sandbox!.url, 'GET', `/test/FCTEL/rest/stareMesaj?id_incarcare=${index}`, undefined, auth);
    assert.match((await poll()).text, /stare="in prelucrare"/);
    sandbox.clock.advance(1000);
    assert.match((await poll()).text, /stare="ok" id_descarcare="\d+"/);
    assert.equal(sandbox.state.requestsTo('GET', '/test/FCTEL/rest/stareMesaj'), 2);

    const listed = await call(sandbox.url, 'GET', `/test/FCTEL/rest/listaMesajeFactura?zile=1&cif=${SELLER}`, undefined, auth);
    assert.equal(listed.json.serial, CERT.serial);

    const admin = await call(sandbox.url, 'GET', '/__sandbox/efactura/state', undefined, {});
    assert.equal(admin.json.counters.uploads, 1);
    assert.equal(service.state.uploadsFor(SELLER, 'MOD-1', '2026-03-09'), 1);
    sandbox.reset();
    assert.equal(service.state.totalUploads, 0);
    assert.equal(service.state.upload(index), undefined);
  });
});
