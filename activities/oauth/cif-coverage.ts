import type { OAuthScope } from '../../workflows/oauth/types';
import { anafBearerCall } from '../anaf/bearer-call';
import type { TokenCallResult } from './token-provider';

/**
 * ANAF's words for "the person who signed in has no rights in SPV for this CIF": e-Factura's
 * listings answer `{"eroare":"Nu aveti drept in SPV pentru CIF=…"}` (or "Nu exista niciun CIF
 * pentru care sa aveti drept…" when they have none at all), e-Transport's `Errors[]` the same.
 */
export const CIF_NOT_COVERED_TEXT = /Nu aveti drept(ul)? in SPV|Nu exista niciun CIF/i;

export type CoverageAnswer = { covered: true } | { covered: false; reason: string };

/**
 * The cheapest call that proves a token may act for a CIF, per scope: e-Factura's simple listing
 * of the last day (`listaMesajeFactura?zile=1&cif=`), e-Transport's `lista/1/{cif}`. Both only read.
 */
export function coverageUrl(apiBaseUrl: string, scope: OAuthScope, cif: string): string {
  const base = apiBaseUrl.replace(/\/+$/, '');
  if (scope === 'ETRANSPORT') return `${base}/ETRANSPORT/ws/v1/lista/1/${encodeURIComponent(cif)}`;
  return `${base}/FCTEL/rest/listaMesajeFactura?${new URLSearchParams({ zile: '1', cif }).toString()}`;
}

/** One coverage call with `token`; ANAF's refusal for the CIF is an answer, every other problem is thrown classified. */
export async function coverageCall(apiBaseUrl: string, scope: OAuthScope, cif: string, token: string): Promise<TokenCallResult<CoverageAnswer>> {
  const operation = scope === 'ETRANSPORT' ? 'e-Transport lista (CIF check)' : 'e-Factura listaMesajeFactura (CIF check)';
  const r = await anafBearerCall(
    { method: 'GET', url: coverageUrl(apiBaseUrl, scope, cif), token, accept: 'application/json', timeoutMs: 30_000 },
    { operation, idempotent: true },
    // A refusal for this CIF, or an empty listing ("Nu exista mesaje…"): both answers, not failures.
    (problem) => CIF_NOT_COVERED_TEXT.test(problem.message) || /^Nu exista mesaje/i.test(problem.message),
  );
  if (!r.ok) return r;
  const text = r.res.text();
  if (CIF_NOT_COVERED_TEXT.test(text)) return { ok: true, value: { covered: false, reason: excerptOf(text, CIF_NOT_COVERED_TEXT) } };
  return { ok: true, value: { covered: true } };
}

/** ANAF's sentence that matched, without the JSON around it (for the authorization's events and the 422). */
function excerptOf(text: string, pattern: RegExp): string {
  const m = pattern.exec(text);
  if (!m) return text.slice(0, 200);
  const end = text.slice(m.index).search(/["}\]\n]/);
  return text.slice(m.index, m.index + (end === -1 ? 200 : Math.min(end, 200)));
}
