import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { allows, ApiKeyStore, presentedApiKey } from '../../api/auth';
import { isHttpsOrLocalUrl } from '../../api/oauth-routes';
import { codecCorsOriginsFromEnv, DEFAULT_CODEC_CORS_ORIGINS } from '../../api/codec-routes';
import { ApiError, isTemporalUnavailable, summarizeError, toApiError } from '../../api/errors';
import { acceptableRequestId, redactUrl } from '../../api/request-id';
import { publicStatus, tenantListQuery, visibilityString } from '../../api/workflow-access';
import {
  assertTenantOwns,
  InvalidWorkflowIdPartError,
  parseWorkflowId,
  WorkflowNotOwnedError,
  workflowIdFor,
} from '../../lib/temporal/workflow-ids';

describe('workflow ids', () => {
  test('workflowIdFor builds tenant/kind/key', () => {
    assert.equal(workflowIdFor('acme', 'connectivity', 'erp-1:a_b.c'), 'acme/connectivity/erp-1:a_b.c');
  });

  test('idempotency keys: 1–100 of [A-Za-z0-9._:-]', () => {
    assert.doesNotThrow(() => workflowIdFor('acme', 'connectivity', 'k'.repeat(100)));
    for (const bad of ['', 'k'.repeat(101), 'a/b', 'a b', 'é', 'a?b', '../x']) {
      assert.throws(() => workflowIdFor('acme', 'connectivity', bad), InvalidWorkflowIdPartError, JSON.stringify(bad));
    }
  });

  test('tenant and kind are validated too', () => {
    assert.throws(() => workflowIdFor('Acme', 'connectivity', 'k'), /tenant/);
    assert.throws(() => workflowIdFor('acme/x', 'connectivity', 'k'), /tenant/);
    assert.throws(() => workflowIdFor('acme', 'Connectivity', 'k'), /kind/);
  });

  test('parseWorkflowId inverts workflowIdFor and rejects anything else', () => {
    assert.deepEqual(parseWorkflowId('acme/connectivity/k-1'), { tenant: 'acme', kind: 'connectivity', idempotencyKey: 'k-1' });
    for (const bad of ['acme/connectivity', 'acme/connectivity/k/extra', '/connectivity/k', 'acme//k', 'ACME/connectivity/k', 'x']) {
      assert.equal(parseWorkflowId(bad), undefined, bad);
    }
  });

  test('assertTenantOwns: own id passes; foreign, other-kind and malformed ids all look alike', () => {
    assert.equal(assertTenantOwns('acme', 'acme/connectivity/k').idempotencyKey, 'k');
    assert.equal(assertTenantOwns('acme', 'acme/connectivity/k', 'connectivity').kind, 'connectivity');
    for (const [tenant, id, kind] of [
      ['globex', 'acme/connectivity/k', undefined],
      ['acme', 'acme/efactura/k', 'connectivity'],
      ['acme', 'garbage', undefined],
      ['acme', 'acme-evil/connectivity/k', undefined],
    ] as const) {
      assert.throws(() => assertTenantOwns(tenant, id, kind), WorkflowNotOwnedError);
    }
  });
});

describe('visibility queries', () => {
  test('strings are quoted with backslash and quote escaped', () => {
    assert.equal(visibilityString('acme'), "'acme'");
    assert.equal(visibilityString("o'brien"), "'o\\'brien'");
    assert.equal(visibilityString('a\\'), "'a\\\\'");
  });

  test('tenant listing query', () => {
    assert.equal(
      tenantListQuery('acme', { kind: 'connectivity', service: 'system', workflowType: 'connectivityCheck' }),
      "AnafTenant = 'acme' AND AnafService = 'system' AND WorkflowType = 'connectivityCheck'",
    );
  });

  test('public status', () => {
    assert.equal(publicStatus('RUNNING'), 'RUNNING');
    assert.equal(publicStatus('COMPLETED'), 'COMPLETED');
    for (const s of ['FAILED', 'TIMED_OUT', 'TERMINATED', 'CANCELLED'] as const) assert.equal(publicStatus(s), 'FAILED');
  });
});

