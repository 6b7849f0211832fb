import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { detectProblem, failureForError, failureForProblem, FAILURE_TYPES, msUntilNextRomanianDay } from '../../activities/anaf/failures';
import { type AnafResponse, AnafTransportError } from '../../activities/anaf/http';

/** Every way ANAF says "no", classified once; the workflows' retry and reconcile choices key on these types. */

function answer(status: number, body: string, contentType = 'application/json', headers: Record<string, string> = {}): AnafResponse {
  const buf = Buffer.from(body);
  return { status, headers: { 'content-type': contentType, ...headers }, contentType, body: buf, text: () => body };
}

const kind = (res: AnafResponse) => detectProblem(res)?.kind;

describe('ANAF answers classified', () => {
  test('normal answers are not problems', () => {
    assert.equal(kind(answer(200, '<header ExecutionStatus="0" index_incarcare="1"/>', 'application/xml')), undefined);
    assert.equal(kind(answer(200, '{"mesaje":[]}')), undefined);
  });

  test('{eroare, titlu} at HTTP 200 is an ANAF error, with its title', () => {
    const p = detectProblem(answer(200, '{"eroare":"Pentru id=1 nu exista inregistrata nici o factura","titlu":"Descarcare mesaj"}'));
    assert.deepEqual(p, {
      kind: 'ANAF_ERROR',
      status: 200,
      message: 'Pentru id=1 nu exista inregistrata nici o factura',
      title: 'Descarcare mesaj',
    });
  });

  test('daily limits, as JSON at 200, as XML and as text/plain, wait for the next Romanian day', () => {
    for (const res of [
      answer(200, '{"eroare":"S-au facut deja 10 descarcari de mesaj in cursul zilei","titlu":"Descarcare mesaj"}'),
      answer(200, '<header><Errors errorMessage="S-au facut deja 100 descarcari de mesaj in cursul zilei"/></header>', 'application/xml'),
      answer(200, 'S-au facut deja 1000 interogari de lista mesaje de catre utilizator in cursul zilei', 'text/plain'),
    ]) {
      const p = detectProblem(res);
      assert.equal(p?.kind, 'DAILY_LIMIT', res.text());
      const f = failureForProblem(p!, { operation: 'x', idempotent: true, now: Date.UTC(2026, 10, 20, 10, 0) });
      assert.equal(f.type, FAILURE_TYPES.DAILY_LIMIT);
      assert.equal(f.nextRetryDelay, msUntilNextRomanianDay(Date.UTC(2026, 10, 20, 10, 0)) + 5 * 60_000);
    }
  });

  test('429 honours Retry-After (seconds or date)', () => {
    const p = detectProblem(answer(429, 'Too Many Requests', 'text/plain', { 'retry-after': '7' }));
    assert.deepEqual(p && p.kind === 'RATE_LIMITED' && p.retryAfterMs, 7000);
    assert.equal(failureForProblem(p!, { operation: 'x', idempotent: false }).nextRetryDelay, 7000);
    const none = detectProblem(answer(429, '', 'text/plain'));
    assert.equal(none?.kind === 'RATE_LIMITED' && none.retryAfterMs, 60_000);
  });

  test('the F5 gateway pages: the WAF rejection is retryable, even for an upload', () => {
    const waf = detectProblem(
      answer(
        200,
        '<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator.<br>Your support ID is: 1234567890</body></html>',
        'text/html',
      ),
    );
    assert.equal(waf?.kind, 'GATEWAY_REJECTED');
    assert.equal(waf?.kind === 'GATEWAY_REJECTED' && waf.supportId, '1234567890');
    const f = failureForProblem(waf!, { operation: 'upload', idempotent: false });
    assert.equal(f.nonRetryable, false);
    assert.equal(f.nextRetryDelay, 30_000);
    assert.equal(
      kind(answer(200, '<!DOCTYPE html><html><body>Logon</body></html>', 'text/html')),
      'GATEWAY_REJECTED',
      'HTML where data was expected',
    );
    assert.equal(kind(answer(502, '<html><body>Bad Gateway</body></html>', 'text/html')), 'SERVER_ERROR');
  });

  test('400 JSON (Spring), 401/403, 5xx', () => {
    const spring = detectProblem(
      answer(
        400,
        '{"timestamp":"20-11-2026 10:00:00","status":400,"error":"Bad Request","message":"Parametrii standard si cif sunt obligatorii"}',
      ),
    );
    assert.equal(spring?.kind, 'BAD_REQUEST');
    assert.equal(spring?.message, 'Parametrii standard si cif sunt obligatorii');
    assert.equal(failureForProblem(spring!, { operation: 'x', idempotent: true }).nonRetryable, true);
    assert.equal(kind(answer(401, '')), 'UNAUTHORIZED');
    assert.equal(kind(answer(403, '<html>Forbidden</html>', 'text/html')), 'UNAUTHORIZED');
    const s5 = detectProblem(answer(503, 'Service Unavailable', 'text/plain'))!;
    assert.equal(s5.kind, 'SERVER_ERROR');
    assert.equal(
      failureForProblem(s5, { operation: 'read', idempotent: true }).type,
      FAILURE_TYPES.SERVER_ERROR,
      'a read is simply retried',
    );
    const lost = failureForProblem(s5, { operation: 'upload', idempotent: false });
    assert.equal(lost.type, FAILURE_TYPES.ANSWER_LOST, 'a 5xx after an upload may have filed it: reconcile');
    assert.equal(lost.nonRetryable, true);
  });

  test('transport: not sent is retryable; answer lost is reconciled for writes, retried for reads', () => {
    const notSent = failureForError(new AnafTransportError('NOT_SENT', 'https://api.anaf.ro/test/x?secret=1', 'ECONNREFUSED', 'refused'), {
      operation: 'upload',
      idempotent: false,
    });
    assert.ok(notSent instanceof ApplicationFailure);
    assert.equal(notSent.type, FAILURE_TYPES.NOT_SENT);
    assert.equal(notSent.nonRetryable, false);
    assert.ok(!JSON.stringify(notSent.details).includes('secret'), 'query strings are not kept');
    const lostWrite = failureForError(new AnafTransportError('ANSWER_LOST', 'https://api.anaf.ro/x', 'UND_ERR_SOCKET', 'reset'), {
      operation: 'upload',
      idempotent: false,
    });
    assert.ok(lostWrite instanceof ApplicationFailure && lostWrite.nonRetryable === true && lostWrite.type === FAILURE_TYPES.ANSWER_LOST);
    const lostRead = failureForError(new AnafTransportError('ANSWER_LOST', 'https://api.anaf.ro/x', 'UND_ERR_SOCKET', 'reset'), {
      operation: 'read',
      idempotent: true,
    });
    assert.ok(lostRead instanceof ApplicationFailure && lostRead.nonRetryable === false);
  });
});
