import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { ApiKey } from '../lib/config';
import { unauthorized } from './errors';

export const API_KEY_HEADER = 'x-api-key';
/** Name of the security scheme in the OpenAPI document. */
export const API_KEY_SECURITY_SCHEME = 'ApiKeyAuth';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * API keys live here only as SHA-256 digests: a heap dump or a stray `console.log(store)`
 * does not hand out credentials. Comparing fixed-length digests with timingSafeEqual, and
 * always against every entry, keeps response timing independent of how much of a guess
 * was right and of which tenant it matched.
 */
export class ApiKeyStore {
  private readonly entries: ReadonlyArray<{ tenant: string; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.entries = keys.map((k) => ({ tenant: k.tenant, digest: sha256(k.key) }));
  }

  /** The tenant owning `presentedKey`, or undefined. */
  tenantFor(presentedKey: string): string | undefined {
    const digest = sha256(presentedKey);
    let tenant: string | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && tenant === undefined) tenant = entry.tenant;
    }
    return tenant;
  }

  get size(): number {
    return this.entries.length;
  }
}

export interface ApiKeySources {
  /** Also accept `Authorization: Bearer <api key>` (what the Temporal Web UI can send to a codec server). */
  bearer?: boolean;
  /** Also accept the key as this route parameter, for clients that cannot send headers. */
  pathParam?: string;
}

/** The key the request presents, by precedence header → bearer → path; undefined when none. */
export function presentedApiKey(req: Request, sources: ApiKeySources = {}): string | undefined {
  const header = req.get(API_KEY_HEADER);
  if (header) return header.trim() || undefined;
  if (sources.bearer) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (match?.[1]) return match[1];
  }
  if (sources.pathParam) {
    const fromPath = (req.params as Record<string, string | undefined>)[sources.pathParam];
    if (fromPath) return fromPath;
  }
  return undefined;
}

/** Rejects with 401 API_KEY_MISSING / API_KEY_INVALID; on success sets `res.locals.tenant`. */
export function requireApiKey(store: ApiKeyStore, sources: ApiKeySources = {}): RequestHandler {
  return (req, res, next) => {
    const key = presentedApiKey(req, sources);
    if (key === undefined) {
      next(unauthorized('API_KEY_MISSING', `Send your API key in the ${API_KEY_HEADER} header`));
      return;
    }
    const tenant = store.tenantFor(key);
    if (tenant === undefined) {
      next(unauthorized('API_KEY_INVALID', 'API key is not valid'));
      return;
    }
    res.locals.tenant = tenant;
    next();
  };
}

/** For handlers behind requireApiKey: the tenant, or a loud failure if the route forgot auth. */
export function tenantOf(res: { locals: { tenant?: string } }): string {
  const tenant = res.locals.tenant;
  if (!tenant) throw new Error('tenantOf() on a route without requireApiKey');
  return tenant;
}
