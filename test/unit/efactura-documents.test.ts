import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { AnswerArchiveError, readAnswerZip } from '../../activities/efactura/answer-zip';
import { parseAnafMinute, romanianDay } from '../../lib/anaf/romanian-time';
import { hostileArchive } from '../../sandbox/efactura/archive';
import { inspectInvoiceXml, sameInvoice } from '../../schemas/efactura-invoice';
import { ublInvoice } from '../../devkit/fixtures/invoice';

const xml = (s: string) => Buffer.from(s, 'utf8');
const zip = (files: Record<string, string | Buffer>) =>
  Buffer.from(
    zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Uint8Array(typeof v === 'string' ? Buffer.from(v) : v)]))),
  );

async function refused(bytes: Buffer): Promise<string> {
  try {
    await readAnswerZip(bytes);
  } catch (err) {
    assert.ok(err instanceof AnswerArchiveError, String(err));
    return err.code;
  }
  assert.fail('accepted a hostile archive');
}

describe('invoice inspection before anything is sent', () => {
  const invoice = ublInvoice({ supplierCif: '14399840', buyerCif: '18547290', number: 'F-1', issueDate: '2026-11-20' });

  test('a UBL invoice: identity read, prefixes and "RO" ignored', () => {
    const r = inspectInvoiceXml(xml(invoice), 'UBL');
    assert.ok(r.ok);
    assert.deepEqual(r.identity, { supplierCif: '14399840', buyerCif: '18547290', number: 'F-1', issueDate: '2026-11-20' });
    const prefixed = invoice.replace('<Invoice xmlns=', '<ubl:Invoice xmlns:ubl=').replace('</Invoice>', '</ubl:Invoice>');
    const again = inspectInvoiceXml(xml(prefixed), 'UBL');
    assert.ok(again.ok, JSON.stringify(again));
    assert.deepEqual(again.identity, r.identity);
  });

  test('CII: format-102 dates compared as yyyy-mm-dd', () => {
    const cii = `<?xml version="1.0"?><rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocument><ram:ID>C-7</ram:ID><ram:IssueDateTime><udt:DateTimeString format="102">20261120</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">RO14399840</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty></ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>`;
    const r = inspectInvoiceXml(xml(cii), 'CII');
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.identity, { supplierCif: '14399840', number: 'C-7', issueDate: '2026-11-20' });
  });

  test('refusals carry precise codes', () => {
    const code = (s: string, standard: 'UBL' | 'CN' = 'UBL') => {
      const r = inspectInvoiceXml(xml(s), standard);
      return r.ok ? 'OK' : r.code;
    };
    assert.equal(code('<Invoice><a></Invoice>'), 'XML_NOT_WELL_FORMED');
    assert.equal(code('not xml at all'), 'XML_NOT_WELL_FORMED');
    assert.equal(code(invoice, 'CN'), 'XML_WRONG_ROOT');
    assert.equal(code(invoice.replace('urn:oasis:names:specification:ubl:schema:xsd:Invoice-2', 'urn:example:other')), 'XML_WRONG_ROOT');
    assert.equal(
      code(`<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>${invoice.split('\n').slice(1).join('\n')}`),
      'XML_DOCTYPE_FORBIDDEN',
    );
    // Billion laughs needs a DOCTYPE to declare its entities: refused before any expansion.
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol2;</Invoice>`;
    assert.equal(code(laughs), 'XML_DOCTYPE_FORBIDDEN');
    assert.equal(inspectInvoiceXml(Buffer.alloc(10 * 1024 * 1024 + 1, 0x20), 'UBL').ok, false);
  });

  test("RASP: the buyer message root <header> in ANAF's namespace mfp:anaf:dgti:spv:reqMesaj:v1", () => {
    const rasp = (ns: string | undefined) =>
      xml(
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<header${ns === undefined ? '' : ` xmlns="${ns}"`} index_incarcare="191823" message="mesaj de test, standard RASP"/>`,
      );
    const ok = inspectInvoiceXml(rasp('mfp:anaf:dgti:spv:reqMesaj:v1'), 'RASP');
    assert.ok(ok.ok, JSON.stringify(ok));
    const prefixed = inspectInvoiceXml(
      xml('<m:header xmlns:m="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="191823" message="x"/>'),
      'RASP',
    );
    assert.ok(prefixed.ok, JSON.stringify(prefixed));
    for (const ns of [undefined, 'mfp:anaf:dgti:spv:respUploadFisier:v1', 'urn:example:other']) {
      const r = inspectInvoiceXml(rasp(ns), 'RASP');
      assert.equal(r.ok ? 'OK' : r.code, 'XML_WRONG_ROOT', `namespace ${ns}`);
      assert.match(r.ok ? '' : r.message, /mfp:anaf:dgti:spv:reqMesaj:v1/);
    }
  });

  test('sameInvoice needs supplier, number and date, all equal', () => {
    const ours = { supplierCif: '1', number: 'A', issueDate: '2026-01-01' };
    assert.equal(sameInvoice({ ...ours }, ours), true);
    assert.equal(sameInvoice({ ...ours, number: 'B' }, ours), false);
    assert.equal(sameInvoice({ ...ours, issueDate: '2026-01-02' }, ours), false);
    assert.equal(sameInvoice(ours, { supplierCif: '1', number: 'A' }), false, 'an incomplete identity never matches');
  });
});

