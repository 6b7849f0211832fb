/**
 * Romanian fiscal codes (CIF/CUI): 2 to 10 digits, the last one a check digit computed
 * with the key 753217532 over the others right-aligned. ANAF's URLs take the digits only;
 * "RO" (the VAT prefix) is accepted on input and stripped.
 */
const KEY = [7, 5, 3, 2, 1, 7, 5, 3, 2];

export function normalizeCif(input: string): string {
  return input.trim().toUpperCase().replace(/^RO/, '').trim();
}

export function cifCheckDigit(body: string): number {
  const padded = body.padStart(9, '0');
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(padded[i]) * KEY[i]!;
  const digit = (sum * 10) % 11;
  return digit === 10 ? 0 : digit;
}

export function isValidCif(input: string): boolean {
  const cif = normalizeCif(input);
  if (!/^[0-9]{2,10}$/.test(cif) || cif.startsWith('0')) return false;
  return cifCheckDigit(cif.slice(0, -1)) === Number(cif[cif.length - 1]);
}

/** For tests and the sandbox: append the check digit to a body of 1–9 digits. */
export function withCheckDigit(body: string): string {
  return `${body}${cifCheckDigit(body)}`;
}