describe('API keys', () => {
  const store = new ApiKeyStore(
    [
      { tenant: 'acme', key: 'acme-key-0123456789abcdef', role: 'submit' },
      { tenant: 'globex', key: 'globex-key-0123456789abcdef', role: 'read' },
    ],
    [{ name: 'ops', key: 'operator-key-0123456789abcdef' }],
  );

  test('maps keys to tenants, exactly', () => {
    assert.equal(store.tenantFor('acme-key-0123456789abcdef'), 'acme');
    assert.equal(store.tenantFor('globex-key-0123456789abcdef'), 'globex');
    assert.equal(store.tenantFor('acme-key-0123456789abcde'), undefined);
    assert.equal(store.tenantFor(''), undefined);
    assert.equal(store.tenantFor('x'.repeat(10_000)), undefined);
    // An operator key names no tenant: it never passes where a tenant key is wanted.
    assert.equal(store.tenantFor('operator-key-0123456789abcdef'), undefined);
  });

  test('every key has its role; each permission admits exactly its principals', () => {
    const acme = store.principalFor('acme-key-0123456789abcdef')!;
    const globexRead = store.principalFor('globex-key-0123456789abcdef')!;
    const ops = store.principalFor('operator-key-0123456789abcdef')!;
    assert.deepEqual(ops, { kind: 'operator', name: 'ops' });
    assert.deepEqual(
      (['read', 'submit', 'operate'] as const).map((p) => [p, allows(p, acme), allows(p, globexRead), allows(p, ops)]),
      [
        ['read', true, true, false],
        ['submit', true, false, false],
        ['operate', false, false, true],
      ],
    );
  });

  test('keeps no plaintext key in memory it can be printed from', () => {
    const printed = JSON.stringify(store) + inspect(store, { depth: 5 });
    assert.ok(!printed.includes('acme-key-0123456789abcdef'));
    assert.ok(!printed.includes('operator-key-0123456789abcdef'));
  });

  test('presented key: header, then bearer (when allowed), then path (when allowed)', () => {
    const req = (headers: Record<string, string>, params: Record<string, string> = {}) =>
      ({ get: (h: string) => headers[h.toLowerCase()], params }) as unknown as Parameters<typeof presentedApiKey>[0];
    assert.equal(presentedApiKey(req({ 'x-api-key': 'h' })), 'h');
    assert.equal(presentedApiKey(req({ authorization: 'Bearer b' })), undefined);
    assert.equal(presentedApiKey(req({ authorization: 'Bearer b' }), { bearer: true }), 'b');
    assert.equal(presentedApiKey(req({ authorization: 'Basic abc' }), { bearer: true }), undefined);
    assert.equal(presentedApiKey(req({}, { apiKey: 'p' }), { pathParam: 'apiKey' }), 'p');
    assert.equal(presentedApiKey(req({ 'x-api-key': 'h' }, { apiKey: 'p' }), { pathParam: 'apiKey' }), 'h');
  });
});

describe('request ids and URL redaction', () => {
  test('acceptable request ids', () => {
    assert.ok(acceptableRequestId('3f0c1a2e-1111-4222-8333-444455556666'));
    assert.ok(acceptableRequestId('erp:batch/42'));
    assert.ok(!acceptableRequestId(''));
    assert.ok(!acceptableRequestId('x'.repeat(129)));
    assert.ok(!acceptableRequestId('a b'));
    assert.ok(!acceptableRequestId('a\nb'));
  });

  test('codec path keys are redacted', () => {
    assert.equal(redactUrl('/codec/k/secret-key/decode?x=1'), '/codec/k/[REDACTED]/decode');
    // The OAuth browser routes: the short link's state and the callback's code and state never reach a log.
    assert.equal(redactUrl('/oauth/go/acme.r1.s3cr3t-state'), '/oauth/go/[REDACTED]');
    assert.equal(redactUrl('/oauth/callback?code=one-time-code&state=acme.r1.s3cr3t'), '/oauth/callback');
    assert.equal(redactUrl('/v1/efactura/invoices?cif=14399840#x'), '/v1/efactura/invoices');
    assert.equal(redactUrl('/codec/decode'), '/codec/decode');
  });
});

