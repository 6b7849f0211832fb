import type { Request, RequestHandler } from 'express';
import type { SandboxContext } from '../module';
import type { BearerIdentity } from './idp';

/**
 * api.anaf.ro's gate, for every protected sandbox route (TestOauth, e-Factura,
 * e-Transport): a live access token from the sandbox IdP, or 403, which is what ANAF
 * documents for an unauthorized request. Handlers read the caller with bearerOf(req).
 */

const identities = new WeakMap<Request, BearerIdentity>();

export function bearerOf(req: Request): BearerIdentity {
  const identity = identities.get(req);
  if (!identity) throw new Error('bearerOf: the route is not behind requireBearer');
  return identity;
}

export function requireBearer({ idp, state }: Pick<SandboxContext, 'idp' | 'state'>): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const check = match?.[1] ? await idp.checkBearer(match[1]) : ({ ok: false, reason: 'no bearer token' } as const);
    if (!check.ok) {
      state.counters.oauth.bearerRejected += 1;
      res.status(403).json({ status: 403, error: 'Forbidden', message: check.reason });
      return;
    }
    state.counters.oauth.bearerAccepted += 1;
    identities.set(req, check.identity);
    next();
  };
}
