import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { z } from 'zod';
import { API_KEY_SECURITY_SCHEME, type ApiKeySources, type Permission, requireApiKey } from './auth';
import type { ApiContext } from './context';
import { ApiError } from './errors';
import { BEARER_SECURITY_SCHEME, errorResponses } from './openapi';
import { type RequestSchemas, type ValidatedRequest, validateRequest } from './validate';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec<S extends RequestSchemas> {
  method: HttpMethod;
  /** OpenAPI style (`/v1/things/{id}`); converted to Express's `:id`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  operationId?: string;
  /**
   * Who may call it (auth.ts PERMISSIONS): `public`, `read`, `submit` or `operate`. Declared
   * here, with the route, and nowhere else; /openapi.json shows it as `x-permission`.
   */
  permission: Permission;
  /** Where else than `x-api-key` the key may come from (the codec: Bearer, or the path in the sandbox). */
  keySources?: ApiKeySources;
  /** Checked before anything else (e.g. perIpRateLimit on public routes); its refusal is a 429 RATE_LIMITED. */
  rateLimit?: RequestHandler;
  request?: S & {
    /** Overrides ctx.jsonBodyLimit for this route, e.g. '4mb'. */
    bodyLimit?: string;
    bodyDescription?: string;
  };
  /** Success responses; the standard error responses are added from what the route does. */
  responses: Record<number, ResponseConfig>;
  /** Further error statuses this route answers with (404, 503, …), documented in the error shape. */
  errors?: number[];
}

/** A JSON success response for `spec.responses`: `{ 200: jsonResponse('The submission', SubmissionSchema) }`. */
export function jsonResponse(description: string, schema: z.ZodType): ResponseConfig {
  return { description, content: { 'application/json': { schema } } };
}

export type RouteHandler<S extends RequestSchemas> = (input: ValidatedRequest<S>, req: Request, res: Response) => void | Promise<void>;

const METHODS_WITH_BODY: ReadonlySet<HttpMethod> = new Set(['post', 'put', 'patch']);

const toExpressPath = (openApiPath: string) => openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function requireJsonContentType(): RequestHandler {
  return (req, _res, next) => {
    // No body at all is left to validation ("body: expected object"); a non-JSON one is refused here.
    if (hasBody(req) && !req.is('application/json')) {
      next(new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json'));
      return;
    }
    next();
  };
}

/**
 * The one way routes are declared: a single spec mounts the Express handler and documents
 * it in the OpenAPI registry, and the same zod schemas validate the request — so the
 * document cannot drift from what the server accepts. The chain is
 * auth → (415 check) → JSON body (size-limited) → validation → handler.
 */
export function defineRoute<S extends RequestSchemas>(router: Router, ctx: ApiContext, spec: RouteSpec<S>, handler: RouteHandler<S>): void {
  // Undeclared (only possible around the type checker) means the most a tenant key can need; /openapi.json then lacks x-permission.
  const permission: Permission = spec.permission ?? 'submit';
  const isPublic = permission === 'public';
  const requestSpec = spec.request;
  const schemas: RequestSchemas = {
    params: requestSpec?.params,
    query: requestSpec?.query,
    headers: requestSpec?.headers,
    body: requestSpec?.body,
  };
  const chain: RequestHandler[] = spec.rateLimit ? [spec.rateLimit] : [];

  if (permission !== 'public') chain.push(requireApiKey(ctx.apiKeys, permission, spec.keySources));
  if (schemas.body) chain.push(requireJsonContentType());
  if (METHODS_WITH_BODY.has(spec.method)) {
    // Routes without a body schema still parse (and bound) a JSON body, so a broken or huge
    // one is refused with the usual 400/413 instead of being silently ignored.
    chain.push(express.json({ limit: requestSpec?.bodyLimit ?? ctx.jsonBodyLimit }));
  }
  chain.push(async (request, response) => {
    const input = validateRequest(request, spec.request ?? ({} as S));
    await handler(input, request, response);
  });
  router[spec.method](toExpressPath(spec.path), ...chain);

  const errorStatuses = new Set<number>(spec.errors ?? []);
  if (schemas.params || schemas.query || schemas.headers || schemas.body || METHODS_WITH_BODY.has(spec.method)) errorStatuses.add(400);
  if (!isPublic) errorStatuses.add(401);
  if (!isPublic) errorStatuses.add(403);
  if (METHODS_WITH_BODY.has(spec.method)) errorStatuses.add(413);
  if (spec.rateLimit) errorStatuses.add(429);
  if (schemas.body) errorStatuses.add(415);
  errorStatuses.add(500);

  const security: RouteConfig['security'] = isPublic
    ? []
    : spec.keySources?.bearer
      ? [{ [API_KEY_SECURITY_SCHEME]: [] }, { [BEARER_SECURITY_SCHEME]: [] }]
      : [{ [API_KEY_SECURITY_SCHEME]: [] }];

  const bodySchema = schemas.body as z.ZodType | undefined;
  ctx.registry.registerPath({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    operationId: spec.operationId,
    security,
    ...(spec.permission ? { 'x-permission': spec.permission } : {}),
    request: {
      params: schemas.params,
      query: schemas.query,
      headers: schemas.headers,
      body: bodySchema
        ? { required: true, description: requestSpec?.bodyDescription, content: { 'application/json': { schema: bodySchema } } }
        : undefined,
    },
    responses: {
      ...spec.responses,
      ...errorResponses(...[...errorStatuses].sort((a, b) => a - b)),
    },
  });
}

/** `defineRoute` with one module's router, context and tags bound, so each route states only what is its own. */
export type RouteDefiner = <S extends RequestSchemas>(spec: Omit<RouteSpec<S>, 'tags'>, handler: RouteHandler<S>) => void;

export function routeDefiner(router: Router, ctx: ApiContext, tags: string[]): RouteDefiner {
  return (spec, handler) => defineRoute(router, ctx, { ...spec, tags }, handler);
}
