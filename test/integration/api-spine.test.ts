import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Express } from 'express';
import { request } from 'undici';
import { createApp, type ApiDeps } from '../../api/app';
import { startApiServer } from '../../api/server';
import { tenantListQuery } from '../../api/workflow-access';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import type { AppConfig } from '../../lib/config/config';
import { createLogger } from '../../lib/observability/logger';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { withCheckDigit } from '../../schemas/cif';
import { organizationWorkflowId } from '../../workflows/organization';
import { AnafService, AnafTenant } from '../../lib/temporal/search-attributes';
import { OPERATOR, testConfig, TENANT_A, TENANT_A_READ, TENANT_B } from '../../devkit/config';
import { startDevServer } from '../../devkit/temporal-env';
import { eventually } from '../../devkit/wait';

// Every line any app in this file logs; the last test scans them for credentials.
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });

const WRONG_KEY = 'wrong-key-that-must-never-be-logged-0123';

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(app: Express): Promise<Served> {
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {},
): Promise<Reply> {
  const headers = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${base}${path}`, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

function assertErrorShape(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  assert.equal(typeof reply.json?.error?.message, 'string', reply.text);
  assert.equal(reply.json.error.code, code, reply.text);
  assert.deepEqual(Object.keys(reply.json), ['error']);
  assert.ok(
    Object.keys(reply.json.error).every((k) => ['code', 'message', 'details'].includes(k)),
    reply.text,
  );
  assert.ok(!/\bat .+\.(ts|js):\d+/.test(reply.text), 'no stack trace in the body');
}

/** Visibility on the dev server lags a little: re-ask until the condition holds, bounded by time (no fixed sleep). */
function plainPayload(text: string): Payload {
  return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(text)) };
}

function toCodecJson(payloads: Payload[]) {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let env: TestWorkflowEnvironment;
let config: AppConfig;
let api: Served;
const A = { 'x-api-key': TENANT_A.key };
const OP = { 'x-api-key': OPERATOR.key };
const B = { 'x-api-key': TENANT_B.key };

function deps(overrides: Partial<ApiDeps> = {}): ApiDeps {
  return { config, client: env.client, logger, codecCorsOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'], ...overrides };
}

before(async () => {
  env = await startDevServer();
  config = testConfig();
  api = await serve(
    createApp(
      deps({
        modules: [
          // A feature module that fails unexpectedly, to see what leaks out of a 500.
          (router) => {
            router.get('/test-only/boom', () => {
              throw new Error('boom: secret internals at /srv/app/thing.ts:12');
            });
          },
        ],
      }),
    ),
  );
});

after(async () => {
  await api?.close();
  await env?.teardown();
});

describe('error shape', () => {
  test('unknown route → 404 ROUTE_NOT_FOUND', async () => {
    assertErrorShape(await call(api.url, 'GET', '/no/such/route'), 404, 'ROUTE_NOT_FOUND');
  });

  test('malformed JSON → 400 MALFORMED_JSON', async () => {
    const r = await call(api.url, 'POST', '/codec/encode', {
      headers: { ...OP, 'content-type': 'application/json' },
      body: '{"payloads": [',
    });
    assertErrorShape(r, 400, 'MALFORMED_JSON');
  });

  test('body over 1 MB → 413 PAYLOAD_TOO_LARGE', async () => {
    const r = await call(api.url, 'POST', '/v1/connectivity-checks', {
      headers: { ...A, 'Idempotency-Key': 'too-large' },
      json: { padding: 'x'.repeat(1_100_000) },
    });
    assertErrorShape(r, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('non-JSON body where JSON is expected → 415', async () => {
    const r = await call(api.url, 'POST', '/codec/decode', { headers: { ...OP, 'content-type': 'text/plain' }, body: 'hello' });
    assertErrorShape(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('schema violation → 400 VALIDATION_FAILED with the issues', async () => {
    const r = await call(api.url, 'POST', '/codec/decode', { headers: OP, json: { payloads: [{ data: '***not base64***' }] } });
    assertErrorShape(r, 400, 'VALIDATION_FAILED');
    assert.ok(Array.isArray(r.json.error.details));
    assert.deepEqual(r.json.error.details[0].path, ['body', 'payloads', 0, 'data']);
  });

  test('missing API key → 401 API_KEY_MISSING; wrong key → 401 API_KEY_INVALID', async () => {
    assertErrorShape(await call(api.url, 'GET', '/v1/connectivity-checks'), 401, 'API_KEY_MISSING');
    assertErrorShape(
      await call(api.url, 'GET', '/v1/connectivity-checks', { headers: { 'x-api-key': WRONG_KEY } }),
      401,
      'API_KEY_INVALID',
    );
  });

  test('unexpected error → 500 INTERNAL without internals', async () => {
    const r = await call(api.url, 'GET', '/test-only/boom');
    assertErrorShape(r, 500, 'INTERNAL');
    assert.ok(!r.text.includes('boom') && !r.text.includes('/srv/app'), r.text);
  });
});

describe('operations', () => {
  test('/healthz answers without a key', async () => {
    const r = await call(api.url, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
  });

  test('/readyz is 200 when Temporal answers', async () => {
    const r = await call(api.url, 'GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { status: 'ready' });
  });

  test('/readyz is 503 TEMPORAL_UNAVAILABLE when Temporal does not; other routes too', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}` });
    const client = new Client({ connection, dataConverter: dataConverterFor(config) });
    const down = await serve(createApp(deps({ client, readinessTimeoutMs: 300, temporalRpcTimeoutMs: 300 })));
    try {
      assertErrorShape(await call(down.url, 'GET', '/readyz'), 503, 'TEMPORAL_UNAVAILABLE');
      const start = await call(down.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': 'down-1' } });
      assertErrorShape(start, 503, 'TEMPORAL_UNAVAILABLE');
      assert.equal((await call(down.url, 'GET', '/healthz')).status, 200);
    } finally {
      await down.close();
      await connection.close();
    }
  });

  test('startApiServer starts with Temporal down (lazy connection) and closes cleanly', async () => {
    const port = await closedPort();
    const running = await startApiServer({
      config: testConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }),
      logger,
      host: '127.0.0.1',
      port: 0,
      readinessTimeoutMs: 300,
    });
    try {
      assert.equal((await call(running.url, 'GET', '/healthz')).status, 200);
      assert.equal((await call(running.url, 'GET', '/readyz')).status, 503);
    } finally {
      await running.close();
    }
    assert.equal(running.server.listening, false);
  });

  test('request id: generated when absent, echoed when sane, replaced when not', async () => {
    const generated = await call(api.url, 'GET', '/healthz');
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);

    const mine = `erp-${randomUUID()}`;
    const echoed = await call(api.url, 'GET', '/healthz', { headers: { 'x-request-id': mine } });
    assert.equal(echoed.headers['x-request-id'], mine);

    const hostile = await call(api.url, 'GET', '/healthz', { headers: { 'x-request-id': 'a b"}\\ninjected' } });
    assert.notEqual(hostile.headers['x-request-id'], 'a b"}\\ninjected');
    assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/);

    const onError = await call(api.url, 'GET', '/nope', { headers: { 'x-request-id': mine } });
    assert.equal(onError.headers['x-request-id'], mine);
    assert.ok(
      logLines.some((l) => l.includes(`"reqId":"${mine}"`)),
      'log lines carry the request id',
    );
  });

  test('security headers', async () => {
    const r = await call(api.url, 'GET', '/healthz');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(r.headers['strict-transport-security']);
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    const docs = await call(api.url, 'GET', '/docs/');
    assert.match(String(docs.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(String(docs.headers['content-security-policy']), /default-src 'none'/);
  });
});

