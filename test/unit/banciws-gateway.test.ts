import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnafResponse } from '../../activities/anaf/http';
import {
  detectGatewaySessionLoss,
  detectProblem,
  failureForProblem,
  FAILURE_TYPES,
  isGatewayNonceHop,
} from '../../activities/anaf/failures';
import { isNoMessagesAnswer, zileSince } from '../../activities/banciws';
import { parseBanciwsInstitutions } from '../../lib/config/banciws-config';
import { inspectSignedPdf } from '../../schemas/banciws/signed-pdf';
import { gatewayLogonPage, wafRejectedPage } from '../../sandbox/gateway-pages';
import { certificateNotPresentedPage, upstreamErrorPage } from '../../sandbox/banciws/gateway-pages';
import { NO_MESSAGES, signedPdf } from '../../sandbox/banciws';
import { minimalPdf } from '../../sandbox/efactura/pdf';

const URL_ = 'https://financiart.anaf.ro/BANCIWS/rest/listaMesaje';

function response(status: number, body = '', headers: Record<string, string> = {}): AnafResponse {
  const buf = Buffer.from(body);
  return { status, headers, contentType: headers['content-type'] ?? '', body: buf, text: () => buf.toString('utf8') };
}

describe('F5 session-loss detection', () => {
  test('a redirect to bare /my.policy or to the hang-up page is a lost session; a nonce hop is not', () => {
    assert.equal(detectGatewaySessionLoss(response(302, '', { location: '/my.policy' }), URL_)?.reason, 'POLICY_REDIRECT');
    assert.equal(
      detectGatewaySessionLoss(response(302, '', { location: 'https://financiart.anaf.ro/my.policy' }), URL_)?.reason,
      'POLICY_REDIRECT',
    );
    assert.equal(detectGatewaySessionLoss(response(302, '', { location: '/vdesk/hangup.php3' }), URL_)?.reason, 'HANGUP');
    const nonce = response(302, '', { location: '/my.policy_nonce?nonce=abc' });
    assert.equal(detectGatewaySessionLoss(nonce, URL_), undefined);
    assert.equal(isGatewayNonceHop(nonce, URL_), true);
  });

  test('401, 403 and 405 mean the session is gone', () => {
    for (const status of [401, 403, 405]) assert.equal(detectGatewaySessionLoss(response(status), URL_)?.reason, 'STATUS');
  });

  test('the 200 page "Certificatul nu a fost prezentat" and an HTML page with 200 (the APM logon page) are detected; XML is not', () => {
    assert.equal(
      detectGatewaySessionLoss(response(200, certificateNotPresentedPage(), { 'content-type': 'text/html' }), URL_)?.reason,
      'CERTIFICATE_NOT_PRESENTED',
    );
    assert.equal(
      detectGatewaySessionLoss(response(200, '<!DOCTYPE html><html><body>Pagina login</body></html>'), URL_)?.reason,
      'HTML_PAGE',
    );
    assert.equal(
      detectGatewaySessionLoss(response(200, gatewayLogonPage(), { 'content-type': 'text/html; charset=utf-8' }), URL_)?.reason,
      'HTML_PAGE',
    );
    assert.equal(
      detectGatewaySessionLoss(response(200, '<?xml version="1.0"?><header xmlns="x"/>', { 'content-type': 'application/xml' }), URL_),
      undefined,
    );
  });

  test('an HTML 5xx page is not a lost session: for an upload it "may have been sent" (reconcile), for a read a retry', () => {
    for (const status of [500, 502, 503, 504]) {
      const page = response(status, upstreamErrorPage(status), { 'content-type': 'text/html' });
      assert.equal(detectGatewaySessionLoss(page, URL_), undefined, `HTTP ${status}`);
      const problem = detectProblem(page);
      assert.equal(problem?.kind, 'SERVER_ERROR', `HTTP ${status}`);
      const upload = failureForProblem(problem!, { operation: 'BANCIWS uploadMesaj', idempotent: false });
      assert.equal(upload.type, FAILURE_TYPES.ANSWER_LOST, 'never SESSION_LOST: that one is resent blindly');
      assert.equal(upload.nonRetryable, true);
      const read = failureForProblem(problem!, { operation: 'BANCIWS listaMesaje', idempotent: true });
      assert.equal(read.type, FAILURE_TYPES.SERVER_ERROR);
      assert.notEqual(read.nonRetryable, true);
    }
    // Even the APM's logon markup, when it comes with a 5xx status, is not proof the call was intercepted.
    assert.equal(detectGatewaySessionLoss(response(502, gatewayLogonPage(), { 'content-type': 'text/html' }), URL_), undefined);
  });

  test('the WAF rejection page is not a lost session (a new login would not change it): GATEWAY_REJECTED, safe to resend', () => {
    const waf = response(200, wafRejectedPage('1234567890123456789'), { 'content-type': 'text/html' });
    assert.equal(detectGatewaySessionLoss(waf, URL_), undefined);
    assert.equal(detectProblem(waf)?.kind, 'GATEWAY_REJECTED');
  });

  test('a lost session is retryable even for uploads (the gateway intercepted it); a refused certificate is not', () => {
    const lost = failureForProblem(
      { kind: 'SESSION_LOST', status: 302, reason: 'POLICY_REDIRECT', message: 'x' },
      { operation: 'upload', idempotent: false },
    );
    assert.equal(lost.type, FAILURE_TYPES.SESSION_LOST);
    assert.equal(lost.nonRetryable, false);
    const refused = failureForProblem(
      { kind: 'CERTIFICATE_REFUSED', status: 200, message: 'x' },
      { operation: 'upload', idempotent: false },
    );
    assert.equal(refused.nonRetryable, true);
  });
});

