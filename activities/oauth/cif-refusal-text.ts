/** ANAF's refusal of a company, recognised in one place: at link time (cif-coverage.ts) and at call time (call-refusals.ts). */

/**
 * ANAF's words for "the person who signed in has no rights in SPV for this CIF": e-Factura's
 * listings answer `{"eroare":"Nu aveti drept in SPV pentru CIF=…"}` (or "Nu exista niciun CIF
 * pentru care sa aveti drept…" when they have none at all), e-Transport's `Errors[]` the same.
 */
export const CIF_NOT_COVERED_TEXT = /Nu aveti drept(ul)? in SPV|Nu exista niciun CIF/i;

/** ANAF's sentence that matched, without the JSON around it or the messages joined after it (for the authorization's events and the 422). */
export function excerptOf(text: string, pattern: RegExp): string {
  const m = pattern.exec(text);
  if (!m) return text.slice(0, 200);
  const end = text.slice(m.index).search(/["}\];\n]/);
  return text.slice(m.index, m.index + (end === -1 ? 200 : Math.min(end, 200)));
}
