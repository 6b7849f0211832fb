import { OpenAPIRegistry, OpenApiGeneratorV3, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { API_KEY_HEADER, API_KEY_SECURITY_SCHEME } from './auth';
import type { ApiContext } from './context';
import { ErrorResponseSchema } from './errors';

export const BEARER_SECURITY_SCHEME = 'BearerApiKey';

export function createRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', API_KEY_SECURITY_SCHEME, {
    type: 'apiKey',
    in: 'header',
    name: API_KEY_HEADER,
    description: 'Per-tenant API key. Every workflow started with it belongs to that tenant.',
  });
  registry.registerComponent('securitySchemes', BEARER_SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'The same API key as a bearer token (codec endpoints only, for the Temporal Web UI).',
  });
  registry.register('Error', ErrorResponseSchema);
  return registry;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON (MALFORMED_JSON) or invalid request (VALIDATION_FAILED)',
  401: 'API key missing (API_KEY_MISSING) or not valid (API_KEY_INVALID)',
  403: 'Forbidden',
  404: 'Not found (WORKFLOW_NOT_FOUND), also for resources of other tenants',
  409: 'Conflict',
  413: 'Request body too large (PAYLOAD_TOO_LARGE)',
  415: 'Unsupported media type (UNSUPPORTED_MEDIA_TYPE)',
  500: 'Unexpected error (INTERNAL)',
  503: 'Temporal not reachable (TEMPORAL_UNAVAILABLE)',
};

/** Documented error responses, all in the one error shape. */
export function errorResponses(...statuses: number[]): Record<string, ResponseConfig> {
  return Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: ERROR_DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema: ErrorResponseSchema } } },
    ]),
  );
}

export interface DocumentInfo {
  title: string;
  version: string;
  serverUrl: string;
}

export function generateOpenApiDocument(registry: OpenAPIRegistry, info: DocumentInfo) {
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: info.title,
      version: info.version,
      description:
        'Durable workflows for ANAF (e-Factura, e-Transport, BANCIWS). Every error has the shape ' +
        '`{ "error": { "code", "message", "details" } }`; branch on `code`. Every response carries `x-request-id`.',
    },
    servers: [{ url: info.serverUrl }],
  });
}

/**
 * GET /openapi.json and the Swagger UI at /docs. The document is generated on first use,
 * after every module has registered its routes. The UI loads the JSON by relative URL so it
 * keeps working behind a path-prefixing proxy, and gets its own, looser CSP (see security-headers.ts).
 */
export function mountOpenApi(router: Router, ctx: ApiContext, info: DocumentInfo): void {
  let document: ReturnType<typeof generateOpenApiDocument> | undefined;
  const documentOnce = () => (document ??= generateOpenApiDocument(ctx.registry, info));

  router.get('/openapi.json', (_req, res) => {
    res.json(documentOnce());
  });

  // Swagger UI's assets are referenced relatively ("./swagger-ui.css"), which resolves wrongly from "/docs".
  router.get('/docs', (req, res, next) => {
    if (req.originalUrl.split('?')[0] === '/docs') res.redirect(301, 'docs/');
    else next();
  });
  const uiOptions = { swaggerOptions: { url: '../openapi.json', persistAuthorization: false } };
  router.use(
    '/docs',
    ...swaggerUi.serveFiles(undefined, uiOptions),
    swaggerUi.setup(undefined, { ...uiOptions, customSiteTitle: info.title }),
  );
}
