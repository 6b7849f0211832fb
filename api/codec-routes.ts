import { type Payload, ValueError } from '@temporalio/common';
import type { RequestHandler, Response, Router } from 'express';
import { UnknownEncryptionKeyError } from '../lib/temporal/codec';
import type { ApiContext } from './context';
import { defineRoute } from './define-route';
import { ApiError, badRequest } from './errors';
import { z } from './zod';

export const DEFAULT_CODEC_CORS_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'] as const;

/** CODEC_CORS_ORIGINS: comma-separated browser origins of Temporal Web UIs allowed to call the codec. */
export function codecCorsOriginsFromEnv(env: Record<string, string | undefined> = process.env): string[] {
  const raw = env.CODEC_CORS_ORIGINS?.trim();
  if (!raw) return [...DEFAULT_CODEC_CORS_ORIGINS];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((origin) => {
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      // An origin is scheme://host[:port] exactly; with credentials allowed, "*" or a path would be a mistake.
      if (!parsed || parsed.origin !== origin) {
        throw new Error(`Invalid configuration: CODEC_CORS_ORIGINS: "${origin}" is not an origin like http://localhost:8233`);
      }
      return origin;
    });
}

const ALLOWED_HEADERS = 'content-type, x-namespace, authorization, x-api-key';

/**
 * The Temporal Web UI calls the codec from the browser, from its own origin, with
 * credentials mode "include" — so the origin must be echoed (never "*") and credentials
 * allowed. Error responses carry the headers too, or the UI could not show why it failed.
 */
export function codecCors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin) {
      res.vary('Origin');
      if (allowed.has(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
        // helmet's same-origin default is meant for pages, not for an endpoint that exists to be called cross-origin.
        res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      }
    }
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    if (origin && !allowed.has(origin)) {
      next(new ApiError(403, 'CORS_ORIGIN_NOT_ALLOWED', 'This origin may not call the codec; add it to CODEC_CORS_ORIGINS'));
      return;
    }
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    // Chrome's Private Network Access: a UI on a public origin calling a codec on localhost.
    if (req.get('access-control-request-private-network') === 'true') {
      res.setHeader('Access-Control-Allow-Private-Network', 'true');
    }
    res.status(204).end();
  };
}

// Proto3 JSON of temporal.api.common.v1.Payload, as the Web UI and `temporal` CLI send it.
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const CodecPayload = z
  .object({
    metadata: z.record(z.string(), Base64).optional(),
    data: Base64.optional(),
  })
  .openapi('CodecPayload');
const CodecPayloads = z
  .object({ payloads: z.array(CodecPayload).max(10_000) })
  .openapi('CodecPayloads', { description: 'Temporal codec-server format: bytes as base64' });
type CodecPayloadsJson = z.infer<typeof CodecPayloads>;

function fromJson(body: CodecPayloadsJson): Payload[] {
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
}

function toJson(payloads: Payload[]): CodecPayloadsJson {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

function codecFailure(err: unknown): unknown {
  if (err instanceof UnknownEncryptionKeyError) {
    return badRequest('PAYLOAD_KEY_UNKNOWN', err.message, { keyId: err.keyId });
  }
  if (err instanceof ValueError) return badRequest('PAYLOAD_UNDECODABLE', err.message);
  return err;
}

export interface CodecRoutesOptions {
  corsOrigins?: readonly string[];
  /**
   * Temporal caps one payload at 2 MB by default; base64 adds a third and the UI may send
   * several at once, so 1 MB would refuse payloads Temporal itself accepted.
   */
  bodyLimit?: string;
}

/**
 * The codec server for the Temporal Web UI / CLI (`--codec-endpoint`): payloads in
 * Temporal hold only AES-GCM ciphertext, and this is how an operator reads them — every
 * tenant's, hence an operator key (OPERATOR_API_KEYS) only; tenant keys get 403. The key
 * comes in x-api-key or `Authorization: Bearer`; with ANAF_ENV=sandbox also in the path
 * (`/codec/k/<key>/decode`, for the dev server's UI, which sends no credentials; redacted from logs).
 */
export function mountCodecRoutes(router: Router, ctx: ApiContext, options: CodecRoutesOptions = {}): void {
  router.use('/codec', codecCors(options.corsOrigins ?? DEFAULT_CODEC_CORS_ORIGINS));
  const bodyLimit = options.bodyLimit ?? '4mb';
  const responses = {
    200: { description: 'Transformed payloads', content: { 'application/json': { schema: CodecPayloads } } },
  };
  const operations = [
    { op: 'encode', summary: 'Encrypt payloads (Temporal codec server)', run: (p: Payload[]) => ctx.codec.encode(p) },
    { op: 'decode', summary: 'Decrypt payloads (Temporal codec server)', run: (p: Payload[]) => ctx.codec.decode(p) },
  ] as const;

  for (const { op, summary, run } of operations) {
    const handler = async (input: { body: CodecPayloadsJson }, _req: unknown, res: Response) => {
      let out: Payload[];
      try {
        out = await run(fromJson(input.body));
      } catch (err) {
        throw codecFailure(err);
      }
      res.json(toJson(out));
    };

    defineRoute(
      router,
      ctx,
      {
        method: 'post',
        permission: 'operate',
        path: `/codec/${op}`,
        summary,
        tags: ['Codec'],
        keySources: { bearer: true },
        request: {
          body: CodecPayloads,
          bodyLimit,
          headers: z.object({ 'X-Namespace': z.string().max(255).optional() }),
        },
        responses,
      },
      handler,
    );

    // A key in a URL ends up in the UI's configuration, browsers and process arguments: the sandbox only.
    if (ctx.config.anaf.env !== 'sandbox') continue;
    defineRoute(
      router,
      ctx,
      {
        method: 'post',
        permission: 'operate',
        path: `/codec/k/{apiKey}/${op}`,
        summary: `${summary}, operator key in the path (ANAF_ENV=sandbox only)`,
        description:
          'For the Temporal dev server UI, which sends no credentials: `--ui-codec-endpoint <api>/codec/k/<operator key>`. ' +
          'Not served outside the sandbox.',
        tags: ['Codec'],
        keySources: { pathParam: 'apiKey' },
        request: {
          params: z.object({ apiKey: z.string().openapi({ description: 'An operator key (OPERATOR_API_KEYS)' }) }),
          body: CodecPayloads,
          bodyLimit,
          headers: z.object({ 'X-Namespace': z.string().max(255).optional() }),
        },
        responses,
      },
      handler,
    );
  }
}
