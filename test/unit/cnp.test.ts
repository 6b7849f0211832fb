import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cnpCheckDigit, isValidCif, isValidCifOrCnp, isValidCnp } from '../../schemas/cif';

/**
 * CNP check digit (key 279146358279, sum mod 11, 10 → 1). The valid examples were computed by
 * hand outside this code (issue 14 item 11); each invalid one breaks exactly one rule.
 */

const VALID = [
  '1960529460020', // remainder 0
  '2851215401230',
  '5020227400159', // born 2002 (S=5), remainder 9
  '1980101123452',
  '1850315400071', // remainder 10: the check digit is 1
  '7010101123459', // S=7: a foreign resident
];

test('CNPs with the right check digit, sex/century digit, month and day are valid', () => {
  for (const cnp of VALID) assert.equal(isValidCnp(cnp), true, cnp);
});

test('a remainder of 10 gives check digit 1, not 0', () => {
  assert.equal(cnpCheckDigit('185031540007'), 1);
  assert.equal(isValidCnp('1850315400070'), false);
});

test('wrong check digit, S=0, month 13, day 00, 12 or 14 digits, letters: refused', () => {
  for (const cnp of [
    '1960529460021', // check digit off by one
    '2851215401239',
    '0960529460020', // S=0 does not exist
    '1961329460024', // month 13 (check digit right for its body)
    '1960500460025', // day 00 (check digit right for its body)
    '196052946002', // 12 digits
    '19605294600200', // 14 digits
    '196052946002A',
    '0000000000000', // B2C's "buyer unknown", not a CNP
    '',
  ]) {
    assert.equal(isValidCnp(cnp), false, cnp);
  }
});

test('a CNP is no CIF, a CIF no CNP; isValidCifOrCnp takes either', () => {
  assert.equal(isValidCif('1960529460020'), false);
  assert.equal(isValidCnp('14399840'), false);
  for (const code of ['14399840', 'RO14399840', '1960529460020']) assert.equal(isValidCifOrCnp(code), true, code);
  assert.equal(isValidCifOrCnp('1960529460021'), false);
});
