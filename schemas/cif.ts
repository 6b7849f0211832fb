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

/**
 * CNP (cod numeric personal): an individual's 13-digit code, S YYMMDD JJ NNN C. ANAF takes it where an
 * individual may act: e-Transport's declarant and partners ("cif … maxim 13 cifre"; lista's
 * `pc_cod`/`tr_cod`: "codul fiscal … sau CNP"), an e-Factura buyer (B2C). C is a check digit: the
 * first 12 digits weighted by 279146358279, the sum modulo 11, and 10 written as 1. S (sex and
 * century, 1–9) and the month and day are checked too; the county code JJ is not (its list changes).
 */
const CNP_KEY = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];

export function cnpCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * CNP_KEY[i]!;
  const rest = sum % 11;
  return rest === 10 ? 1 : rest;
}

export function isValidCnp(input: string): boolean {
  const cnp = input.trim();
  if (!/^[1-9][0-9]{12}$/.test(cnp)) return false;
  const month = Number(cnp.slice(3, 5));
  const day = Number(cnp.slice(5, 7));
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  return cnpCheckDigit(cnp) === Number(cnp[12]);
}

/** A taxpayer ANAF knows: a company's CIF (check digit 753217532) or an individual's CNP. */
export function isValidCifOrCnp(input: string): boolean {
  return isValidCif(input) || isValidCnp(normalizeCif(input));
}
