import { isHtml } from '../anaf/failures';
import type { AnafResponse } from '../anaf/http';

/**
 * What an answer of logincert.anaf.ro's /revoke says. Only REVOKED is a revocation: a plain
 * 2xx that is not a page and carries no error. Everything else leaves the tokens alive at ANAF.
 */
export type RevokeOutcome =
  | 'REVOKED'
  /** 3xx to the F5 APM (/my.policy, /vdesk/…): ANAF has been seen answering machine clients so; the IdP never saw the call. */
  | 'REDIRECTED_TO_GATEWAY'
  /** An HTML page (the APM logon page, the WAF's rejection): the gateway talking, whatever the status. */
  | 'GATEWAY_PAGE'
  /** 4xx, or an error in the body: ANAF refused the request. */
  | 'REJECTED'
  /** 5xx or 429: ANAF could not answer now. */
  | 'UNAVAILABLE'
  /** Any other redirect. */
  | 'UNEXPECTED_ANSWER'
  /** No answer (connection refused, reset, timeout): the call may or may not have reached ANAF. */
  | 'UNREACHABLE';

const GATEWAY_PATH = /^\/(my\.policy|vdesk\/)/;

function locationPath(res: AnafResponse, requestUrl: string): string | undefined {
  const location = Array.isArray(res.headers.location) ? res.headers.location[0] : res.headers.location;
  if (!location) return undefined;
  try {
    return new URL(location, requestUrl).pathname;
  } catch {
    return undefined;
  }
}

function carriesError(text: string): boolean {
  try {
    const json = JSON.parse(text) as unknown;
    return typeof json === 'object' && json !== null && ('error' in json || 'eroare' in json);
  } catch {
    return false;
  }
}

export function classifyRevokeAnswer(res: AnafResponse, requestUrl: string): RevokeOutcome {
  if (res.status >= 300 && res.status < 400) {
    return GATEWAY_PATH.test(locationPath(res, requestUrl) ?? '') ? 'REDIRECTED_TO_GATEWAY' : 'UNEXPECTED_ANSWER';
  }
  if (res.status === 429 || res.status >= 500) return 'UNAVAILABLE';
  const text = res.text();
  if (isHtml(res, text)) return 'GATEWAY_PAGE';
  if (res.status >= 400 || carriesError(text)) return 'REJECTED';
  return 'REVOKED';
}
