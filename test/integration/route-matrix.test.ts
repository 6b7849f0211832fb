import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type RunningApi, startApiServer } from '../../api/server';
import { createLogger } from '../../lib/observability/logger';
import { OPERATOR, TENANT_A, TENANT_A_READ, TENANT_B, testConfig } from '../../devkit/config';
import { startDevServer } from '../../devkit/temporal-env';

/**
 * Every route of /openapi.json, called by every kind of principal: no key, a wrong key,
 * tenant B's key (on tenant A's ids), tenant A's read key, tenant A's submit key and an
 * operator key. What each may do follows from the route's declared permission; what is
 * public and what is an operator's is fixed HERE, so a new route without a declaration, or
 * one that quietly becomes public or operator-only, turns this red. Then Temporal stops and
 * every route answers within TEMPORAL_RPC_TIMEOUT_MS: 503 TEMPORAL_UNAVAILABLE where it needs Temporal.
 */

const PUBLIC_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /oauth/go/{state}', 'GET /oauth/callback'];
const OPERATOR_ROUTE = /^POST \/codec\/|\/resolve$| \/v1\/oauth-clients/;
const RPC_TIMEOUT_MS = 1000;
/** Scheduling, the HTTP round trip and a loaded CI machine on top of the deadline. */
const ANSWER_MARGIN_MS = 1500;

interface Route {
  method: string;
  path: string;
  permission: string | undefined;
  /** The codec's sandbox form takes the key in the path, not a header. */
  keyInPath: boolean;
}

type Principal = 'none' | 'wrong' | 'tenantB' | 'tenantARead' | 'tenantA' | 'operator';
const KEYS: Record<Principal, string | undefined> = {
  none: undefined,
  wrong: 'wrong-key-0123456789abcdef-xyz',
  tenantB: TENANT_B.key,
  tenantARead: TENANT_A_READ.key,
  tenantA: TENANT_A.key,
  operator: OPERATOR.key,
};

/** Tenant A's ids and names in every path parameter: B must see nothing of them. */
const PATH_VALUES: Record<string, string> = {
  cif: '14399840',
  scope: 'EFACTURA',
  state: `acme.${'r'.repeat(32)}`,
  index: '1',
  setId: 'route-matrix-set',
};

/** The workflow kind an `{id}` of this collection names (lib/temporal/workflow-ids.ts): tenant A's, of the right kind. */
function idFor(path: string): string {
  // Ids that are not workflow ids: an authorization's (az_ + 20 base62) and an authorization request's (32 characters).
  if (path.startsWith('/v1/authorizations/')) return 'az_routeMatrix000000000';
  if (path.startsWith('/v1/authorization-requests/')) return 'r'.repeat(32);
  const kind = [
    ['/v1/efactura/inbox', 'efactura-inbox'],
    ['/v1/efactura/', 'efactura'],
    ['/v1/etransport/', 'etransport'],
    ['/v1/banciws/inbox', 'banciws-inbox'],
    ['/v1/banciws/', 'banciws'],
    ['/v1/connectivity-checks', 'connectivity'],
  ].find(([prefix]) => path.startsWith(prefix!))?.[1];
  assert.ok(kind, `no workflow kind known for {id} in ${path}`);
  return `acme/${kind}/route-matrix-1`;
}

function urlFor(route: Route, principal: Principal): string {
  return route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === 'apiKey') return encodeURIComponent(KEYS[principal] ?? 'no-key-given');
    const value = name === 'id' ? idFor(route.path) : PATH_VALUES[name];
    assert.ok(value !== undefined, `no test value for path parameter {${name}} of ${route.path}`);
    return encodeURIComponent(value);
  });
}

