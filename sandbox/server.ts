import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import pino, { type Logger } from 'pino';
import { adminRouter } from './admin';
import type { BanciwsSandboxOptions, RunningBanciws } from './banciws';
import { SandboxClock } from './clock';
import { FaultInjector, type FaultRule, type FaultRuleView, type HeldAnswerView } from './faults';
import { gatewayModule } from './gateway';
import type { EfacturaOptions, EfacturaService } from './efactura';
import type { EtransportOptions, EtransportService } from './etransport';
import type { SandboxContext, SandboxModule, SandboxModuleFactory } from './module';
import { oauthModule } from './oauth';
import { OAuthIdp } from './oauth/idp';
import type { OAuthOptions } from './oauth/options';
import { DEFAULT_SEED, SeededRandom } from './random';
import { SandboxState } from './state';
import { ANAF_SERVICES, type AnafServiceDescriptor, type SandboxPart } from '../services';
import { testOauthModule } from './testoauth';

export interface SandboxOptions {
  /** 0 picks a free port (tests). Default 9400. */
  port?: number;
  /** Default 127.0.0.1: the admin endpoints have no authentication. */
  host?: string;
  oauth?: Partial<OAuthOptions>;
  /** Silent when absent. */
  logger?: Logger;
  /** Base clock in ms; the sandbox clock adds its offset (clock.advance) on top. Default Date.now. */
  now?: () => number;
  /** Seed of the fault randomness (errorRate draws, WAF support ids). */
  seed?: number;
  /** Default ANAF_SERVICES (services/index.ts): whose simulations are mounted, each given `options[name]`. */
  services?: readonly AnafServiceDescriptor[];
  /** More simulated services, mounted after the services'. */
  modules?: SandboxModuleFactory[];
  /** e-Factura behaviour (processing delay, listing delay, quotas…). */
  efactura?: Partial<EfacturaOptions>;
  /** e-Transport behaviour (processing delay, listing delay, quotas, UIT validity). */
  etransport?: Partial<EtransportOptions>;
  /** Start the BANCIWS HTTPS listener (F5 front + the four methods) with these options. */
  banciws?: Partial<BanciwsSandboxOptions>;
}

/** The programmatic twin of /__sandbox/faults. */
export interface FaultControls {
  /** Replaces every rule; throws FaultRuleError on an invalid one. `seed` restarts the random sequence. */
  set(rules: FaultRule[], options?: { seed?: number }): FaultRuleView[];
  add(rule: FaultRule): FaultRuleView;
  list(): FaultRuleView[];
  clear(): void;
  /** Answers kept back by `holdAnswer` rules (sandbox only). */
  held(): HeldAnswerView[];
  /** Sends held answers, one by id or all; returns how many. */
  release(id?: number): number;
}

export interface RunningSandbox {
  /** http://host:port, no trailing slash. */
  url: string;
  port: number;
  host: string;
  state: SandboxState;
  clock: SandboxClock;
  faults: FaultControls;
  oauth: OAuthIdp;
  efactura: EfacturaService;
  etransport: EtransportService;
  /** Present when started with the `banciws` option. */
  banciws?: RunningBanciws;
  /** The RS512 verification key of every JWT the sandbox issues. */
  oauthPublicKey: KeyObject;
  /** Counters, fault rules, OAuth grants, runtime OAuth options and the clock back to a fresh start; keys and listening socket kept. */
  reset(): void;
  close(): Promise<void>;
}

export const BUILTIN_MODULES: SandboxModuleFactory[] = [oauthModule, testOauthModule, gatewayModule];

function countRequests(ctx: SandboxContext): RequestHandler {
  return (req, res, next) => {
    ctx.state.countRequest(req.method, req.path);
    const closed = ctx.state.openRequest(req.method, req.path, req.socket.remotePort);
    const started = performance.now();
    res.on('close', () => {
      closed(res.writableFinished);
      ctx.logger.debug(
        {
          method: req.method,
          path: req.path,
          status: res.headersSent ? res.statusCode : undefined,
          ms: Math.round(performance.now() - started),
        },
        'sandbox request',
      );
    });
    next();
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) logger.error({ err, method: req.method, path: req.path }, 'sandbox handler failed');
    if (res.headersSent) return res.destroy();
    res
      .status(status)
      .type('text/plain; charset=utf-8')
      .send(status >= 500 ? 'Internal Server Error' : String((err as Error).message));
  };
}

export function buildApp(ctx: SandboxContext, modules: SandboxModule[], reset: () => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/__sandbox', adminRouter(ctx, modules, reset));
  app.use(countRequests(ctx));
  app.use(ctx.faults.middleware());
  for (const m of modules) {
    const router = express.Router();
    m.routes(router);
    app.use(router);
  }
  app.use((req, res) => {
    res.status(404).type('text/plain; charset=utf-8').send(`Not Found: ${req.method} ${req.path}`);
  });
  app.use(errorHandler(ctx.logger));
  return app;
}

export async function createSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const clock = new SandboxClock(options.now);
  const seed = options.seed ?? DEFAULT_SEED;
  const random = new SeededRandom(seed);
  const state = new SandboxState();
  const faults = new FaultInjector({ random, state, logger, clock });
  const idp = await OAuthIdp.create(options.oauth, { clock, state, logger });
  const ctx: SandboxContext = { clock, state, random, logger, faults, idp };
  // The IdP above is the base every service checks bearers against; each service then mounts its own simulation.
  const parts = new Map<string, SandboxPart>();
  for (const service of options.services ?? ANAF_SERVICES) {
    const serviceOptions = (options as Record<string, unknown>)[service.name];
    const part = await service.sandbox?.(ctx, serviceOptions, { ...(options.host ? { host: options.host } : {}) });
    if (part) parts.set(service.name, part);
  }
  const modules = [
    ...BUILTIN_MODULES.map((factory) => factory(ctx)),
    ...[...parts.values()].map((p) => p.module),
    ...(options.modules ?? []).map((factory) => factory(ctx)),
  ];
  const serviceOf = (name: string) => parts.get(name)?.service;
  const banciws = serviceOf('banciws') as RunningBanciws | undefined;

  const reset = () => {
    state.reset();
    faults.clear();
    clock.reset();
    random.reseed(seed);
  };

  const host = options.host ?? '127.0.0.1';
  const server = http.createServer(buildApp(ctx, modules, reset));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9400, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    logger.warn({ host }, 'the sandbox listens beyond loopback; its /__sandbox controls have no authentication');
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    state,
    clock,
    faults: {
      set: (rules, opts) => faults.set(rules, opts),
      add: (rule) => faults.add(rule),
      list: () => faults.list(),
      clear: () => faults.clear(),
      held: () => faults.held(),
      release: (id) => faults.release(id),
    },
    oauth: idp,
    efactura: serviceOf('efactura') as EfacturaService,
    etransport: serviceOf('etransport') as EtransportService,
    ...(banciws ? { banciws } : {}),
    oauthPublicKey: idp.publicKey,
    reset,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        faults.close();
        for (const m of modules) m.close?.();
        const closed = new Promise<void>((res, rej) => server.close((err) => (err ? rej(err) : res())));
        Promise.all([closed, ...[...parts.values()].map((p) => p.close?.())]).then(() => resolve(), reject);
        // Keep-alive sockets would otherwise hold close() open for seconds.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
