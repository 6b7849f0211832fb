import type { OAuthScope } from '../../workflows/oauth/types';
import { anafBearerCall } from '../anaf/bearer-call';
import type { TokenCallResult } from './token-provider';
import { CIF_NOT_COVERED_TEXT, excerptOf } from './cif-refusal-text';

/** ANAF's documented "no messages" answers of both listings (the whole sentence: other wording proves nothing). */
const NO_MESSAGES_TEXT = /^Nu exista mesaje (in ultimele \d+ zile|in intervalul selectat)\.?$/i;

/**
 * `inconclusive`: ANAF answered something that is neither a listing nor its refusal for the CIF
 * (a quota, a changed wording, a gateway page read as JSON): the CIF is not linked, the caller may try again.
 */
export type CoverageAnswer = { covered: true } | { covered: false; reason: string; inconclusive?: true };

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
export async function coverageCall(
  apiBaseUrl: string,
  scope: OAuthScope,
  cif: string,
  token: string,
): Promise<TokenCallResult<CoverageAnswer>> {
  const operation = scope === 'ETRANSPORT' ? 'e-Transport lista (CIF check)' : 'e-Factura listaMesajeFactura (CIF check)';
  const r = await anafBearerCall(
    { method: 'GET', url: coverageUrl(apiBaseUrl, scope, cif), token, accept: 'application/json', timeoutMs: 30_000 },
    { operation, idempotent: true },
    // A refusal for this CIF, or an empty listing ("Nu exista mesaje…"): both answers, not failures.
    (problem) => CIF_NOT_COVERED_TEXT.test(problem.message) || /^Nu exista mesaje/i.test(problem.message),
  );
  if (!r.ok) return r;
  return { ok: true, value: coverageOf(r.res.text()) };
}

/**
 * What a listing answer proves. Covered only by a listing (`mesaje` array) or ANAF's documented
 * "no messages" sentence; ANAF's refusal for the CIF is not covered; anything else (e-Transport's
 * `Errors[]` with another message, e-Factura's `eroare` with another text, no JSON) is inconclusive,
 * never covered: linking on it would route a company's filings to a token that may not serve it.
 */
export function coverageOf(text: string): CoverageAnswer {
  if (CIF_NOT_COVERED_TEXT.test(text)) return { covered: false, reason: excerptOf(text, CIF_NOT_COVERED_TEXT) };
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (!json) return inconclusive(`not a listing: ${text.slice(0, 120)}`);
  const errors = [
    ...(typeof json.eroare === 'string' ? [json.eroare] : []),
    ...(Array.isArray(json.Errors)
      ? json.Errors.map((e) => String((e as { errorMessage?: unknown })?.errorMessage ?? JSON.stringify(e)))
      : []),
  ];
  if (errors.length > 0) {
    return errors.every((m) => NO_MESSAGES_TEXT.test(m.trim())) ? { covered: true } : inconclusive(errors.join('; ').slice(0, 200));
  }
  return Array.isArray(json.mesaje) ? { covered: true } : inconclusive('the answer holds no listing');
}

const inconclusive = (what: string): CoverageAnswer => ({
  covered: false,
  inconclusive: true,
  reason: `ANAF's answer proves nothing about this CIF (${what})`,
});
