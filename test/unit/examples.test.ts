import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XML_PARSE_TASKS } from '../../api/xml-parse-tasks';
import { extractFacts, judgeInvoice, parseXml, rootError } from '../../sandbox/efactura/invoice-xml';
import type { EfacturaStandard } from '../../schemas/efactura-types';

/**
 * Every sample in examples/ passes the checks the API runs before it stores or sends a document
 * (the same task table its parse threads run) and, for invoices, the sandbox's own rules, as
 * the docs that submit them promise. docs-commands.test.ts submits them through the API.
 */

const EXAMPLES = path.join(__dirname, '../../examples');
const read = (file: string) => fs.readFileSync(path.join(EXAMPLES, file));
const SELLER = '14399840';
const BUYER = '18547290';

const INVOICES: Array<{ file: string; standard: Exclude<EfacturaStandard, 'RASP'>; number: string; issueDate: string }> = [
  { file: 'efactura/invoice-cius-ro.xml', standard: 'UBL', number: 'ACME-2026-000123', issueDate: '2026-12-01' },
  { file: 'efactura/credit-note-cius-ro.xml', standard: 'CN', number: 'ACME-CN-2026-000007', issueDate: '2026-12-02' },
  { file: 'efactura/invoice-cii.xml', standard: 'CII', number: 'ACME-2026-000124', issueDate: '2026-12-01' },
];

describe('examples/ are valid for what they claim', () => {
  for (const inv of INVOICES) {
    test(`${inv.file}: the API's invoice checks for standard=${inv.standard}, and the sandbox accepts it`, () => {
      const xml = read(inv.file);
      const inspection = XML_PARSE_TASKS.invoice(xml, { standard: inv.standard });
      assert.ok(inspection.ok, JSON.stringify(inspection));
      assert.deepEqual(inspection.identity, { supplierCif: SELLER, buyerCif: BUYER, number: inv.number, issueDate: inv.issueDate });
      assert.match(xml.toString(), /urn:efactura\.mfinante\.ro:CIUS-RO:1\.0\.1/);

      const parsed = parseXml(xml.toString());
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(rootError(xml.toString(), parsed.xml, inv.standard), undefined);
      assert.deepEqual(judgeInvoice(extractFacts(parsed.xml) as Parameters<typeof judgeInvoice>[0], { requestCif: SELLER }), {
        outcome: 'ok',
      });
    });
  }

  test('etransport/notification-v2.xml: a v2 notification the API accepts', () => {
    const inspection = XML_PARSE_TASKS.declaration(read('etransport/notification-v2.xml'));
    assert.ok(inspection.ok, JSON.stringify(inspection));
    assert.equal(inspection.kind, 'NOTIFICATION');
    assert.equal(inspection.identity.declarantCif, SELLER);
    // docs/etransport.md replaces this date with today's: it must be there to be replaced.
    assert.equal(inspection.identity.transportDate, '2026-12-03');
  });

  test('banciws/raport-semnat.pdf: a signed PDF the BANCIWS route accepts', () => {
    assert.deepEqual(XML_PARSE_TASKS.signedPdf(read('banciws/raport-semnat.pdf')), { ok: true });
  });

  test('every file in examples/ is one of the above or their README and generator', () => {
    const files = fs.readdirSync(EXAMPLES, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const known = new Set([
      ...INVOICES.map((i) => i.file),
      'etransport/notification-v2.xml',
      'banciws/raport-semnat.pdf',
      'README.md',
      'generate.ts',
    ]);
    for (const f of files) assert.ok(known.has(path.relative(EXAMPLES, path.join(f.parentPath, f.name))), `${f.name} has no test`);
  });
});
