import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cifCheckDigit, isValidCif, normalizeCif, withCheckDigit } from '../../schemas/cif';

test('real fiscal codes validate, with or without the RO prefix', () => {
  for (const cif of ['14399840', 'RO14399840', 'ro 14399840', '18547290', '13548146', '8000000000']) {
    assert.equal(isValidCif(cif), true, cif);
  }
});

test('a wrong check digit, letters, leading zero, or a bad length is refused', () => {
  for (const cif of ['14399841', '1234567890', '1439984O', '014399840', '1', '123456789012', '', 'RO', '14 399 840', '../../etc']) {
    assert.equal(isValidCif(cif), false, cif);
  }
});

test('check digit: a remainder of 10 becomes 0', () => {
  // body chosen so that sum*10 % 11 === 10
  const body = Array.from({ length: 100000 }, (_, i) => String(i + 1)).find((b) => {
    const padded = b.padStart(9, '0');
    const sum = [7, 5, 3, 2, 1, 7, 5, 3, 2].reduce((s, k, i) => s + k * Number(padded[i]), 0);
    return (sum * 10) % 11 === 10;
  })!;
  assert.equal(cifCheckDigit(body), 0);
  assert.equal(isValidCif(withCheckDigit(body)), true);
});

test('normalizeCif strips the VAT prefix and blanks', () => {
  assert.equal(normalizeCif(' RO14399840 '), '14399840');
});
