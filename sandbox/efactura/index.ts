import type { Request, RequestHandler, Router } from 'express';
import type { SandboxModuleFactory } from '../module';
import { bearerOf, requireBearer } from '../oauth/require-bearer';
import { resolveEfacturaOptions, type EfacturaOptions } from './options';
import { buildRouter, receiveInvoice, type CallerRights, type ReceivedInvoice, type ReceivedInvoiceInput } from './router';
import { EFACTURA_ENVS, EfacturaState } from './state';

/**
 * The simulated e-Factura service (api.anaf.ro/{test,prod}/FCTEL/rest/…): upload and
 * uploadb2c, stareMesaj, descarcare, both listings, validare and transformare, with
 * ANAF's limits, answer shapes and delays, all on the injected clock. See router.ts for
 * the wire shapes, invoice-xml.ts for the rules that make `nok` happen on demand.
 */

export { DEFAULT_EFACTURA_OPTIONS, type EfacturaOptions } from './options';
export { EfacturaState, type EfacturaCounters, type EfacturaEnv, type MessageRecord, type MessageType, type UploadRecord } from './state';
export { MARKER_NOK, MARKER_XML_ERRORS, MARKER_ZIP_BOMB, MARKER_ZIP_TRUNCATED, RULE_MESSAGES } from './invoice-xml';
export { HOSTILE_ARCHIVE_KINDS, type HostileArchiveKind } from './archive';
export { NS_ERRORS, NS_STARE, NS_UPLOAD } from './documents';
export { SANDBOX_SUPPLIER_CIF, type CallerRights, type ReceivedInvoice, type ReceivedInvoiceInput } from './router';

export interface EfacturaDeps {
  /** The API host's gate: 403 without a live access token. */
  requireBearer: RequestHandler;
  /** The sandbox clock. */
  now: () => number;
  options?: Partial<EfacturaOptions>;
  /**
   * Which CIFs the caller may act for. Default: the certificate of the token that
   * requireBearer accepted (bearerOf), every CIF when it lists none, or when the request
   * did not pass the framework's requireBearer (a test's stand-in gate).
   */
  identityOf?: (req: Request) => CallerRights | undefined;
  /**
   * Serve the admin routes (POST /__sandbox/efactura/received and /efactura/hostile-archive, GET /__sandbox/efactura/state)
   * from `router` as well (default true). The framework module mounts `adminRouter` itself.
   */
  adminInRouter?: boolean;
}

export interface EfacturaService {
  /** ANAF's paths under /test and /prod (plus /__sandbox/efactura/* unless adminInRouter is false); mount at `/`. */
  router: Router;
  /** The admin routes relative to /__sandbox: /efactura/received, /efactura/hostile-archive and /efactura/state. */
  adminRouter: Router;
  state: EfacturaState;
  options: EfacturaOptions;
  /** A FACTURA PRIMITA for `buyerCif`, visible and downloadable from `at` (default now). */
  addReceivedInvoice(input: ReceivedInvoiceInput): ReceivedInvoice;
  /** Stops the receivedEveryMs generator. */
  close(): void;
}

function defaultIdentity(req: Request): CallerRights | undefined {
  try {
    const identity = bearerOf(req);
    return { subject: identity.subject, ...(identity.certificate.cifs ? { cifs: identity.certificate.cifs } : {}) };
  } catch {
    return undefined;
  }
}

export function createEfacturaRouter(deps: EfacturaDeps): EfacturaService {
  const options = resolveEfacturaOptions(deps.options);
  const state = new EfacturaState(options, deps.now);
  const addReceivedInvoice = (input: ReceivedInvoiceInput) => receiveInvoice(state, deps.now, input);
  const { router, adminRouter } = buildRouter(
    {
      requireBearer: deps.requireBearer,
      now: deps.now,
      options,
      state,
      identityOf: deps.identityOf ?? defaultIdentity,
      addReceivedInvoice,
    },
    { admin: deps.adminInRouter ?? true },
  );

  let timer: NodeJS.Timeout | undefined;
  if (options.receivedEveryMs > 0) {
    timer = setInterval(() => {
      for (const env of EFACTURA_ENVS) {
        for (const cif of state.knownCifs(env)) {
          try {
            addReceivedInvoice({ buyerCif: cif, env });
          } catch {
            // A CIF that is not one (it came from a request) is simply skipped.
          }
        }
      }
    }, options.receivedEveryMs);
    timer.unref();
  }

  return {
    router,
    adminRouter,
    state,
    options,
    addReceivedInvoice,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * The framework's module form: `createSandbox({ modules: [efacturaModule()] })` or an entry
 * in BUILTIN_MODULES. It gates with the sandbox IdP, reads the sandbox clock, resets with
 * the sandbox, and serves its admin routes under /__sandbox/efactura/.
 * `onCreate` hands the service to the caller (tests inspect `state`; close() stops the generator).
 */
export function efacturaModule(
  options: Partial<EfacturaOptions> = {},
  onCreate?: (service: EfacturaService) => void,
): SandboxModuleFactory {
  return (ctx) => {
    const service = createEfacturaRouter({
      requireBearer: requireBearer(ctx),
      now: () => ctx.clock.now(),
      options,
      adminInRouter: false,
    });
    ctx.state.onReset(() => service.state.reset());
    onCreate?.(service);
    return {
      name: 'efactura',
      admin(router) {
        router.use(service.adminRouter);
      },
      routes(router) {
        router.use(service.router);
      },
      close() {
        service.close();
      },
    };
  };
}
