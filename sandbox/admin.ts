import express, { type ErrorRequestHandler, type Router } from 'express';
import { z } from 'zod';
import { FaultRuleError } from './faults';
import type { SandboxContext, SandboxModule } from './module';

/**
 * /__sandbox/: the test harness's controls. No authentication: the sandbox listens on
 * loopback only. Mounted ahead of request counting and fault injection, so controlling
 * the sandbox never disturbs what a test asserts on.
 */

const faultsBody = z.strictObject({ rules: z.array(z.unknown()), seed: z.number().int().optional() });
const releaseBody = z.strictObject({ id: z.number().int().optional() });
const clockBody = z.union([
  z.strictObject({ advanceMs: z.number().finite() }),
  z.strictObject({ nowMs: z.number().finite() }),
  z.strictObject({ reset: z.literal(true) }),
]);

export function adminRouter(ctx: SandboxContext, modules: SandboxModule[], reset: () => void): Router {
  const { faults, state, clock, idp } = ctx;
  const router = express.Router();
  router.use(express.json({ limit: '256kb' }));

  router.get('/faults', (_req, res) => {
    res.json({ rules: faults.list(), held: faults.held() });
  });
  // Sandbox only: sends answers that `holdAnswer` rules keep back (all, or one by id).
  router.post('/faults/release', (req, res) => {
    const body = releaseBody.safeParse(req.body ?? {});
    if (!body.success) {
      res.status(400).json({ error: 'invalid_release', message: 'send {} or { id }' });
      return;
    }
    res.json({ released: faults.release(body.data.id) });
  });
  router.put('/faults', (req, res) => {
    const body = faultsBody.safeParse(req.body);
    if (!body.success) {
      res
        .status(400)
        .json({ error: 'invalid_fault_rules', issues: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) });
      return;
    }
    try {
      res.json({ rules: faults.set(body.data.rules, body.data.seed !== undefined ? { seed: body.data.seed } : {}) });
    } catch (err) {
      if (!(err instanceof FaultRuleError)) throw err;
      res.status(400).json({ error: 'invalid_fault_rules', issues: err.issues });
    }
  });
  router.delete('/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });

  router.get('/state', (_req, res) => {
    const now = clock.now();
    res.json({
      counters: state.snapshot(),
      clock: { now, iso: new Date(now).toISOString(), offsetMs: clock.offset },
      faults: faults.list(),
      oauth: idp.grants.summary(now),
    });
  });
  router.post('/reset', (_req, res) => {
    reset();
    res.status(204).end();
  });

  router.get('/clock', (_req, res) => {
    res.json({ now: clock.now(), offsetMs: clock.offset });
  });
  router.post('/clock', (req, res) => {
    const body = clockBody.safeParse(req.body);
    if (!body.success) {
      res.status(400).json({ error: 'invalid_clock', message: 'send { advanceMs } or { nowMs } or { reset: true }' });
      return;
    }
    if ('advanceMs' in body.data) clock.advance(body.data.advanceMs);
    else if ('nowMs' in body.data) clock.set(body.data.nowMs);
    else clock.reset();
    res.json({ now: clock.now(), offsetMs: clock.offset });
  });

  for (const m of modules) m.admin?.(router);

  // Unknown admin paths end here rather than falling through to the faulted, counted app.
  router.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no sandbox control at ${req.method} /__sandbox${req.path}` });
  });
  router.use(((err, _req, res, _next) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) ctx.logger.error({ err }, 'sandbox admin request failed');
    res.status(status).json({ error: status >= 500 ? 'internal' : 'bad_request', message: (err as Error).message });
  }) as ErrorRequestHandler);
  return router;
}
