import { Agent, type Dispatcher, errors, request } from 'undici';
import { recordAnafCall } from '../../lib/observability/metrics';

/**
 * The one way anaf-flow speaks HTTP to ANAF (api.anaf.ro, logincert.anaf.ro). It keeps
 * the distinction every retry decision depends on: did the request surely not reach
 * ANAF (safe to send again), or may ANAF have processed it and only the answer was lost
 * (an upload must then be reconciled, never blindly re-sent)?
 */

export type TransportPhase = 'NOT_SENT' | 'ANSWER_LOST';

export class AnafTransportError extends Error {
  constructor(
    readonly phase: TransportPhase,
    readonly url: string,
    readonly causeCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'AnafTransportError';
  }
}

export interface AnafResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: Buffer;
  /** Convenience: the body as UTF-8 text. */
  text(): string;
}

export interface AnafRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Longest wait for the answer's headers; ANAF's upload can take tens of seconds. */
  timeoutMs?: number;
  /** Cap on the answer size; a download larger than this is refused instead of buffered. */
  maxBytes?: number;
  dispatcher?: Dispatcher;
}

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  // TLS verification failures happen before any request byte is written (BANCIWS's own CA).
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

let sharedAgent: Agent | undefined;

/** One keep-alive pool per process for ANAF's hosts. */
export function anafAgent(): Agent {
  sharedAgent ??= new Agent({
    connect: { timeout: 10_000 },
    keepAliveTimeout: 30_000,
    connections: 64,
  });
  return sharedAgent;
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? (err instanceof Error ? err.name : 'UNKNOWN');
}

export function transportPhaseOf(err: unknown): TransportPhase {
  if (err instanceof errors.ConnectTimeoutError) return 'NOT_SENT';
  return CONNECT_FAILURES.has(errorCode(err)) ? 'NOT_SENT' : 'ANSWER_LOST';
}

export class ResponseTooLargeError extends Error {
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super(`answer from ${url} exceeds ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** Every ANAF call, answered or not, is measured here and nowhere else (lib/observability/metrics.ts). */
export async function anafFetch(req: AnafRequest): Promise<AnafResponse> {
  const started = process.hrtime.bigint();
  const record = (status: string) =>
    recordAnafCall({ url: req.url, method: req.method, status, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9 });
  try {
    const res = await fetchOnce(req);
    record(String(res.status));
    return res;
  } catch (err) {
    record(err instanceof AnafTransportError ? `transport_${err.phase}` : err instanceof ResponseTooLargeError ? 'too_large' : 'error');
    throw err;
  }
}

async function fetchOnce(req: AnafRequest): Promise<AnafResponse> {
  const timeout = req.timeoutMs ?? 60_000;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher: req.dispatcher ?? anafAgent(),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  } catch (err) {
    const phase = transportPhaseOf(err);
    throw new AnafTransportError(phase, req.url, errorCode(err), `${req.method} ${redactUrl(req.url)}: ${(err as Error).message}`);
  }
  const limit = req.maxBytes ?? 64 * 1024 * 1024;
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > limit) {
    res.body.destroy();
    throw new ResponseTooLargeError(req.url, limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        throw new ResponseTooLargeError(req.url, limit);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw err;
    // The headers arrived, so the request surely reached ANAF: the answer was lost.
    throw new AnafTransportError('ANSWER_LOST', req.url, errorCode(err), `${req.method} ${redactUrl(req.url)}: ${(err as Error).message}`);
  }
  const body = Buffer.concat(chunks);
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers: res.headers, contentType, body, text: () => body.toString('utf8') };
}

/** Query strings can carry codes; log paths only. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '[unparseable url]';
  }
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(password)}`).toString('base64')}`;
}
