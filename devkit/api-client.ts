import { request } from 'undici';

/**
 * The product's API as its clients call it: the tenant's key in x-api-key, JSON or XML in,
 * the answer as status, headers, bytes, text and parsed JSON (undefined when not JSON).
 */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function callApi(
  stack: { apiUrl: string },
  key: string,
  method: string,
  path: string,
  options: {
    json?: unknown;
    body?: string | Buffer;
    contentType?: string;
    headers?: Record<string, string>;
    /** Abort (TimeoutError) after this long; without it only undici's 5-minute defaults bound the call. */
    timeoutMs?: number;
  } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'x-api-key': key, ...options.headers };
  let body: string | Buffer | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/xml';
    body = options.body;
  }
  const res = await request(`${stack.apiUrl}${path}`, {
    method: method as 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const text = raw.toString('utf8');
  return { status: res.statusCode, headers: res.headers, body: raw, text, json: parsedJson(text) };
}

export type ApiReply = Omit<ApiAnswer, 'text'>;

/**
 * The same through fetch, for what callApi does not send: a prepared body such as a
 * multipart FormData (BANCIWS uploads), whose boundary fetch writes into the content type.
 */
export async function api(
  apiUrl: string,
  key: string,
  method: string,
  path: string,
  init: { json?: unknown; body?: string | FormData; headers?: Record<string, string> } = {},
): Promise<ApiReply> {
  const headers: Record<string, string> = { 'x-api-key': key, ...init.headers };
  let body: string | FormData | undefined = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(`${apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const raw = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: raw, json: parsedJson(raw.toString('utf8')) };
}