describe('OpenAPI', () => {
  test('/openapi.json is an OpenAPI 3 document with the routes, the key scheme and the error schema', async () => {
    const r = await call(api.url, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json;
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/v1/connectivity-checks'].post);
    assert.ok(doc.paths['/v1/connectivity-checks'].get);
    assert.ok(doc.paths['/v1/connectivity-checks/{id}'].get);
    assert.ok(doc.paths['/codec/decode'].post);
    assert.deepEqual(doc.components.securitySchemes.ApiKeyAuth, {
      type: 'apiKey',
      in: 'header',
      name: 'x-api-key',
      description: doc.components.securitySchemes.ApiKeyAuth.description,
    });
    assert.ok(doc.components.schemas.Error);
    const post = doc.paths['/v1/connectivity-checks'].post;
    assert.deepEqual(post.security, [{ ApiKeyAuth: [] }]);
    assert.ok(
      post.parameters.some(
        (p: { name: string; in: string; required: boolean }) => p.name === 'Idempotency-Key' && p.in === 'header' && p.required,
      ),
    );
    assert.equal(post.responses['400'].content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
  });

  test('/docs serves the Swagger UI', async () => {
    const redirect = await call(api.url, 'GET', '/docs');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, 'docs/');
    const page = await call(api.url, 'GET', '/docs/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /swagger-ui/);
    const init = await call(api.url, 'GET', '/docs/swagger-ui-init.js');
    assert.equal(init.status, 200);
    assert.match(init.text, /\.\.\/openapi\.json/);
  });
});

describe('codec server', () => {
  const original = [plainPayload('Factura 123 for CIF RO14399840'), plainPayload('second')];

  async function roundTrip(encodePath: string, decodePath: string, headers: Record<string, string>) {
    const encoded = await call(api.url, 'POST', encodePath, {
      headers: { ...headers, 'X-Namespace': 'default' },
      json: toCodecJson(original),
    });
    assert.equal(encoded.status, 200, encoded.text);
    assert.equal(encoded.json.payloads.length, 2);
    const encoding = Buffer.from(encoded.json.payloads[0].metadata.encoding, 'base64').toString();
    assert.equal(encoding, 'binary/encrypted');
    assert.ok(!Buffer.from(encoded.json.payloads[0].data, 'base64').toString('latin1').includes('Factura'));

    const decoded = await call(api.url, 'POST', decodePath, { headers: { ...headers, 'X-Namespace': 'default' }, json: encoded.json });
    assert.equal(decoded.status, 200, decoded.text);
    assert.deepEqual(decoded.json, toCodecJson(original));
    return encoded.json;
  }

  test('round trip with the key in x-api-key', async () => {
    const encoded = await roundTrip('/codec/encode', '/codec/decode', OP);
    // Same keys as the workers: what the server encrypts, the SDK codec decrypts.
    const sdk = new AesGcmPayloadCodec(config.payloadKeys);
    const [first] = await sdk.decode([
      {
        metadata: Object.fromEntries(
          Object.entries(encoded.payloads[0].metadata as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
        ),
        data: Buffer.from(encoded.payloads[0].data, 'base64'),
      },
    ]);
    assert.equal(Buffer.from(first!.data!).toString(), JSON.stringify('Factura 123 for CIF RO14399840'));
  });

  test('round trip with Authorization: Bearer', async () => {
    await roundTrip('/codec/encode', '/codec/decode', { authorization: `Bearer ${OPERATOR.key}` });
  });

  test('round trip with the key in the path (dev server UI, ANAF_ENV=sandbox)', async () => {
    const base = `/codec/k/${encodeURIComponent(OPERATOR.key)}`;
    await roundTrip(`${base}/encode`, `${base}/decode`, {});
  });

  test("tenant keys get 403 FORBIDDEN in every form: no tenant decrypts another's payloads", async () => {
    const encoded = await roundTrip('/codec/encode', '/codec/decode', OP);
    for (const key of [TENANT_A.key, TENANT_B.key, TENANT_A_READ.key]) {
      assertErrorShape(await call(api.url, 'POST', '/codec/decode', { headers: { 'x-api-key': key }, json: encoded }), 403, 'FORBIDDEN');
      assertErrorShape(
        await call(api.url, 'POST', '/codec/decode', { headers: { authorization: `Bearer ${key}` }, json: encoded }),
        403,
        'FORBIDDEN',
      );
      assertErrorShape(await call(api.url, 'POST', `/codec/k/${encodeURIComponent(key)}/decode`, { json: encoded }), 403, 'FORBIDDEN');
    }
  });

  test('outside the sandbox the codec path form is not served (a key never sits in a URL there) and /metrics wants METRICS_TOKEN', async () => {
    const app = await serve(createApp(deps({ config: { ...config, anaf: { ...config.anaf, env: 'test' } } })));
    try {
      const r = await call(app.url, 'POST', `/codec/k/${encodeURIComponent(OPERATOR.key)}/decode`, { json: { payloads: [] } });
      assertErrorShape(r, 404, 'ROUTE_NOT_FOUND');
      assert.equal((await call(app.url, 'POST', '/codec/decode', { headers: OP, json: { payloads: [] } })).status, 200);
      // …and /metrics is closed there until METRICS_TOKEN is set.
      assertErrorShape(await call(app.url, 'GET', '/metrics'), 403, 'METRICS_TOKEN_NOT_CONFIGURED');
    } finally {
      await app.close();
    }
  });

  test('401 without a key, and with a wrong path key', async () => {
    assertErrorShape(await call(api.url, 'POST', '/codec/decode', { json: toCodecJson(original) }), 401, 'API_KEY_MISSING');
    assertErrorShape(
      await call(api.url, 'POST', '/codec/decode', { headers: { authorization: 'Basic Zm9vOmJhcg==' }, json: toCodecJson(original) }),
      401,
      'API_KEY_MISSING',
    );
    assertErrorShape(await call(api.url, 'POST', `/codec/k/${WRONG_KEY}/decode`, { json: toCodecJson(original) }), 401, 'API_KEY_INVALID');
  });

  test('CORS preflight from the local Web UI', async () => {
    const r = await call(api.url, 'OPTIONS', '/codec/decode', {
      headers: {
        origin: 'http://localhost:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], 'http://localhost:8233');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.match(String(r.headers['access-control-allow-methods']), /POST/);
    const allowed = String(r.headers['access-control-allow-headers']);
    for (const h of ['content-type', 'x-namespace', 'authorization', 'x-api-key']) assert.ok(allowed.includes(h), allowed);
    assert.match(String(r.headers.vary), /Origin/i);

    // The UI must be able to read failures too.
    const unauthorized = await call(api.url, 'POST', '/codec/decode', {
      headers: { origin: 'http://localhost:8233' },
      json: toCodecJson(original),
    });
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers['access-control-allow-origin'], 'http://localhost:8233');
  });

  test('CORS: other origins get no grant', async () => {
    const r = await call(api.url, 'OPTIONS', '/codec/decode', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assertErrorShape(r, 403, 'CORS_ORIGIN_NOT_ALLOWED');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const post = await call(api.url, 'POST', '/codec/decode', {
      headers: { ...OP, origin: 'https://evil.example' },
      json: toCodecJson(original),
    });
    assert.equal(post.headers['access-control-allow-origin'], undefined);
  });

  test('payload encrypted with a key the server lacks → 400 PAYLOAD_KEY_UNKNOWN', async () => {
    const foreign = new AesGcmPayloadCodec([{ id: 'other-2025', key: Buffer.alloc(32, 9) }]);
    const encrypted = await foreign.encode([plainPayload('secret')]);
    const r = await call(api.url, 'POST', '/codec/decode', { headers: OP, json: toCodecJson(encrypted) });
    assertErrorShape(r, 400, 'PAYLOAD_KEY_UNKNOWN');
    assert.deepEqual(r.json.error.details, { keyId: 'other-2025' });
    assert.match(r.json.error.message, /other-2025/);
  });

  test('payload under a known key id but not authentic → 400 PAYLOAD_UNDECODABLE', async () => {
    const [testKey] = config.payloadKeys;
    const impostor = new AesGcmPayloadCodec([{ id: testKey!.id, key: Buffer.alloc(32, 1) }]);
    const encrypted = await impostor.encode([plainPayload('secret')]);
    const r = await call(api.url, 'POST', '/codec/decode', { headers: OP, json: toCodecJson(encrypted) });
    assertErrorShape(r, 400, 'PAYLOAD_UNDECODABLE');
  });
});

describe('tenancy (connectivity checks)', () => {
  const key = `tenancy-${randomUUID()}`;
  const id = `acme/connectivity/${key}`;
  // Tenant A's check, started once for every test here, so each of them also runs alone.
  let started: Reply;
  before(async () => {
    started = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': key } });
  });

  test('tenant A starts a check: 202, tenant-prefixed id, statusUrl, search attributes set at start', async () => {
    const r = started;
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.id, id);
    assert.equal(r.json.status, 'RUNNING');
    assert.equal(r.json.statusUrl, `${config.api.publicUrl}/v1/connectivity-checks/${encodeURIComponent(id)}`);
    assert.equal(r.headers.location, r.json.statusUrl);

    const description = await env.client.workflow.getHandle(id).describe();
    assert.equal(description.type, 'connectivityCheck');
    assert.equal(description.taskQueue, config.temporal.taskQueue);
    assert.equal(description.typedSearchAttributes.get(AnafTenant), 'acme');
    assert.equal(description.typedSearchAttributes.get(AnafService), 'system');
  });

  test('the same Idempotency-Key again → the same workflow', async () => {
    const r = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': key } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.id, id);
    const runs = await eventually(
      async () => {
        const found: string[] = [];
        for await (const w of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) found.push(w.runId);
        return found;
      },
      (found) => found.length >= 1,
      'the check is listed',
    );
    assert.equal(runs.length, 1, 'one run only');
  });

  test('tenant B with the same Idempotency-Key gets its own workflow', async () => {
    const r = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...B, 'Idempotency-Key': key } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.id, `globex/connectivity/${key}`);
  });

  test('tenant A reads its check; tenant B gets the same 404 as for an id that does not exist', async () => {
    const mine = await call(api.url, 'GET', `/v1/connectivity-checks/${encodeURIComponent(id)}`, { headers: A });
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.id, id);
    assert.equal(mine.json.status, 'RUNNING');
    assert.equal(mine.json.temporalStatus, 'RUNNING');
    assert.ok(!Number.isNaN(Date.parse(mine.json.startedAt)));

    const foreign = await call(api.url, 'GET', `/v1/connectivity-checks/${encodeURIComponent(id)}`, { headers: B });
    assertErrorShape(foreign, 404, 'WORKFLOW_NOT_FOUND');
    const missing = await call(
      api.url,
      'GET',
      `/v1/connectivity-checks/${encodeURIComponent(`globex/connectivity/never-${randomUUID()}`)}`,
      { headers: B },
    );
    assertErrorShape(missing, 404, 'WORKFLOW_NOT_FOUND');
    assert.deepEqual(foreign.json, missing.json);
    const garbage = await call(api.url, 'GET', '/v1/connectivity-checks/not-an-id', { headers: B });
    assert.deepEqual(garbage.json, missing.json);
  });

  test("listings: A sees its check, B does not see A's", async () => {
    const listA = await eventually(
      () => call(api.url, 'GET', '/v1/connectivity-checks', { headers: A }),
      (r) => r.status !== 200 || r.json.items.some((i: { id: string }) => i.id === id),
      "A's check is listed",
    );
    assert.equal(listA.status, 200, listA.text);
    const item = listA.json.items.find((i: { id: string }) => i.id === id);
    assert.ok(item, 'A lists its check');
    assert.equal(item.status, 'RUNNING');
    assert.ok(listA.json.items.every((i: { id: string }) => i.id.startsWith('acme/')));

    // A's entry is visible, so visibility has caught up; B's own check proves B's listing works.
    const ownB = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...B, 'Idempotency-Key': key } });
    assert.equal(ownB.status, 202, ownB.text);
    const listB = await eventually(
      () => call(api.url, 'GET', '/v1/connectivity-checks', { headers: B }),
      (r) => r.status !== 200 || r.json.items.some((i: { id: string }) => i.id === `globex/connectivity/${key}`),
      "B's check is listed",
    );
    assert.equal(listB.status, 200, listB.text);
    assert.ok(listB.json.items.some((i: { id: string }) => i.id === `globex/connectivity/${key}`));
    assert.ok(!listB.json.items.some((i: { id: string }) => i.id === id));
    assert.ok(listB.json.items.every((i: { id: string }) => i.id.startsWith('globex/')));
  });

  test('tenant values are escaped in visibility queries (Temporal parses them)', async () => {
    const kind = { kind: 'connectivity', service: 'system' as const, workflowType: 'connectivityCheck' };
    for (const hostile of ["o'brien", 'back\\slash', "x' OR AnafTenant = 'acme", "\\'"]) {
      const found: string[] = [];
      for await (const w of env.client.workflow.list({ query: tenantListQuery(hostile, kind) })) found.push(w.workflowId);
      assert.deepEqual(found, [], hostile);
    }
  });

  test('listing validates its query', async () => {
    assertErrorShape(await call(api.url, 'GET', '/v1/connectivity-checks?limit=0', { headers: A }), 400, 'VALIDATION_FAILED');
  });

  test('missing or malformed Idempotency-Key → 400', async () => {
    const missing = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: A });
    assertErrorShape(missing, 400, 'VALIDATION_FAILED');
    assert.deepEqual(missing.json.error.details[0].path, ['headers', 'Idempotency-Key']);
    const bad = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': 'has/slash' } });
    assertErrorShape(bad, 400, 'VALIDATION_FAILED');
    const long = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': 'k'.repeat(101) } });
    assertErrorShape(long, 400, 'VALIDATION_FAILED');
  });

  test('a terminated check reads as FAILED with the reason', async () => {
    const k = `terminated-${randomUUID()}`;
    const started = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': k } });
    assert.equal(started.status, 202);
    await env.client.workflow.getHandle(started.json.id).terminate('operator stopped it');
    const r = await call(api.url, 'GET', `/v1/connectivity-checks/${encodeURIComponent(started.json.id)}`, { headers: A });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'FAILED');
    assert.equal(r.json.temporalStatus, 'TERMINATED');
    assert.match(r.json.failure.message, /operator stopped it/);
    assert.ok(r.json.closedAt);

    // The key stays bound to that workflow: no second run, its outcome is reported.
    const again = await call(api.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': k } });
    assert.equal(again.status, 202);
    assert.equal(again.json.id, started.json.id);
    assert.equal(again.json.status, 'FAILED');
  });
});