describe('signed PDF check', () => {
  test('accepts a PDF with a signature dictionary; refuses non-PDFs, truncated and unsigned PDFs', () => {
    assert.deepEqual(inspectSignedPdf(signedPdf({ title: 'F2101', lines: [] })), { ok: true });
    assert.equal((inspectSignedPdf(Buffer.from('PK\x03\x04 zip')) as { code: string }).code, 'NOT_A_PDF');
    const pdf = signedPdf({ title: 'F2101', lines: [] });
    assert.equal((inspectSignedPdf(pdf.subarray(0, 300)) as { code: string }).code, 'NOT_A_PDF');
    assert.equal((inspectSignedPdf(minimalPdf({ title: 'x', lines: [] })) as { code: string }).code, 'PDF_NOT_SIGNED');
  });
});

describe('BANCIWS configuration and helpers', () => {
  test('BANCIWS_INSTITUTIONS is validated with precise messages', () => {
    assert.deepEqual(parseBanciwsInstitutions(undefined), []);
    const [one] = parseBanciwsInstitutions('[{"id":"bank-a","tenant":"acme","cui":"361820"}]');
    assert.equal(one?.zile, '1');
    assert.throws(() => parseBanciwsInstitutions('[{"id":"bank-a","tenant":"acme","cui":"RO361820"}]'), /cui: digits only/);
    assert.throws(() => parseBanciwsInstitutions('[{"id":"b","tenant":"acme","cui":"361820","zile":"48/24"}]'), /zile/);
    assert.throws(() => parseBanciwsInstitutions('[{"id":"b","tenant":"acme","cui":"361820","clientCert":"/c"}]'), /go together/);
    assert.throws(() => parseBanciwsInstitutions('{'), /JSON array/);
    // Lost uploads are matched on receipts by taking turns per institution: one bank, one entry, one certificate.
    assert.throws(
      () =>
        parseBanciwsInstitutions(
          '[{"id":"a","tenant":"acme","cui":"361820","clientCert":"/a.pem","clientKey":"/a.key"},{"id":"b","tenant":"globex","cui":"361820","clientCert":"/b.pem","clientKey":"/b.key"}]',
        ),
      /CUIs must be unique \(361820/,
    );
    assert.throws(
      () => parseBanciwsInstitutions('[{"id":"a","tenant":"acme","cui":"361820"},{"id":"b","tenant":"acme","cui":"18547290"}]'),
      /at most one institution may use the shared .*a, b/,
    );
    assert.equal(
      parseBanciwsInstitutions('[{"id":"a","tenant":"acme","cui":"361820"},{"id":"b","tenant":"acme","cui":"18547290","pfx":"/b.pfx"}]')
        .length,
      2,
    );
  });

  test('ANAF\'s "no messages" Mesaj_eroare is an empty list; other errors, and any text that only starts like it, are not', () => {
    for (const empty of [
      NO_MESSAGES,
      'Nu exista mesaje',
      'Nu exista mesaje in intervalul selectat',
      'nu există mesaje',
      'Nu sunt mesaje',
      'Nu exista mesaje in ultimele 3 zile.',
    ]) {
      assert.equal(isNoMessagesAnswer(empty), true, empty);
    }
    // ANAF documents no wording for an empty list: an unknown text is never read as "empty" (a lost upload would be re-sent).
    const unknown = [
      'Nu exista mesaje: certificatul nu are drept pentru CUI 361820',
      'Nu exista mesajele solicitate, serviciul este indisponibil',
      'Nu exista mesaje pentru ca a aparut o eroare tehnica',
      'Lista goala?',
    ];
    for (const error of [undefined, '', 'Format incorect pentru Zile: 0', 'Nu aveti drept de interogare', 'Eroare tehnica', ...unknown])
      assert.equal(isNoMessagesAnswer(error), false, String(error));
  });

  test('zileSince covers the attempt: hours up to a day, then days', () => {
    const now = Date.UTC(2026, 10, 20, 12);
    assert.equal(zileSince(now - 10 * 60_000, now), '2/24');
    assert.equal(zileSince(now - 23 * 3600_000, now), '24/24');
    assert.equal(zileSince(now - 50 * 3600_000, now), '3');
  });
});