describe("ANAF's answer archive", () => {
  test('ok: the invoice and its signature', async () => {
    const a = await readAnswerZip(zip({ '5001.xml': '<Invoice/>', 'semnatura_5001.xml': '<ds:Signature/>' }));
    assert.equal(a.kind, 'ok');
    assert.equal(a.kind === 'ok' && a.invoiceXml.toString(), '<Invoice/>');
  });

  test('nok: typed errors from the mesajEroriFactuta file, duplicate index recognised', async () => {
    const errors = `<?xml version="1.0" encoding="UTF-8"?><header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="5002" Cif_emitent="14399840">
<Error errorMessage="E: [BR-RO-999] first &amp; only"/><Error errorMessage="Factura a mai fost transmisa anterior cu index=5001"/></header>`;
    const a = await readAnswerZip(zip({ '5002.xml': errors, 'semnatura_5002.xml': '<s/>' }));
    assert.equal(a.kind, 'nok');
    if (a.kind !== 'nok') return;
    assert.equal(a.errors.length, 2);
    assert.equal(a.uploadIndex, '5002');
    assert.equal(a.supplierCif, '14399840');
    assert.equal(a.duplicateOfIndex, '5001');
  });

  test("the sandbox's hostile answers (SANDBOX:ZIP_BOMB / SANDBOX:ZIP_TRUNCATED) are refused with the right code", async () => {
    const files = { '5003.xml': Buffer.from('<Invoice/>'), 'semnatura_5003.xml': Buffer.from('<s/>') };
    assert.equal(await refused(hostileArchive('bomb', files, Date.now())), 'ZIP_BOMB');
    const cut = hostileArchive('truncated', files, Date.now());
    assert.equal(cut.readUInt32LE(0), 0x04034b50, 'still looks like a ZIP at first');
    assert.equal(await refused(cut), 'ZIP_MALFORMED');
  });

  test('a ZIP bomb is refused by its declared size', async () => {
    assert.equal(await refused(zip({ 'a.xml': Buffer.alloc(40 * 1024 * 1024, 0x41), 'semnatura_a.xml': '<s/>' })), 'ZIP_BOMB');
  });

  test('a ZIP bomb with a lying header (small declared size) is stopped while inflating', async () => {
    // A real deflate stream of 20 MB, whose local and central headers claim 100 bytes.
    const payload = deflateRawSync(Buffer.alloc(20 * 1024 * 1024, 0x41));
    const name = Buffer.from('a.xml');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(payload.length, 18);
    local.writeUInt32LE(100, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(payload.length, 20);
    central.writeUInt32LE(100, 24);
    central.writeUInt16LE(name.length, 28);
    const cdOffset = local.length + name.length + payload.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + name.length, 12);
    end.writeUInt32LE(cdOffset, 16);
    const bomb = Buffer.concat([local, name, payload, central, name, end]);
    assert.ok(['ZIP_BOMB', 'ZIP_MALFORMED'].includes(await refused(bomb)));
  });

  test('too many entries, truncated or non-ZIP bytes, no XML: typed errors', async () => {
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`${i}.xml`, '<a/>']));
    assert.equal(await refused(zip(many)), 'ZIP_BOMB');
    const good = zip({ '1.xml': '<Invoice/>', 'semnatura_1.xml': '<s/>' });
    assert.equal(await refused(good.subarray(0, good.length - 30)), 'ZIP_MALFORMED');
    assert.equal(await refused(Buffer.from('<html>The requested URL was rejected</html>')), 'ZIP_MALFORMED');
    assert.equal(await refused(zip({ 'readme.txt': 'hi' })), 'ZIP_UNEXPECTED_CONTENT');
  });
});

describe('Romanian time', () => {
  test('data_creare (yyyyMMddHHmm, Bucharest) to epoch, across DST', () => {
    assert.equal(parseAnafMinute('202611201200'), Date.UTC(2026, 10, 20, 10, 0), 'EET, UTC+2');
    assert.equal(parseAnafMinute('202607011200'), Date.UTC(2026, 6, 1, 9, 0), 'EEST, UTC+3');
    assert.equal(parseAnafMinute('2026-11-20'), undefined);
    assert.equal(romanianDay(Date.UTC(2026, 10, 20, 22, 30)), '2026-11-21', 'after 22:00 UTC it is already tomorrow in Bucharest');
  });
});