describe('tenancy (organizations)', () => {
  // The same CIF registered by both tenants: each sees its own record, never the other's.
  const shared = withCheckDigit('2345678');
  const onlyA = withCheckDigit('1234567');
  const onlyB = withCheckDigit('3456789');
  const ended = withCheckDigit('4567891');
  type Listed = { cif: string; name: string; createdAt: string };
  const register = async (headers: Record<string, string>, cif: string, name: string) => {
    const r = await call(api.url, 'POST', '/v1/organizations', { headers, json: { cif, name } });
    assert.equal(r.status, 201, r.text);
  };
  const listing = (headers: Record<string, string>) => call(api.url, 'GET', '/v1/organizations', { headers });
  const cifsOf = (r: Reply) => (r.json?.items ?? []).map((o: Listed) => o.cif);

  before(async () => {
    await register(A, onlyA, 'Acme Retail SRL');
    await register(A, shared, 'Acme Shared SRL');
    await register(B, shared, 'Globex Shared SRL');
    await register(B, onlyB, 'Globex Logistics SRL');
    await register(A, ended, 'Acme Closed SRL');
  });

  test("GET /v1/organizations lists the tenant's organizations by CIF, never another tenant's", async () => {
    const listA = await eventually(
      () => listing(A),
      (r) => r.status !== 200 || cifsOf(r).length >= 3,
      "A's organizations are listed",
    );
    assert.equal(listA.status, 200, listA.text);
    assert.deepEqual(cifsOf(listA), [onlyA, shared, ended].sort());
    assert.equal(listA.json.items.find((o: Listed) => o.cif === shared).name, 'Acme Shared SRL');
    assert.ok(
      listA.json.items.every((o: Listed) => !Number.isNaN(Date.parse(o.createdAt))),
      listA.text,
    );

    const listB = await eventually(
      () => listing(B),
      (r) => r.status !== 200 || cifsOf(r).length >= 2,
      "B's organizations are listed",
    );
    assert.equal(listB.status, 200, listB.text);
    assert.deepEqual(cifsOf(listB), [shared, onlyB].sort());
    assert.equal(listB.json.items.find((o: Listed) => o.cif === shared).name, 'Globex Shared SRL');
  });

  test('an organization whose workflow ended is no longer listed', async () => {
    await eventually(
      () => listing(A),
      (r) => cifsOf(r).includes(ended),
      'the organization is listed',
    );
    await env.client.workflow.getHandle(organizationWorkflowId(TENANT_A.tenant, ended)).terminate('removed for the test');
    const gone = await eventually(
      () => listing(A),
      (r) => r.status !== 200 || !cifsOf(r).includes(ended),
      'the ended organization is no longer listed',
    );
    assert.equal(gone.status, 200, gone.text);
    assert.ok(!cifsOf(gone).includes(ended), gone.text);
    assert.ok(cifsOf(gone).includes(onlyA), gone.text);
    assertErrorShape(await call(api.url, 'GET', `/v1/organizations/${ended}`, { headers: A }), 404, 'ORGANIZATION_NOT_FOUND');
  });
});

