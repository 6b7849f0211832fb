import type { RequestHandler, Router } from 'express';
import {
  enableProcessMetrics,
  httpRequestDuration,
  httpRequests,
  METRICS_CONTENT_TYPE,
  metricsRequestAllowed,
  metricsText,
} from '../lib/observability/metrics';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError } from './errors';
import { z } from './zod';

/** The route template (`/v1/efactura/invoices/:id`), never the URL: ids and query strings stay out of the labels. */
function routeTemplate(req: Parameters<RequestHandler>[0]): string {
  const route = (req as { route?: { path?: unknown } }).route;
  return route?.path !== undefined ? `${req.baseUrl}${String(route.path)}` : 'unmatched';
}

/** One counter and one latency histogram per request, labelled by method, route template and status. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const stop = httpRequestDuration.startTimer();
    res.on('finish', () => {
      const route = routeTemplate(req);
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      stop({ method: req.method, route });
    });
    next();
  };
}

/**
 * GET /metrics in Prometheus text format: the API's request series and, in the same process
 * as the workers (tests, single-process deployments), the worker series too. Wants
 * METRICS_TOKEN when set; outside the sandbox it is closed without one. The series carry no tenants, CIFs or ids.
 */
export function mountMetricsRoutes(router: Router, ctx: ApiContext): void {
  enableProcessMetrics();
  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'public',
      path: '/metrics',
      summary: 'Prometheus metrics (Bearer METRICS_TOKEN when configured)',
      tags: ['Operations'],
      responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
    },
    async (_input, req, res) => {
      // Outside the sandbox the series are an operator's: without a configured token nobody reads them.
      if (!ctx.config.metrics.token && ctx.config.anaf.env !== 'sandbox') {
        throw new ApiError(403, 'METRICS_TOKEN_NOT_CONFIGURED', 'GET /metrics is closed outside the sandbox until METRICS_TOKEN is set');
      }
      if (!metricsRequestAllowed(req.get('authorization'), ctx.config.metrics.token)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new ApiError(401, 'METRICS_TOKEN_INVALID', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
      }
      res.type(METRICS_CONTENT_TYPE).send(await metricsText());
    },
  );
}
