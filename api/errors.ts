import { ActivityFailure, ApplicationFailure, isGrpcServiceError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../lib/observability/logger';
import { InvalidWorkflowIdPartError, WorkflowNotOwnedError } from '../lib/temporal/workflow-ids';
import { redactUrl } from './request-id';
import { z } from './zod';

/**
 * Every failure, whatever raised it, leaves the API as `{ error: { code, message, details? } }`:
 * ERPs branch on `code` (stable, documented) and show `message` (human, may change).
 */
export const ERROR_CODES = [
  'MALFORMED_JSON',
  'VALIDATION_FAILED',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'BAD_REQUEST',
  'API_KEY_MISSING',
  'API_KEY_INVALID',
  'FORBIDDEN',
  'RATE_LIMITED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_EXPIRED',
  'CORS_ORIGIN_NOT_ALLOWED',
  'ROUTE_NOT_FOUND',
  'WORKFLOW_NOT_FOUND',
  'PAYLOAD_KEY_UNKNOWN',
  'PAYLOAD_UNDECODABLE',
  'TEMPORAL_UNAVAILABLE',
  'INTERNAL',
] as const;
/** Known codes are listed for the OpenAPI document; feature modules may add their own. */
export type ErrorCode = (typeof ERROR_CODES)[number] | (string & {});

export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .openapi({ example: 'VALIDATION_FAILED', description: `Stable machine-readable code, e.g. ${ERROR_CODES.join(', ')}` }),
      message: z.string().openapi({ example: 'Request validation failed' }),
      details: z.unknown().optional().openapi({ description: 'Code-specific; for VALIDATION_FAILED the list of issues' }),
    }),
  })
  .openapi('Error');
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** What really happened, for the log only; never sent to the client. */
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }

  toBody(): ErrorResponse {
    return errorBody(this.code, this.message, this.details);
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorResponse {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export const badRequest = (code: ErrorCode, message: string, details?: unknown) => new ApiError(400, code, message, details);
export const unauthorized = (code: ErrorCode, message: string) => new ApiError(401, code, message);
export const notFound = (code: ErrorCode, message: string) => new ApiError(404, code, message);
export const workflowNotFound = () => notFound('WORKFLOW_NOT_FOUND', 'Workflow not found');
export const temporalUnavailable = (cause?: unknown) =>
  new ApiError(503, 'TEMPORAL_UNAVAILABLE', 'Temporal is not reachable; retry later', undefined, { cause });

export interface ValidationIssue {
  /** Where the bad value sits, location first: ["body","payloads",0,"data"], ["headers","idempotency-key"]. */
  path: Array<string | number>;
  code: string;
  message: string;
}

export function validationFailed(issues: ValidationIssue[]): ApiError {
  return badRequest('VALIDATION_FAILED', 'Request validation failed', issues);
}

export function issuesOf(err: ZodError, location?: string): ValidationIssue[] {
  return err.issues.map((i) => ({
    path: [...(location ? [location] : []), ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    code: i.code,
    message: i.message,
  }));
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

/** The SDK wraps gRPC failures (ServiceError → cause); a down or unreachable server shows as one of these two codes. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === GRPC_UNAVAILABLE || e.code === GRPC_DEADLINE_EXCEEDED)) return true;
  }
  return false;
}

/** body-parser (and other http-errors) tag their errors with `type`/`status`. */
interface HttpLikeError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof WorkflowNotOwnedError || err instanceof WorkflowNotFoundError) return workflowNotFound();
  if (err instanceof ZodError) return validationFailed(issuesOf(err));
  if (err instanceof InvalidWorkflowIdPartError) {
    return validationFailed([{ path: [err.part], code: 'invalid_format', message: err.message }]);
  }
  if (isTemporalUnavailable(err)) return temporalUnavailable(err);
  if (err && typeof err === 'object') {
    const h = err as HttpLikeError;
    switch (h.type) {
      case 'entity.parse.failed':
        return badRequest('MALFORMED_JSON', 'Request body is not valid JSON');
      case 'entity.too.large':
        return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', h.message ?? 'Unsupported content encoding');
      case 'request.aborted':
      case 'request.size.invalid':
        return badRequest('BAD_REQUEST', 'Request body was incomplete');
      default:
        break;
    }
    const status = h.status ?? h.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500 && h.expose !== false) {
      return new ApiError(status, 'BAD_REQUEST', h.message ?? 'Bad request');
    }
  }
  return new ApiError(500, 'INTERNAL', 'Internal error', undefined, { cause: err });
}

export interface ErrorSummary {
  type: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: ErrorSummary;
}

/**
 * A log-safe picture of an error chain. gRPC errors are circular (pino gives up on them)
 * and carry metadata; this keeps only name, message, code and the chain of causes.
 */
export function summarizeError(err: unknown, withStack = false, depth = 0): ErrorSummary {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: unknown }).cause;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(withStack && err.stack ? { stack: err.stack } : {}),
    ...(cause !== undefined && depth < 4 ? { cause: summarizeError(cause, withStack, depth + 1) } : {}),
  };
}