describe('a completed check (with a worker)', () => {
  test('GET shows COMPLETED with the decoded result', async () => {
    // Own task queue: the worker must not pick up the checks the other tests leave running.
    const queue = `api-spine-${randomUUID().slice(0, 8)}`;
    const cfg = testConfig({ TEMPORAL_TASK_QUEUE: queue });
    const app = await serve(createApp({ ...deps(), config: cfg }));
    const probes = [{ name: 'api' as const, url: 'http://sandbox/test', reachable: true, status: 401, latencyMs: 3 }];
    const workflows = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: cfg.temporal.taskQueue,
      // `npm test` bundles the workflows once for all files; run alone, this bundles them itself.
      ...(process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE
        ? { workflowBundle: { codePath: process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE } }
        : { workflowsPath: require.resolve('../../workflows') }),
      dataConverter: dataConverterFor(cfg),
    });
    const activities = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: cfg.temporal.anafTaskQueue,
      activities: { probeAnafHosts: async () => probes },
      dataConverter: dataConverterFor(cfg),
    });
    try {
      await workflows.runUntil(
        activities.runUntil(async () => {
          const started = await call(app.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': 'completed-1' } });
          assert.equal(started.status, 202, started.text);
          await env.client.workflow.getHandle(started.json.id).result();
          const r = await call(app.url, 'GET', `/v1/connectivity-checks/${encodeURIComponent(started.json.id)}`, { headers: A });
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.status, 'COMPLETED');
          assert.deepEqual(r.json.result, { ok: true, probes });

          const again = await call(app.url, 'POST', '/v1/connectivity-checks', { headers: { ...A, 'Idempotency-Key': 'completed-1' } });
          assert.equal(again.json.id, started.json.id);
          assert.equal(again.json.status, 'COMPLETED');
        }),
      );
    } finally {
      await app.close();
    }
  });
});