describe('return URLs', () => {
  test('https anywhere, http only on this machine; javascript:, data:, file: and credentials refused', () => {
    for (const ok of ['https://erp.example/done', 'http://localhost:3000/cb', 'http://127.0.0.1/x', 'http://[::1]:8080/'])
      assert.ok(isHttpsOrLocalUrl(ok), ok);
    for (const bad of [
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'http://erp.example/done',
      'https://user:pw@erp.example/',
      'ftp://erp.example/',
      'not a url',
    ]) {
      assert.ok(!isHttpsOrLocalUrl(bad), bad);
    }
  });
});

describe('codec CORS origins', () => {
  test('default is the local Web UI', () => {
    assert.deepEqual(codecCorsOriginsFromEnv({}), [...DEFAULT_CODEC_CORS_ORIGINS]);
  });

  test('comma-separated origins', () => {
    assert.deepEqual(codecCorsOriginsFromEnv({ CODEC_CORS_ORIGINS: ' https://temporal.example.com , http://localhost:8080' }), [
      'https://temporal.example.com',
      'http://localhost:8080',
    ]);
  });

  test('anything that is not an exact origin is refused at start-up', () => {
    for (const bad of ['*', 'https://x.example/', 'https://x.example/ui', 'localhost:8233']) {
      assert.throws(() => codecCorsOriginsFromEnv({ CODEC_CORS_ORIGINS: bad }), /CODEC_CORS_ORIGINS/, bad);
    }
  });
});

describe('error mapping', () => {
  test('known errors', () => {
    assert.equal(toApiError(new WorkflowNotOwnedError('x')).code, 'WORKFLOW_NOT_FOUND');
    assert.equal(toApiError(new WorkflowNotFoundError('nope', 'x', undefined)).status, 404);
    const zodError = z.object({ a: z.string() }).safeParse({}).error!;
    const validation = toApiError(zodError);
    assert.equal(validation.code, 'VALIDATION_FAILED');
    assert.deepEqual((validation.details as Array<{ path: unknown[] }>)[0]!.path, ['a']);
    assert.equal(toApiError(Object.assign(new Error('x'), { type: 'entity.parse.failed', status: 400 })).code, 'MALFORMED_JSON');
    assert.equal(toApiError(Object.assign(new Error('x'), { type: 'entity.too.large', status: 413 })).status, 413);
    const mine = new ApiError(409, 'CONFLICT', 'c');
    assert.equal(toApiError(mine), mine);
  });

  test('gRPC UNAVAILABLE / DEADLINE_EXCEEDED anywhere in the cause chain → 503', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14, details: 'x', metadata: {} });
    const wrapped = new Error('Failed to start Workflow', { cause: grpc });
    assert.ok(isTemporalUnavailable(wrapped));
    const mapped = toApiError(wrapped);
    assert.equal(mapped.status, 503);
    assert.equal(mapped.code, 'TEMPORAL_UNAVAILABLE');
    assert.ok(!isTemporalUnavailable(Object.assign(new Error('5 NOT_FOUND'), { code: 5, details: 'x', metadata: {} })));
  });

  test('anything else → 500 INTERNAL, message generic, cause kept for the log', () => {
    const boom = new Error('db password is hunter2');
    const mapped = toApiError(boom);
    assert.equal(mapped.status, 500);
    assert.equal(mapped.code, 'INTERNAL');
    assert.ok(!JSON.stringify(mapped.toBody()).includes('hunter2'));
    assert.equal(mapped.cause, boom);
  });

  test('error summaries survive circular errors', () => {
    const err = new Error('outer', { cause: new Error('inner') }) as Error & { self?: unknown };
    err.self = err;
    const s = summarizeError(err);
    assert.equal(s.message, 'outer');
    assert.equal(s.cause?.message, 'inner');
    assert.doesNotThrow(() => JSON.stringify(s));
  });
});