export function sendError(res: Parameters<RequestHandler>[1], err: ApiError): void {
  res.status(err.status).json(err.toBody());
}

/** Mounted after every route: anything that matched nothing. */
export function routeNotFound(): RequestHandler {
  return (req, _res, next) => {
    next(notFound('ROUTE_NOT_FOUND', `No route for ${req.method} ${redactUrl(req.originalUrl).split('?')[0]}`));
  };
}

/** The last middleware. Stacks go to the log (5xx only), never to the client. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    const apiError = toApiError(err);
    const log: Logger = res.locals.log ?? logger;
    if (apiError.status >= 500) {
      const where = { method: req.method, path: redactUrl(req.originalUrl) };
      if (apiError.code === 'TEMPORAL_UNAVAILABLE') log.warn({ ...where, reason: summarizeError(apiError.cause) }, 'Temporal unavailable');
      else log.error({ ...where, error: summarizeError(apiError.cause ?? err, true) }, 'request failed');
    }
    if (res.headersSent) {
      // Too late for a JSON error; let Express abort the connection.
      next(err);
      return;
    }
    sendError(res, apiError);
  };
}

/**
 * ANAF's failure behind a failed short workflow (an e-Factura read, an e-Transport lookup):
 * the activity's ApplicationFailure type (NotAuthorized, AnafDailyLimit, …) and message.
 */
function anafFailureOf(err: WorkflowFailedError): { type: string | undefined; message: string } {
  const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
  return { type: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined, message: cause?.message ?? err.message };
}

/** How each ANAF failure type answers; `default` for any other (ANAF unreachable, an unexpected answer). */
type AnafFailureAnswers = Record<string, (message: string, cif: string) => ApiError> & {
  default: (message: string, cif: string) => ApiError;
};

function answerAnafFailure(err: unknown, cif: string, answers: AnafFailureAnswers): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  const { type, message } = anafFailureOf(err);
  const answer = type !== undefined && Object.hasOwn(answers, type) ? answers[type]! : answers.default;
  return answer(message, cif);
}

const authorizationRequired = (_message: string, cif: string) =>
  new ApiError(409, 'AUTHORIZATION_REQUIRED', `No usable e-Factura authorization for CIF ${cif}: authorize the organization first`);
const anafReadRefused = (message: string) => new ApiError(422, 'ANAF_REFUSED', message);

/** A failed e-Factura read (listing, validation, PDF): ANAF's refusals as 4xx with a code, ANAF unreachable as 502. */
export function anafReadError(err: unknown, cif: string): unknown {
  const answer = answerAnafFailure(err, cif, {
    NotAuthorized: authorizationRequired,
    AnafUnauthorized: authorizationRequired,
    AnafDailyLimit: (message) => new ApiError(429, 'ANAF_DAILY_LIMIT', message),
    AnafBadRequest: anafReadRefused,
    AnafError: anafReadRefused,
    default: (message) => new ApiError(502, 'ANAF_UNAVAILABLE', `ANAF could not be asked: ${message}`),
  });
  // The workflow's failure stays in the log (errorHandler), never in the answer.
  return answer instanceof ApiError ? new ApiError(answer.status, answer.code, answer.message, undefined, { cause: err }) : answer;
}

const authorizationNotUsable = (message: string, cif: string) =>
  new ApiError(409, 'AUTHORIZATION_NOT_USABLE', `No usable ETRANSPORT authorization for CIF ${cif}: ${message}`);
const lookupRefused = (message: string) => new ApiError(502, 'ANAF_REFUSED', message);
const lookupRateLimited = (message: string) => new ApiError(503, 'ANAF_RATE_LIMITED', message);

/** A failed e-Transport lookup (lista, info); its codes predate the e-Factura reads' and clients read them. */
export function etransportLookupError(err: unknown, cif: string): unknown {
  return answerAnafFailure(err, cif, {
    NotAuthorized: authorizationNotUsable,
    AnafUnauthorized: authorizationNotUsable,
    AnafError: lookupRefused,
    AnafBadRequest: lookupRefused,
    AnafDailyLimit: lookupRateLimited,
    AnafRateLimited: lookupRateLimited,
    default: (message) => new ApiError(502, 'ANAF_UNAVAILABLE', message),
  });
}
