import { randomBytes } from 'node:crypto';
import type { AppConfig, OAuthCredentialSet, OAuthScope } from './config';

export class CredentialSetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialSetNotFoundError';
  }
}

/** What choosing a set needs to know of it (env sets and run-time ones alike). */
export type CredentialSetChoice = Pick<OAuthCredentialSet, 'id' | 'clientId' | 'redirectUri' | 'scopes'> & { retiredAt?: string };

/**
 * The credential set an authorization request uses: the one registered with the
 * requested callback URL, else the first (main) set that serves the scope. Every later
 * refresh of the resulting authorization uses the same set, since ANAF binds tokens to
 * the client that obtained them. A retired set is never chosen for a new sign-in.
 */
export function pickCredentialSetFrom<S extends CredentialSetChoice>(all: readonly S[], scope: OAuthScope, oauthCallback?: string): S {
  const sets = all.filter((s) => s.scopes.includes(scope) && !s.retiredAt);
  const set = oauthCallback ? sets.find((s) => s.redirectUri === oauthCallback) : sets[0];
  if (!set) {
    throw new CredentialSetNotFoundError(
      oauthCallback
        ? `no OAuth credential set for scope ${scope} is registered with callback ${oauthCallback}`
        : `no OAuth credential set serves scope ${scope}: set ANAF_CLIENT_ID/ANAF_CLIENT_SECRET/ANAF_REDIRECT_URI or ANAF_OAUTH_CLIENTS`,
    );
  }
  return set;
}

/** Among the sets from env only. */
export function pickCredentialSet(config: Pick<AppConfig, 'oauth'>, scope: OAuthScope, oauthCallback?: string): OAuthCredentialSet {
  return pickCredentialSetFrom(config.oauth.credentialSets, scope, oauthCallback);
}

/** 192 random bits: the part of `state` nobody can guess. */
export function newRequestId(): string {
  return randomBytes(24).toString('base64url');
}

/** `state` names the tenant (so the public callback finds the request) and the unguessable request id. */
export function stateFor(tenant: string, requestId: string): string {
  return `${tenant}.${requestId}`;
}

export function parseState(state: string): { tenant: string; requestId: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]{0,62})\.([A-Za-z0-9_-]{32})$/.exec(state);
  return m ? { tenant: m[1]!, requestId: m[2]! } : undefined;
}

export function authorizeUrl(oauthBaseUrl: string, set: Pick<OAuthCredentialSet, 'clientId' | 'redirectUri'>, state: string): string {
  const url = new URL(`${oauthBaseUrl}/authorize`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', set.clientId);
  url.searchParams.set('redirect_uri', set.redirectUri);
  url.searchParams.set('token_content_type', 'jwt');
  url.searchParams.set('state', state);
  return url.toString();
}

/**
 * Served by the host of the callback URL: opening it proves the user's browser reaches
 * our callback host before ANAF sends it there with a 60-second code.
 */
export function shortUrlFor(set: Pick<OAuthCredentialSet, 'redirectUri'>, state: string): string {
  const callback = new URL(set.redirectUri);
  const base = callback.pathname.replace(/\/callback\/?$/, '');
  return `${callback.origin}${base}/go/${encodeURIComponent(state)}`;
}
