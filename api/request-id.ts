import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../lib/observability/logger';
import { runWithRequestId } from '../lib/observability/request-context';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Enough for UUIDs, ULIDs and the usual proxy formats; nothing that could forge a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function acceptableRequestId(value: unknown): value is string {
  return typeof value === 'string' && SANE_REQUEST_ID.test(value);
}

/**
 * URLs carry secrets: the codec's path key (sandbox), the OAuth short link's state, the
 * callback's `code` and `state`. Anything that logs or echoes a URL goes through this: the
 * path only (no query string), with those segments redacted.
 */
export function redactUrl(url: string): string {
  return url
    .split(/[?#]/, 1)[0]!
    .replace(/\/codec\/k\/[^/]*/g, '/codec/k/[REDACTED]')
    .replace(/\/oauth\/go\/[^/]*/g, '/oauth/go/[REDACTED]');
}

/**
 * Request id (the caller's, when sane, else a new UUID) echoed in `x-request-id`, a child
 * logger carrying it in `res.locals.log`, and one access line per request. Headers are
 * never logged: they carry the API key.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const requestId = acceptableRequestId(incoming) ? incoming : randomUUID();
    const started = process.hrtime.bigint();
    res.locals.requestId = requestId;
    res.locals.log = logger.child({ reqId: requestId });
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = res.statusCode;
      res.locals.log[status >= 500 ? 'warn' : 'info'](
        {
          method: req.method,
          path: redactUrl(req.originalUrl),
          status,
          durationMs: Math.round(durationMs * 10) / 10,
          tenant: res.locals.tenant,
        },
        'request',
      );
    });
    // Temporal calls made for this request carry its id to the workflow and its activities.
    runWithRequestId(requestId, () => next());
  };
}
