import { constants } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response, type Router } from 'express';
import {
  buildDownloadAnswer,
  buildListAnswer,
  buildStatusAnswer,
  buildUploadAnswer,
  parseDownloadRequest,
  parseListRequest,
  parseStatusRequest,
  parseUploadRequest,
} from '../../schemas/banciws/xml';
import { anafMinute } from '../efactura/time';
import type { SandboxContext } from '../module';
import { createSandboxPki, type SandboxPki } from './certificates';
import { F5Gateway } from './gateway';
import { upstreamErrorPage } from './gateway-pages';
import { type BanciwsSandboxOptions, DEFAULT_BANCIWS_OPTIONS } from './options';
import { BanciwsService } from './service';

/**
 * The simulated financiart.anaf.ro: its own HTTPS listener (TLS 1.2 at most, so the F5
 * front can renegotiate to ask for the client certificate) with its own CA, the gateway
 * (gateway.ts) and behind it the four BANCIWS methods (service.ts). Fault rules of the
 * sandbox apply here too (after the gateway, before the service: a `status`/`html`/`body`
 * rule answers instead of the service; `resetAfterReceive` loses the answer after the
 * service processed the request). `failAfterProcessing` is the other half: the service
 * processes the call, then a proxy's HTML 502/504 page replaces its answer.
 */

export { DEFAULT_BANCIWS_OPTIONS, type BanciwsSandboxOptions } from './options';
export { BanciwsService, MARKER_SIGNATURE_ERRORS, NO_MESSAGES, type BanciwsMessage, type BanciwsUpload } from './service';
export { F5Gateway, type GatewayCounters } from './gateway';
export { createCa, createSandboxPki, issueClientCertificate, issueServerCertificate, type PemPair, type SandboxPki } from './certificates';
export { signedPdf } from './signed-pdf';

export interface RunningBanciws {
  /** https://host:port/BANCIWS/rest */
  baseUrl: string;
  port: number;
  pki: SandboxPki;
  gateway: F5Gateway;
  service: BanciwsService;
  options: BanciwsSandboxOptions;
  /** The next `times` calls of `method` are processed by the service, then answered with an HTML `status` page (default 502, once). */
  failAfterProcessing(rule: AfterProcessingFault): void;
  /** /__sandbox/banciws/…: state, expire-sessions, requests, misdated-receipts, fail-after-processing. */
  adminRouter: Router;
  close(): Promise<void>;
}

const XML = 'application/xml; charset=utf-8';

export const BANCIWS_METHODS = ['listaMesaje', 'uploadMesaj', 'stareMesaj', 'descarcare'] as const;
export type BanciwsMethod = (typeof BANCIWS_METHODS)[number];

export interface AfterProcessingFault {
  method: BanciwsMethod;
  /** 500–599; default 502. */
  status?: number;
  /** Default 1. */
  times?: number;
}

/** Pending "processed, then the answer replaced by an HTML 5xx page" faults, per method. */
class AfterProcessingFaults {
  private readonly pending = new Map<BanciwsMethod, Array<{ status: number; left: number }>>();

  add(rule: AfterProcessingFault): void {
    const status = rule.status ?? 502;
    if (!Number.isInteger(status) || status < 500 || status > 599) throw new Error('status must be 500–599');
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error('times must be a positive integer');
    if (!BANCIWS_METHODS.includes(rule.method)) throw new Error(`method must be one of ${BANCIWS_METHODS.join(', ')}`);
    this.pending.set(rule.method, [...(this.pending.get(rule.method) ?? []), { status, left: times }]);
  }

  take(method: BanciwsMethod): number | undefined {
    const queue = this.pending.get(method);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.left -= 1;
    if (head.left <= 0) queue.shift();
    return head.status;
  }

  clear(): void {
    this.pending.clear();
  }
}

function methods(service: BanciwsService, after: AfterProcessingFaults): Router {
  const router = express.Router();
  const cuiOf = (res: Response) => String(res.locals.banciwsCui);
  const body = (req: Request) => (typeof req.body === 'string' ? req.body : '');
  const answer = async (res: Response, xml: Promise<string>) => {
    const text = await xml;
    const method = res.req.path.slice(1) as BanciwsMethod;
    const failed = after.take(method);
    if (failed !== undefined) return res.status(failed).set({ connection: 'close' }).type('html').send(upstreamErrorPage(failed));
    return res.status(200).type(XML).send(text);
  };
  router.use(express.text({ type: () => true, limit: '64mb' }));
  router.post('/listaMesaje', async (req, res) => {
    let zile: string;
    try {
      zile = (await parseListRequest(body(req))).zile;
    } catch {
      return answer(res, buildListAnswer({ error: 'Format incorect: request eronat', messages: [] }));
    }
    await answer(res, buildListAnswer(service.list(cuiOf(res), zile)));
  });
  router.post('/uploadMesaj', async (req, res) => {
    let pdf: Buffer;
    try {
      pdf = (await parseUploadRequest(body(req))).pdf;
    } catch {
      return answer(
        res,
        buildUploadAnswer({ dateResponse: anafMinute(Date.now()), executionStatus: 1, errors: ['Format incorect: request eronat'] }),
      );
    }
    await answer(res, buildUploadAnswer(service.upload(cuiOf(res), pdf)));
  });
  router.post('/stareMesaj', async (req, res) => {
    let index: string;
    try {
      index = (await parseStatusRequest(body(req))).indexIncarcare;
    } catch {
      return answer(res, buildStatusAnswer({ indexIncarcare: '0', executionStatus: 4, errors: [] }));
    }
    await answer(res, buildStatusAnswer(service.status(cuiOf(res), index)));
  });
  router.post('/descarcare', async (req, res) => {
    let idPortal: string;
    try {
      idPortal = (await parseDownloadRequest(body(req))).idPortal;
    } catch {
      return answer(res, buildDownloadAnswer({ idPortal: '0', errorCode: 3 }));
    }
    await answer(res, buildDownloadAnswer(service.download(cuiOf(res), idPortal)));
  });
  router.all('/{*rest}', (req, res) => {
    res
      .status(req.method === 'POST' ? 404 : 405)
      .type('text/plain')
      .send(`${req.method} not allowed`);
  });
  return router;
}

