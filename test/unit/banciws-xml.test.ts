import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BanciwsUnexpectedAnswer,
  BanciwsXmlError,
  buildListAnswer,
  buildStatusAnswer,
  downloadRequest,
  listRequest,
  parseDownloadAnswer,
  parseListAnswer,
  parseListRequest,
  parseStatusAnswer,
  parseUploadAnswer,
  parseUploadRequest,
  statusRequest,
  uploadRequest,
  validateBanciws,
} from '../../schemas/banciws/xml';
import { BANCIWS_NS } from '../../schemas/banciws/xsd';

describe('BANCIWS XML', () => {
  test('requests carry ANAF’s namespaces and shapes', async () => {
    assert.match(await listRequest('1/24'), new RegExp(`<header xmlns="${BANCIWS_NS.listRequest}"><listaMesaje Zile="1/24"/></header>`));
    assert.match(await statusRequest('123456789012345'), /<listaMesaje index_incarcare="123456789012345"\/>/);
    assert.match(await downloadRequest('42'), /<header xmlns="[^"]+" id_portal="42"\/>/);
    const pdf = Buffer.from('%PDF-1.7 binary \x00\xff');
    assert.deepEqual((await parseUploadRequest(await uploadRequest(pdf))).pdf, pdf);
  });

  test('Zile is N days or XX/24 hours, at most 5 characters', async () => {
    for (const ok of ['1', '30', '999', '1/24', '24/24']) assert.deepEqual(await parseListRequest(await listRequest(ok)), { zile: ok });
    for (const bad of ['0', '1000', '25/24', '0/24', '1/12', 'abc', '']) {
      await assert.rejects(listRequest(bad), (err: unknown) => err instanceof BanciwsXmlError && err.document === 'listRequest', bad);
    }
  });

  test('a value with "<& is escaped and round-trips exactly', async () => {
    const tricky = 'Raspuns "F2101" <urgent> & anexe \'A\'';
    const xml = await buildListAnswer({
      messages: [{ idPortal: '7', cuiBanca: '361820', tipFisier: 'Raspuns ANAF', denumire: tricky, dataMesaj: '202611201530' }],
    });
    assert.ok(!xml.includes(tricky), 'the raw value must not appear unescaped');
    assert.match(xml, /&quot;F2101&quot; &lt;urgent&gt; &amp; anexe/);
    const parsed = await parseListAnswer(xml);
    assert.equal(parsed.messages[0]?.denumire, tricky);
    const status = await parseStatusAnswer(await buildStatusAnswer({ indexIncarcare: '9', executionStatus: 3, errors: [tricky, 'a<b'] }));
    assert.deepEqual(status.errors, [tricky, 'a<b']);
  });

  test('an injection attempt in a request value cannot change the document: it is escaped, then refused by the schema', async () => {
    await assert.rejects(statusRequest('1" id_portal="2'), BanciwsXmlError);
    await assert.rejects(listRequest('1"/><x a="'), /not accepted by the pattern|maxLength|not valid/);
  });

  test('answers are validated before they are trusted', async () => {
    const ns = BANCIWS_NS;
    // ExecutionStatus out of range.
    await assert.rejects(
      parseStatusAnswer(`<header xmlns="${ns.statusAnswer}" Index_incarcare="1" ExecutionStatus="7"/>`),
      BanciwsXmlError,
    );
    // Missing required index.
    await assert.rejects(parseStatusAnswer(`<header xmlns="${ns.statusAnswer}" ExecutionStatus="0"/>`), BanciwsXmlError);
    // Wrong namespace.
    await assert.rejects(
      parseUploadAnswer(`<header xmlns="${ns.listAnswer}" dateResponse="202611201530" ExecutionStatus="0"/>`),
      BanciwsXmlError,
    );
    // Bad timestamp.
    await assert.rejects(
      parseUploadAnswer(`<header xmlns="${ns.uploadAnswer}" dateResponse="2026-11-20" ExecutionStatus="0"/>`),
      BanciwsXmlError,
    );
    // Not XML at all (an HTML page).
    await assert.rejects(parseListAnswer('<html><body>Pagina login</body></html>'), BanciwsXmlError);
    // Mesaj_eroare outside 1–3.
    await assert.rejects(parseDownloadAnswer(`<header xmlns="${ns.downloadAnswer}" id_portal="1" Mesaj_eroare="4"/>`), BanciwsXmlError);
  });

  test('ANAF’s identifiers are N(15) digits, checked where the answer is parsed and kept as strings; anything else is an unexpected answer carrying ANAF’s text', async () => {
    const ns = BANCIWS_NS;
    const status = (idPortal: string) =>
      `<header xmlns="${ns.statusAnswer}" Index_incarcare="4100000001" ExecutionStatus="0" Id_portal="${idPortal}"/>`;
    // Beyond 2^53 would lose digits as a number: it stays the string ANAF sent.
    assert.equal((await parseStatusAnswer(status('999999999999999'))).idPortal, '999999999999999');
    assert.equal(
      (
        await parseUploadAnswer(
          `<header xmlns="${ns.uploadAnswer}" dateResponse="202611201530" ExecutionStatus="0" index_incarcare="000123"/>`,
        )
      ).indexIncarcare,
      '000123',
    );
    for (const bad of ['+4100000002', ' 4100000002', '41000000x2', '-1', '1234567890123456', '../../etc']) {
      await assert.rejects(
        parseStatusAnswer(status(bad)),
        (err: unknown) => err instanceof BanciwsUnexpectedAnswer && err.anafText.includes(bad),
        `Id_portal "${bad}"`,
      );
    }
    const listed = (index: string) =>
      `<header xmlns="${ns.listAnswer}"><listaMesaje id_portal="1" cui_banca="361820" Tip_fisier="Recipisa" denumire="r" Index_incarcare="${index}" Data_mesaj="202611201530"/></header>`;
    await assert.rejects(parseListAnswer(listed('12a')), BanciwsUnexpectedAnswer);
    await assert.rejects(
      parseUploadAnswer(`<header xmlns="${ns.uploadAnswer}" dateResponse="202611201530" ExecutionStatus="0" index_incarcare="+7"/>`),
      BanciwsUnexpectedAnswer,
    );
    // Not well-formed (a cut answer) is not "unexpected": it may come out whole when asked again.
    await assert.rejects(
      parseStatusAnswer(status('4100000002').slice(0, 40)),
      (err: unknown) => err instanceof BanciwsXmlError && !(err instanceof BanciwsUnexpectedAnswer),
    );
  });

  test('answers parse into typed objects', async () => {
    const ns = BANCIWS_NS;
    assert.deepEqual(
      await parseUploadAnswer(`<header xmlns="${ns.uploadAnswer}" dateResponse="202611201530" ExecutionStatus="0" index_incarcare="55"/>`),
      {
        dateResponse: '202611201530',
        executionStatus: 0,
        indexIncarcare: '55',
        errors: [],
      },
    );
    assert.deepEqual(
      await parseStatusAnswer(
        `<header xmlns="${ns.statusAnswer}" Index_incarcare="55" Cui_banca="361820" ExecutionStatus="0" Id_portal="77"/>`,
      ),
      {
        indexIncarcare: '55',
        cuiBanca: '361820',
        executionStatus: 0,
        idPortal: '77',
        errors: [],
      },
    );
    assert.deepEqual(await parseDownloadAnswer(`<header xmlns="${ns.downloadAnswer}" id_portal="77" Mesaj_eroare="2"/>`), {
      idPortal: '77',
      errorCode: 2,
    });
    assert.deepEqual(await parseListAnswer(`<header xmlns="${ns.listAnswer}" Mesaj_eroare="Nu exista mesaje"/>`), {
      error: 'Nu exista mesaje',
      messages: [],
    });
  });

  test('concurrent validations share xmllint runs and still report per document', async () => {
    const docs = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0
        ? `<header xmlns="${BANCIWS_NS.downloadRequest}" id_portal="x${i}"/>`
        : `<header xmlns="${BANCIWS_NS.downloadRequest}" id_portal="${i}"/>`,
    );
    const results = await Promise.all(docs.map((d) => validateBanciws('downloadRequest', d)));
    results.forEach((problems, i) => assert.equal(problems.length > 0, i % 3 === 0, `document ${i}: ${problems.join('; ')}`));
  });
});
