import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANAF_FAILURE, classifyUploadFailure, UPLOAD_SAFE_TO_RETRY, type UploadFailureClass } from '../../workflows/shared/anaf-failures';

/**
 * The "never file twice" decision table. An upload that failed is either surely not sent (the
 * workflow may send it again), may have been sent (it must be reconciled through ANAF's listing
 * before anything else), refused by ANAF (nothing was filed) or blocked on authorization. Moving a
 * failure type from one column to another changes what reaches ANAF, so every row is pinned here.
 */

const DECISIONS: ReadonlyArray<{ type: string | undefined; why: string; expected: UploadFailureClass }> = [
  { type: ANAF_FAILURE.NOT_SENT, why: 'the connection was never made', expected: 'SAFE_TO_RETRY' },
  { type: ANAF_FAILURE.RATE_LIMITED, why: '429: ANAF turned it away', expected: 'SAFE_TO_RETRY' },
  { type: ANAF_FAILURE.GATEWAY, why: 'the F5 WAF page: the request stopped at the gateway', expected: 'SAFE_TO_RETRY' },
  { type: ANAF_FAILURE.DAILY_LIMIT, why: 'the daily limit: refused before processing', expected: 'SAFE_TO_RETRY' },
  { type: ANAF_FAILURE.ANSWER_LOST, why: 'reset, 5xx after the body was sent', expected: 'MAYBE_SENT' },
  { type: ANAF_FAILURE.TIMEOUT, why: 'the activity timed out mid-call (a killed worker)', expected: 'MAYBE_SENT' },
  { type: undefined, why: 'a failure nobody classified', expected: 'MAYBE_SENT' },
  { type: ANAF_FAILURE.NOT_AUTHORIZED, why: 'no token for the CIF: nothing was sent', expected: 'AUTH' },
  { type: ANAF_FAILURE.UNAUTHORIZED, why: '401/403 from ANAF', expected: 'AUTH' },
  { type: ANAF_FAILURE.BAD_REQUEST, why: '400: ANAF refused the request itself', expected: 'REFUSED' },
  { type: ANAF_FAILURE.ANAF_ERROR, why: '{eroare}: ANAF refused the request itself', expected: 'REFUSED' },
  // Changed deliberately (issue 14): a bare 5xx is not ANAF refusing the request; it may have been filed.
  {
    type: ANAF_FAILURE.SERVER_ERROR,
    why: "an upload's 5xx arrives as AnswerLost; a bare one may have been filed too: reconcile",
    expected: 'MAYBE_SENT',
  },
  {
    type: ANAF_FAILURE.TECHNICAL_ERROR,
    why: '"A aparut o eroare tehnica": ANAF answered, not accepted; send again after a bounded delay',
    expected: 'TECHNICAL',
  },
  {
    type: ANAF_FAILURE.UNEXPECTED_ANSWER,
    why: 'ANAF answered outside its documented shape: it got the upload, so reconcile',
    expected: 'MAYBE_SENT',
  },
  // Types only one service throws, and any type nobody classified: "may have been sent" (the product's rule), never REFUSED.
  { type: 'EfacturaInvalidAnswer', why: 'an e-Factura answer we cannot read came from ANAF', expected: 'MAYBE_SENT' },
  { type: 'EtransportInvalidAnswer', why: 'an e-Transport answer we cannot read came from ANAF', expected: 'MAYBE_SENT' },
  { type: 'AnafAnswerTooLarge', why: 'an answer larger than we read came from ANAF', expected: 'MAYBE_SENT' },
  { type: 'SomeFailureNobodyClassified', why: 'a failure type no rule names', expected: 'MAYBE_SENT' },
];

describe('upload failure decisions', () => {
  for (const { type, why, expected } of DECISIONS) {
    test(`${type ?? '(no type)'} is ${expected}: ${why}`, () => {
      assert.equal(classifyUploadFailure(type), expected);
      // The set e-Factura's submission reads directly must agree with the table.
      assert.equal(
        type !== undefined && UPLOAD_SAFE_TO_RETRY.has(type),
        expected === 'SAFE_TO_RETRY',
        `UPLOAD_SAFE_TO_RETRY disagrees on ${type}`,
      );
    });
  }

  test('every known failure type has a row (a new type needs a decision here)', () => {
    const covered = new Set(DECISIONS.map((d) => d.type));
    assert.deepEqual(
      Object.values(ANAF_FAILURE).filter((t) => !covered.has(t)),
      [],
    );
  });

  test('the safe-to-retry set is exactly the surely-not-sent rows', () => {
    const surelyNotSent = DECISIONS.filter((d) => d.expected === 'SAFE_TO_RETRY').map((d) => d.type);
    assert.deepEqual([...UPLOAD_SAFE_TO_RETRY].sort(), surelyNotSent.sort());
  });
});
