import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppConfig, OAuthCredentialSet, OAuthScope } from '../lib/config/config';

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

/**
 * A legacy `state` (`tenant.requestId`): the tenant lets the public callback find the request.
 * With `secret`, a new request's state: `tenant.requestId.secret`, where only the secret is
 * unguessable by someone who saw the request id (answers, workflow ids, logs).
 */
export function stateFor(tenant: string, requestId: string, secret?: string): string {
  return secret ? `${tenant}.${requestId}.${secret}` : `${tenant}.${requestId}`;
}

/** A state, or a short link's token (same shape): `tenant.requestId[.secret]`. */
export function parseState(state: string): { tenant: string; requestId: string; secret?: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]{0,62})\.([A-Za-z0-9_-]{32})(?:\.([A-Za-z0-9_-]{32}))?$/.exec(state);
  if (!m) return undefined;
  return { tenant: m[1]!, requestId: m[2]!, ...(m[3] ? { secret: m[3] } : {}) };
}

/** What the request workflow keeps of a state: its sha256 (hex). */
export function stateHash(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

/** Hashes compared in time that does not depend on where they differ. */
export function sameStateHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The state a short link's secret leads to: one-way, so neither the link nor the hash in history gives the state back. */
function stateSecretOf(linkSecret: string): string {
  return createHash('sha256').update(`anaf-flow oauth state\n${linkSecret}`).digest('base64url').slice(0, 32);
}

/** The state a short link's token (`tenant.requestId.linkSecret`) forwards with, or undefined for a legacy link. */
export function stateOfLink(token: string): string | undefined {
  const p = parseState(token);
  return p?.secret ? stateFor(p.tenant, p.requestId, stateSecretOf(p.secret)) : undefined;
}

/** A new request's secrets: the short link's token, the state it leads to, and the state's hash (the only part Temporal keeps). */
export function newSignInSecrets(tenant: string, requestId: string): { linkToken: string; state: string; stateHash: string } {
  const linkToken = stateFor(tenant, requestId, newRequestId());
  const state = stateOfLink(linkToken)!;
  return { linkToken, state, stateHash: stateHash(state) };
}

/** Without `state`: the URL a new request keeps, to which its short link adds the state. */
export function authorizeUrl(oauthBaseUrl: string, set: Pick<OAuthCredentialSet, 'clientId' | 'redirectUri'>, state?: string): string {
  const url = new URL(`${oauthBaseUrl}/authorize`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', set.clientId);
  url.searchParams.set('redirect_uri', set.redirectUri);
  url.searchParams.set('token_content_type', 'jwt');
  if (state !== undefined) url.searchParams.set('state', state);
  return url.toString();
}

/**
 * Served by the host of the callback URL: opening it proves the user's browser reaches
 * our callback host before ANAF sends it there with a 60-second code.
 */
export function shortUrlFor(set: Pick<OAuthCredentialSet, 'redirectUri'>, linkToken: string): string {
  const callback = new URL(set.redirectUri);
  const base = callback.pathname.replace(/\/callback\/?$/, '');
  return `${callback.origin}${base}/go/${encodeURIComponent(linkToken)}`;
}

/** ANAF's authorize URL kept without the state, with it. */
export function withState(signInUrl: string, state: string): string {
  const url = new URL(signInUrl);
  url.searchParams.set('state', state);
  return url.toString();
}

/**
 * A new request's init fields and links: the workflow gets '' for the state and the links that carry
 * it, plus the state's hash and ANAF's URL without the state; the creator's answer gets the links.
 */
export function newRequestLinks(
  oauthBaseUrl: string,
  set: Pick<OAuthCredentialSet, 'clientId' | 'redirectUri'>,
  tenant: string,
  requestId: string,
): { init: { state: ''; authorizeUrl: ''; shortUrl: ''; stateHash: string; signInUrl: string }; url: string; shortUrl: string } {
  const secrets = newSignInSecrets(tenant, requestId);
  const signInUrl = authorizeUrl(oauthBaseUrl, set);
  return {
    init: { state: '', authorizeUrl: '', shortUrl: '', stateHash: secrets.stateHash, signInUrl },
    url: withState(signInUrl, secrets.state),
    shortUrl: shortUrlFor(set, secrets.linkToken),
  };
}
