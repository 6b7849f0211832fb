import type { Router } from 'express';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { temporalUnavailable } from './errors';
import { z } from './zod';

export interface HealthRoutesOptions {
  /** How long /readyz waits for Temporal; load balancers poll often and must not pile up. */
  readinessTimeoutMs?: number;
}

const Alive = z.object({ status: z.literal('ok') }).openapi('Alive');
const Ready = z.object({ status: z.literal('ready') }).openapi('Ready');

/**
 * /healthz: the process answers (restart it if not). /readyz: it can do useful work, i.e.
 * Temporal answers (take it out of rotation if not). Both public: probes carry no keys.
 */
export function mountHealthRoutes(router: Router, ctx: ApiContext, options: HealthRoutesOptions = {}): void {
  const timeoutMs = options.readinessTimeoutMs ?? 2_000;

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'public',
      path: '/healthz',
      summary: 'Liveness: the API process is up',
      tags: ['Operations'],
      responses: { 200: { description: 'Alive', content: { 'application/json': { schema: Alive } } } },
    },
    (_input, _req, res) => {
      res.json({ status: 'ok' });
    },
  );

  defineRoute(
    router,
    ctx,
    {
      method: 'get',
      permission: 'public',
      path: '/readyz',
      summary: 'Readiness: Temporal is reachable',
      tags: ['Operations'],
      responses: { 200: { description: 'Ready', content: { 'application/json': { schema: Ready } } } },
      errors: [503],
    },
    async (_input, _req, res) => {
      try {
        await ctx.client.withDeadline(Date.now() + timeoutMs, () => ctx.client.workflowService.getSystemInfo({}));
      } catch (err) {
        throw temporalUnavailable(err);
      }
      res.json({ status: 'ready' });
    },
  );
}