describe('logs', () => {
  test('no API key ever reaches a log line (header, bearer, path or wrong key)', async () => {
    // Its own requests with every kind of key, so it does not depend on the tests before it.
    await call(api.url, 'GET', '/v1/connectivity-checks', { headers: A });
    await call(api.url, 'GET', '/v1/connectivity-checks', { headers: { authorization: `Bearer ${TENANT_B.key}` } });
    await call(api.url, 'GET', '/v1/connectivity-checks', { headers: { 'x-api-key': WRONG_KEY } });
    await call(api.url, 'POST', `/codec/k/${encodeURIComponent(OPERATOR.key)}/decode`, { json: { payloads: [] } });
    assert.ok(logLines.filter((l) => l.includes('/v1/connectivity-checks')).length >= 3, `captured ${logLines.length} lines`);
    for (const secret of [TENANT_A.key, TENANT_B.key, WRONG_KEY, OPERATOR.key, encodeURIComponent(OPERATOR.key)]) {
      const leaking = logLines.filter((l) => l.includes(secret));
      assert.deepEqual(leaking, [], `a log line contains ${secret.slice(0, 4)}…`);
    }
    assert.ok(
      logLines.some((l) => l.includes('/codec/k/[REDACTED]/decode')),
      'path-key requests are logged, redacted',
    );
  });
});
