import { request } from 'undici';

/** A refusal or failure of the API itself (not of a case): the CLI exits 2 on these. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  apiKey: string;
}

/** The CLI's only way to the product: the public HTTP API, authenticated like any ERP. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  async call<T = unknown>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: { json?: unknown; xml?: Buffer; headers?: Record<string, string> },
  ): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = res.body.toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async raw(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: { json?: unknown; xml?: Buffer; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Buffer }> {
    const headers: Record<string, string> = { 'x-api-key': this.options.apiKey, ...body?.headers };
    let payload: string | Buffer | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.xml) {
      headers['content-type'] = 'application/xml';
      payload = body.xml;
    }
    let res;
    try {
      res = await request(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`, { method, headers, body: payload, headersTimeout: 30_000 });
    } catch (err) {
      throw new ApiCallError(0, 'API_UNREACHABLE', `cannot reach the API at ${this.options.baseUrl}: ${(err as Error).message}`);
    }
    const buffer = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 400) {
      let code = `HTTP_${res.statusCode}`;
      let message = buffer.toString('utf8').slice(0, 500);
      try {
        const parsed = JSON.parse(message) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {
        // not our JSON error shape; keep the text
      }
      throw new ApiCallError(res.statusCode, code, message);
    }
    return { status: res.statusCode, body: buffer };
  }
}