async function call(
  base: string,
  route: Route,
  principal: Principal,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; code?: string; ms: number }> {
  const key = KEYS[principal];
  const headers: Record<string, string> = { ...extraHeaders };
  if (key && !route.keyInPath) headers['x-api-key'] = key;
  const withBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
  if (withBody) headers['content-type'] = 'application/json';
  const started = Date.now();
  const res = await fetch(base + urlFor(route, principal), {
    method: route.method,
    headers,
    redirect: 'manual',
    ...(withBody ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, ms: Date.now() - started };
}

describe('route matrix: every route, every principal', () => {
  let env: TestWorkflowEnvironment;
  let api: RunningApi;
  let routes: Route[];
  let temporalStopped = false;

  before(async () => {
    env = await startDevServer();
    const config = testConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS) });
    // The API as production runs it: its own lazy connection, with its deadlines.
    api = await startApiServer({
      config,
      logger: createLogger({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
      readinessTimeoutMs: RPC_TIMEOUT_MS,
    });
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        permission: op['x-permission'] as string | undefined,
        keyInPath: path.includes('{apiKey}'),
      })),
    );
  });

  after(async () => {
    await api?.close();
    if (!temporalStopped) await env?.teardown();
  });

  test("every route declares its permission; only the allow-list is public, only decisions, the codec and OAuth client sets are operators'", () => {
    assert.ok(routes.length > 40, `${routes.length} routes`);
    const name = (r: Route) => `${r.method} ${r.path}`;
    assert.deepEqual(routes.filter((r) => r.permission === undefined).map(name), [], 'routes without a declared permission');
    assert.deepEqual(
      routes
        .filter((r) => r.permission === 'public')
        .map(name)
        .sort(),
      [...PUBLIC_ROUTES].sort(),
    );
    assert.deepEqual(
      routes.filter((r) => r.permission === 'operate').map(name),
      routes.filter((r) => OPERATOR_ROUTE.test(name(r))).map(name),
      'operator routes: the codec, resolve and the OAuth client credential sets, nothing else',
    );
    for (const r of routes) {
      if (r.method === 'GET' && r.permission !== 'public' && !OPERATOR_ROUTE.test(name(r)))
        assert.equal(r.permission, 'read', `${name(r)}: reading needs no more than read`);
      if (r.method !== 'GET' && !OPERATOR_ROUTE.test(name(r))) assert.equal(r.permission, 'submit', `${name(r)}: a change needs submit`);
    }
  });

  test('each principal gets exactly what its key may do', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const principal of Object.keys(KEYS) as Principal[]) {
        const { status, code } = await call(api.url, route, principal);
        const authFailure = status === 401 || status === 403;
        let expected: string;
        let ok: boolean;
        if (route.permission === 'public') {
          expected = 'not 401/403';
          ok = !authFailure;
        } else if (principal === 'none' || principal === 'wrong') {
          // A key-in-path route always presents something: the placeholder is a wrong key.
          const wanted = principal === 'none' && !route.keyInPath ? 'API_KEY_MISSING' : 'API_KEY_INVALID';
          expected = `401 ${wanted}`;
          ok = status === 401 && code === wanted;
        } else {
          const allowed =
            route.permission === 'operate'
              ? principal === 'operator'
              : principal !== 'operator' && (route.permission === 'read' || principal !== 'tenantARead');
          expected = allowed ? 'past auth (not 401/403)' : '403 FORBIDDEN';
          ok = allowed ? !authFailure : status === 403 && code === 'FORBIDDEN';
          // Tenant B on tenant A's ids: past auth, but never a success.
          if (allowed && principal === 'tenantB' && route.path.includes('{id}')) {
            expected += ', not 2xx';
            ok &&= status >= 400;
          }
        }
        if (status >= 500 && status !== 503) ok = false;
        if (!ok) wrong.push(`${route.method} ${route.path} as ${principal}: ${status} ${code ?? ''}, expected ${expected}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('with Temporal stopped, every route answers within the deadline: 503 TEMPORAL_UNAVAILABLE where it needs Temporal', async () => {
    temporalStopped = true;
    await env.teardown();
    const unavailable: string[] = [];
    for (const route of routes) {
      const principal: Principal = route.permission === 'operate' ? 'operator' : route.permission === 'public' ? 'none' : 'tenantA';
      // An Idempotency-Key so the starts get as far as Temporal.
      const { status, code, ms } = await call(api.url, route, principal, { 'idempotency-key': 'route-matrix-down-1' });
      assert.ok(
        ms <= RPC_TIMEOUT_MS + ANSWER_MARGIN_MS,
        `${route.method} ${route.path} answered ${status} after ${ms} ms, past ${RPC_TIMEOUT_MS} + ${ANSWER_MARGIN_MS} ms`,
      );
      if (status === 503) {
        assert.equal(code, 'TEMPORAL_UNAVAILABLE', `${route.method} ${route.path}`);
        unavailable.push(`${route.method} ${route.path}`);
      } else {
        assert.ok(status < 500, `${route.method} ${route.path}: ${status} ${code ?? ''}`);
      }
    }
    // Routes that read a case by its id, readiness, the short link and a start need Temporal: each said so.
    for (const needs of [
      'GET /readyz',
      'GET /oauth/go/{state}',
      'GET /v1/efactura/invoices/{id}',
      'GET /v1/etransport/declarations/{id}',
      'GET /v1/banciws/messages/{id}',
      'POST /v1/connectivity-checks',
    ]) {
      assert.ok(unavailable.includes(needs), `${needs} should answer 503; 503s: ${unavailable.join(', ')}`);
    }
  });
});
