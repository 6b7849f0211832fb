import { ApplicationFailure } from '@temporalio/activity';
import type { OAuthCredentialSet } from '../../lib/config/config';
import { detectProblem, failureForError, failureForProblem } from '../anaf/failures';
import { type AnafResponse, anafFetch, basicAuth } from '../anaf/http';
import { classifyRevokeAnswer, type RevokeOutcome } from './revoke-answer';

/** ANAF's token endpoint answer, as plaintext; it never leaves the activity unsealed. */
export interface TokenAnswer {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
}

export const OAUTH_FAILURES = {
  INVALID_GRANT: 'OAuthInvalidGrant',
  INVALID_CLIENT: 'OAuthInvalidClient',
  INVALID_ANSWER: 'OAuthInvalidAnswer',
} as const;

function oauthError(res: AnafResponse): { error: string; description?: string } | undefined {
  if (!res.contentType.includes('json')) return undefined;
  try {
    const json = JSON.parse(res.text()) as { error?: unknown; error_description?: unknown };
    if (typeof json.error !== 'string') return undefined;
    return { error: json.error, ...(typeof json.error_description === 'string' ? { description: json.error_description } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The logincert.anaf.ro token endpoint: HTTP Basic client authentication, a form body,
 * `token_content_type=jwt` so the access token carries its own expiry.
 */
export class AnafOAuthClient {
  constructor(private readonly oauthBaseUrl: string) {}

  private async tokenRequest(set: OAuthCredentialSet, form: Record<string, string>, operation: string): Promise<TokenAnswer> {
    let res: AnafResponse;
    try {
      res = await anafFetch({
        method: 'POST',
        url: `${this.oauthBaseUrl}/token`,
        headers: {
          authorization: basicAuth(set.clientId, set.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ ...form, token_content_type: 'jwt' }).toString(),
        timeoutMs: 20_000,
      });
    } catch (err) {
      // A code or refresh token is as good as spent once sent; ANAF's refresh tokens stay
      // reusable, so asking again is the only way to learn the new pair.
      throw failureForError(err, { operation, idempotent: true });
    }
    const oauth = oauthError(res);
    if (oauth) {
      const message = `${operation}: ${oauth.error}${oauth.description ? ` (${oauth.description})` : ''}`;
      if (oauth.error === 'invalid_grant') {
        throw ApplicationFailure.create({ type: OAUTH_FAILURES.INVALID_GRANT, message, nonRetryable: true });
      }
      if (oauth.error === 'invalid_client' || oauth.error === 'unauthorized_client') {
        throw ApplicationFailure.create({ type: OAUTH_FAILURES.INVALID_CLIENT, message, nonRetryable: true });
      }
      if (res.status < 500 && res.status !== 429) {
        throw ApplicationFailure.create({ type: OAUTH_FAILURES.INVALID_ANSWER, message, nonRetryable: true });
      }
    }
    const problem = detectProblem(res);
    if (problem) throw failureForProblem(problem, { operation, idempotent: true });
    let json: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(res.text()) as typeof json;
    } catch {
      throw ApplicationFailure.create({ type: OAUTH_FAILURES.INVALID_ANSWER, message: `${operation}: the answer is not JSON` });
    }
    if (typeof json.access_token !== 'string' || !json.access_token) {
      throw ApplicationFailure.create({ type: OAUTH_FAILURES.INVALID_ANSWER, message: `${operation}: no access_token in the answer` });
    }
    return {
      accessToken: json.access_token,
      ...(typeof json.refresh_token === 'string' && json.refresh_token ? { refreshToken: json.refresh_token } : {}),
      ...(typeof json.expires_in === 'number' || typeof json.expires_in === 'string' ? { expiresIn: Number(json.expires_in) } : {}),
    };
  }

  exchangeCode(set: OAuthCredentialSet, code: string): Promise<TokenAnswer> {
    return this.tokenRequest(set, { grant_type: 'authorization_code', code, redirect_uri: set.redirectUri }, 'OAuth code exchange');
  }

  refresh(set: OAuthCredentialSet, refreshToken: string): Promise<TokenAnswer> {
    return this.tokenRequest(set, { grant_type: 'refresh_token', refresh_token: refreshToken }, 'OAuth token refresh');
  }

  /**
   * ANAF's revoke, as its procedure gives it: the token as `Authorization: Bearer`, and a form
   * with client_id, client_secret and `access_token=` or `refresh_token=` the token. What ANAF
   * answered comes back classified (a gateway's redirect or page is not a revocation), never thrown.
   */
  async revoke(set: OAuthCredentialSet, token: string, kind: 'access_token' | 'refresh_token'): Promise<RevokeOutcome> {
    const url = `${this.oauthBaseUrl}/revoke`;
    let res: AnafResponse;
    try {
      res = await anafFetch({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ client_id: set.clientId, client_secret: set.clientSecret, [kind]: token }).toString(),
        timeoutMs: 20_000,
      });
    } catch {
      return 'UNREACHABLE';
    }
    return classifyRevokeAnswer(res, url);
  }
}
