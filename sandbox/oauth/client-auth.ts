import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { invalidClient, invalidRequest, singleParam } from './errors';
import type { OAuthIdp } from './idp';
import type { OAuthClientRegistration } from './options';

/**
 * Client authentication at the token endpoint: HTTP Basic (what ANAF's
 * procedure prescribes) or client_id/client_secret in the form. Using both is refused,
 * as RFC 6749 2.3 requires; a client_id repeated in the form next to Basic is tolerated
 * when it names the same client, since many libraries send it.
 */

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 6749 2.3.1 form-encodes id and secret before Basic; many clients do not. Accept both spellings. */
function spellings(raw: string): string[] {
  try {
    const decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
    return decoded === raw ? [raw] : [raw, decoded];
  } catch {
    return [raw];
  }
}

export function authenticateClient(req: Request, idp: OAuthIdp): OAuthClientRegistration {
  const body: unknown = req.body;
  const formId = singleParam(body, 'client_id');
  const formSecret = singleParam(body, 'client_secret');
  const header = req.headers.authorization;

  let ids: string[];
  let secrets: string[];
  if (header) {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!basic?.[1]) throw invalidClient('unsupported client authentication scheme; use HTTP Basic');
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidClient('malformed Basic credentials');
    if (formSecret !== undefined) throw invalidRequest('client credentials given both in the Authorization header and in the body');
    ids = spellings(decoded.slice(0, colon));
    secrets = spellings(decoded.slice(colon + 1));
    if (formId !== undefined && !ids.includes(formId)) throw invalidRequest('client_id in the body differs from the Basic credentials');
  } else if (formId !== undefined) {
    if (formSecret === undefined) throw invalidClient('client_secret is required');
    ids = [formId];
    secrets = [formSecret];
  } else {
    throw invalidClient('client authentication is required');
  }

  return registeredClient(idp, ids, secrets);
}

function registeredClient(idp: OAuthIdp, ids: string[], secrets: string[]): OAuthClientRegistration {
  const client = ids.map((id) => idp.client(id)).find((c) => c !== undefined);
  if (!client || !secrets.some((s) => sameSecret(s, client.clientSecret))) throw invalidClient('client authentication failed');
  return client;
}

/**
 * The revoke endpoint's client authentication: client_id and client_secret in the form, as
 * ANAF's procedure lists them there (its Authorization header carries the token, not the client).
 */
export function authenticateFormClient(body: unknown, idp: OAuthIdp): OAuthClientRegistration {
  const id = singleParam(body, 'client_id');
  const secret = singleParam(body, 'client_secret');
  if (id === undefined || secret === undefined) throw invalidClient('client_id and client_secret are required in the form');
  return registeredClient(idp, [id], [secret]);
}