function adminRoutes(gateway: F5Gateway, service: BanciwsService, after: AfterProcessingFaults): Router {
  const router = express.Router();
  router.get('/banciws/state', (_req, res) => {
    res.json({
      gateway: { ...gateway.counters, liveSessions: gateway.sessions.size },
      service: service.counters,
      uploads: [...service.uploads.values()].map(({ index, cui, sha256, uploadedAt, errors, answerId }) => ({
        index,
        cui,
        sha256,
        uploadedAt,
        errors,
        answerId,
      })),
      messages: [...service.messages.values()].map(({ pdf: _pdf, ...m }) => m),
    });
  });
  router.post('/banciws/expire-sessions', (_req, res) => {
    res.json({ expired: gateway.expireAll() });
  });
  router.post('/banciws/requests', express.json(), (req, res) => {
    const { cui, denumire } = (req.body ?? {}) as { cui?: unknown; denumire?: unknown };
    if (typeof cui !== 'string' || !/^[1-9][0-9]{1,9}$/.test(cui)) return res.status(400).json({ error: 'cui (digits) is required' });
    const m = service.addRequest(cui, typeof denumire === 'string' && denumire ? denumire.slice(0, 500) : undefined);
    res.status(201).json({ idPortal: m.idPortal, tipFisier: m.tipFisier, denumire: m.denumire });
  });
  router.post('/banciws/misdated-receipts', express.json(), (req, res) => {
    const { times } = (req.body ?? {}) as { times?: unknown };
    if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1))
      return res.status(400).json({ error: 'times must be a positive integer' });
    service.misdateReceipts((times as number | undefined) ?? 1);
    res.status(204).end();
  });
  router.post('/banciws/fail-after-processing', express.json(), (req, res) => {
    try {
      after.add((req.body ?? {}) as AfterProcessingFault);
    } catch (err) {
      return res.status(400).json({ error: (err as Error).message });
    }
    res.status(204).end();
  });
  return router;
}

export async function startBanciwsSandbox(ctx: SandboxContext, overrides: Partial<BanciwsSandboxOptions> = {}): Promise<RunningBanciws> {
  const options: BanciwsSandboxOptions = { ...DEFAULT_BANCIWS_OPTIONS, ...overrides };
  const pki = options.pki ?? (await createSandboxPki());
  const now = () => ctx.clock.now();
  const gateway = new F5Gateway(options, now, ctx.logger);
  const service = new BanciwsService(options, now);
  const after = new AfterProcessingFaults();
  ctx.state.onReset(() => {
    gateway.reset();
    service.reset();
    after.clear();
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(gateway.router());
  app.use('/BANCIWS', gateway.guard());
  app.use((req, _res, next) => {
    ctx.state.countRequest(req.method, req.path);
    next();
  });
  app.use(ctx.faults.middleware());
  app.use('/BANCIWS/rest', methods(service, after));
  app.use((req, res) => {
    res.status(404).type('text/plain').send(`Not Found: ${req.method} ${req.path}`);
  });

  const server = https.createServer(
    {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      // Renegotiation exists up to TLS 1.2 only; and it must be a full handshake, or the
      // resumed session would skip the certificate request.
      maxVersion: options.tlsMaxVersion ?? 'TLSv1.2',
      secureOptions: constants.SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION,
    },
    app,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.tlsPort, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  let timer: NodeJS.Timeout | undefined;
  if (options.inboxEveryMs > 0) {
    timer = setInterval(() => {
      const cuis = new Set([...gateway.sessions.values()].map((s) => s.cui).filter((c): c is string => Boolean(c)));
      for (const cui of cuis) service.addRequest(cui);
    }, options.inboxEveryMs);
    timer.unref();
  }

  let closing: Promise<void> | undefined;
  return {
    baseUrl: `https://${host}:${port}/BANCIWS/rest`,
    port,
    pki,
    gateway,
    service,
    options,
    failAfterProcessing: (rule) => after.add(rule),
    adminRouter: adminRoutes(gateway, service, after),
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (timer) clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
