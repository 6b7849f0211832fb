import type { Response } from 'express';
import { bump, type SandboxState } from '../state';

/** An RFC 6749 error answer: `{ error, error_description }`, 400, or 401 for client authentication. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: 400 | 401 = 400,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }
}

export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);
export const invalidClient = (description: string) => new OAuthError('invalid_client', description, 401);

/** Token answers must never be cached by anything between the IdP and the client. */
export function noStore(res: Response): void {
  res.set({ 'cache-control': 'no-store', pragma: 'no-cache' });
}

export function sendOAuthError(res: Response, err: OAuthError, state: SandboxState): void {
  bump(state.counters.oauth.errors, err.error);
  noStore(res);
  if (err.status === 401) res.set('www-authenticate', 'Basic realm="logincert.anaf.ro", charset="UTF-8"');
  res.status(err.status).json({ error: err.error, error_description: err.description });
}

/**
 * One value of a form or query parameter. RFC 6749 forbids repeating a parameter; a
 * repeated one is an invalid_request rather than a silent pick.
 */
export function singleParam(source: unknown, name: string): string | undefined {
  if (!source || typeof source !== 'object') return undefined;
  const value = (source as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`parameter ${name} must be given once`);
  return value === '' ? undefined : value;
}
