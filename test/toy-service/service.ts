import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { tenantOf } from '../../api/auth';
import type { ApiContext } from '../../api/context';
import { defineRoute, jsonResponse } from '../../api/define-route';
import { z } from '../../api/zod';
import type { AnafServiceDescriptor } from '../../services';
import { createToyActivities } from './activities';
import type { toyEcho } from './workflow';

/** A whole service in one descriptor, as docs/adding-a-service.md describes: workflow, activity, route, sandbox route. */
export const toyService: AnafServiceDescriptor = {
  name: 'toy',
  searchAttributeValues: ['system'],
  workflows: ['toyEcho'],
  activities: ({ config }) => ({ anafCalls: createToyActivities(config) }),
  api: () => [mountToyRoutes],
  sandbox: async () => ({
    module: {
      name: 'toy',
      routes: (router) => {
        router.get('/toy/echo/:word', (req, res) => {
          res.json({ echo: String(req.params.word).toUpperCase() });
        });
      },
    },
  }),
};

function mountToyRoutes(router: Router, ctx: ApiContext): void {
  defineRoute(
    router,
    ctx,
    {
      method: 'post',
      permission: 'submit',
      path: '/v1/toy/echoes',
      summary: 'Echo a word through the toy workflow, activity and sandbox route',
      tags: ['Toy'],
      request: { body: z.object({ word: z.string().regex(/^[a-z]{1,20}$/) }) },
      responses: { 200: jsonResponse('What the sandbox echoed', z.object({ echo: z.string() })) },
    },
    async ({ body }, _req, res) => {
      const echo = await ctx.client.workflow.execute<typeof toyEcho>('toyEcho', {
        workflowId: `${tenantOf(res)}/toy/${randomUUID()}`,
        taskQueue: ctx.config.temporal.taskQueue,
        args: [body.word],
        workflowExecutionTimeout: '1 minute',
      });
      res.json({ echo });
    },
  );
}
