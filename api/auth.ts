import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { ApiKey, OperatorKey, TenantRole } from '../lib/config/config';
import { parseWorkflowId } from '../lib/temporal/workflow-ids';
import { ApiError, unauthorized, workflowNotFound } from './errors';

export const API_KEY_HEADER = 'x-api-key';
/** Name of the security scheme in the OpenAPI document. */
export const API_KEY_SECURITY_SCHEME = 'ApiKeyAuth';

/**
 * What a route needs, declared once with the route (defineRoute's `permission`):
 * - `public`: no key (health, OAuth browser redirects, docs);
 * - `read`: a tenant key of role `read` or `submit`;
 * - `submit`: a tenant key of role `submit`;
 * - `operate`: an operator key (OPERATOR_API_KEYS): the codec and decisions on stuck cases, any tenant's.
 * Operator keys get nothing else, tenant keys never `operate`: least privilege for each.
 */
export const PERMISSIONS = ['public', 'read', 'submit', 'operate'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export type Principal = { kind: 'tenant'; tenant: string; role: TenantRole } | { kind: 'operator'; name: string };

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * API keys (tenants' and operators') live here only as SHA-256 digests: a heap dump or a
 * stray `console.log(store)` does not hand out credentials. Comparing fixed-length digests
 * with timingSafeEqual, and always against every entry, keeps response timing independent
 * of how much of a guess was right and of whose key it matched.
 */
export class ApiKeyStore {
  private readonly entries: ReadonlyArray<{ principal: Principal; digest: Buffer }>;

  constructor(keys: readonly ApiKey[], operatorKeys: readonly OperatorKey[] = []) {
    this.entries = [
      ...keys.map((k) => ({ principal: { kind: 'tenant', tenant: k.tenant, role: k.role } as Principal, digest: sha256(k.key) })),
      ...operatorKeys.map((k) => ({ principal: { kind: 'operator', name: k.name } as Principal, digest: sha256(k.key) })),
    ];
  }

  /** Whose `presentedKey` it is, or undefined. */
  principalFor(presentedKey: string): Principal | undefined {
    const digest = sha256(presentedKey);
    let principal: Principal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && principal === undefined) principal = entry.principal;
    }
    return principal;
  }

  /** The tenant owning `presentedKey` (tenant keys only), or undefined. */
  tenantFor(presentedKey: string): string | undefined {
    const principal = this.principalFor(presentedKey);
    return principal?.kind === 'tenant' ? principal.tenant : undefined;
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

export function allows(permission: Exclude<Permission, 'public'>, principal: Principal): boolean {
  if (permission === 'operate') return principal.kind === 'operator';
  if (principal.kind !== 'tenant') return false;
  return permission === 'read' || principal.role === 'submit';
}

const forbidden = (permission: Exclude<Permission, 'public'>) =>
  new ApiError(
    403,
    'FORBIDDEN',
    permission === 'operate'
      ? 'This route takes an operator key (OPERATOR_API_KEYS)'
      : permission === 'submit'
        ? 'This key may not do this: it needs a tenant key with role submit'
        : 'This key may not do this: it needs a tenant key',
  );

/**
 * 401 API_KEY_MISSING / API_KEY_INVALID without a known key, 403 FORBIDDEN when the key's
 * role does not carry `permission`. Sets `res.locals.principal`, and `res.locals.tenant` for
 * a tenant key; for an operator acting on a tenant's case, the tenant whose id `idParam` names.
 */
export function requireApiKey(
  store: ApiKeyStore,
  permission: Exclude<Permission, 'public'>,
  sources: ApiKeySources = {},
  idParam = 'id',
): RequestHandler {
  return (req, res, next) => {
    const key = presentedApiKey(req, sources);
    if (key === undefined) {
      next(unauthorized('API_KEY_MISSING', `Send your API key in the ${API_KEY_HEADER} header`));
      return;
    }
    const principal = store.principalFor(key);
    if (principal === undefined) {
      next(unauthorized('API_KEY_INVALID', 'API key is not valid'));
      return;
    }
    if (!allows(permission, principal)) {
      next(forbidden(permission));
      return;
    }
    res.locals.principal = principal;
    if (principal.kind === 'tenant') res.locals.tenant = principal.tenant;
    else {
      res.locals.operator = principal.name;
      const id = (req.params as Record<string, string | undefined>)[idParam];
      if (id !== undefined) {
        const tenant = parseWorkflowId(id)?.tenant;
        if (!tenant) {
          next(workflowNotFound());
          return;
        }
        res.locals.tenant = tenant;
      }
    }
    next();
  };
}

/** For handlers behind requireApiKey: the tenant, or a loud failure if the route forgot auth. */
export function tenantOf(res: { locals: { tenant?: string } }): string {
  const tenant = res.locals.tenant;
  if (!tenant) throw new Error('tenantOf() on a route without requireApiKey');
  return tenant;
}
