import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { request } from 'undici';
import { FaultRuleError, HELLO_PATH, TOKEN_PATH, type TokenResponse } from '../../sandbox';
import { eventually } from '../../devkit/wait';
import { hello, obtainTokens, tokenRequest } from '../../devkit/oauth-walk';
import { useSandbox } from '../../devkit/use-sandbox';

const ctx = useSandbox({ seed: 42 });

beforeEach(() => ctx.sandbox.reset());

async function adminJson(method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown) {
  const res = await request(new URL(`/__sandbox${path}`, ctx.url), {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined };
}

async function token(): Promise<string> {
  return (await obtainTokens(ctx.url)).access_token;
}

describe('fault rules over HTTP', () => {
  test('PUT replaces the rules, GET lists them, DELETE clears them', async () => {
    const put = await adminJson('PUT', '/faults', {
      rules: [
        { route: '/TestOauth', status: 503 },
        { route: '^/anaf-oauth2/v1/token', latencyMs: 5 },
      ],
    });
    assert.equal(put.status, 200);
    const listed = await adminJson('GET', '/faults');
    assert.deepEqual(
      (listed.json?.rules as Array<{ route: string }>).map((r) => r.route),
      ['/TestOauth', '^/anaf-oauth2/v1/token'],
    );
    await adminJson('PUT', '/faults', { rules: [{ route: '/x', status: 500 }] });
    assert.equal(((await adminJson('GET', '/faults')).json?.rules as unknown[]).length, 1, 'PUT replaced, not appended');
    assert.equal((await adminJson('DELETE', '/faults')).status, 204);
    assert.deepEqual((await adminJson('GET', '/faults')).json?.rules, []);
  });

  test('an invalid rule is a 400 listing the problems, and the old rules stay', async () => {
    await adminJson('PUT', '/faults', { rules: [{ route: '/TestOauth', status: 503 }] });
    const bad = await adminJson('PUT', '/faults', {
      rules: [
        { route: '^(', status: 503 },
        { route: '/y' },
        { route: '/z', burst429: 2, status: 500 },
        { route: '/w', holdAnswer: true, resetAfterReceive: true },
      ],
    });
    assert.equal(bad.status, 400);
    const issues = (bad.json?.issues as string[]).join('\n');
    assert.match(issues, /regular expression/);
    assert.match(issues, /does nothing/);
    assert.match(issues, /burst429/);
    assert.match(issues, /either held or lost/);
    assert.equal((ctx.sandbox.faults.list()[0] as { status: number }).status, 503);
    assert.throws(() => ctx.sandbox.faults.set([{ route: '/a', errorRate: 2 }]), FaultRuleError);
  });

  test('admin routes are never faulted nor counted, even by a rule matching everything', async () => {
    ctx.sandbox.faults.set([{ route: '/', status: 500 }]);
    assert.equal((await adminJson('GET', '/state')).status, 200);
    assert.deepEqual(ctx.sandbox.state.counters.requests, {});
    assert.equal((await hello(ctx.url, undefined)).status, 500, 'but the service routes are');
  });
});

describe('fault effects', () => {
  test('forced status, on the method it names only', async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: HELLO_PATH, method: 'get', status: 502, body: '{"eroare":"gateway"}' }]);
    const res = await request(new URL(`${HELLO_PATH}?name=a`, ctx.url), { headers: { authorization: `Bearer ${access}` } });
    assert.equal(res.statusCode, 502);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.deepEqual(await res.body.json(), { eroare: 'gateway' });
    const post = await request(new URL(HELLO_PATH, ctx.url), { method: 'POST' });
    await post.body.dump();
    assert.equal(post.statusCode, 404, 'a POST passes through to the router');
    assert.equal(ctx.sandbox.state.counters.oauth.bearerAccepted, 0, 'the handler never ran');
  });

  test('burst429: exactly N answers are 429, then the route is normal again', async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: '^/TestOauth/', burst429: 3, retryAfterSeconds: 2 }]);
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const res = await request(new URL(`${HELLO_PATH}?name=b`, ctx.url), { headers: { authorization: `Bearer ${access}` } });
      await res.body.dump();
      statuses.push(res.statusCode);
      retryAfter ??= res.headers['retry-after'];
    }
    assert.deepEqual(statuses, [429, 429, 429, 200, 200]);
    assert.equal(retryAfter, '2');
    assert.deepEqual(ctx.sandbox.faults.list(), [], 'the rule expired');
    assert.equal(ctx.sandbox.state.counters.faults.burst429, 3);
    assert.equal(ctx.sandbox.state.requestsTo('GET', HELLO_PATH), 5);
  });

  test("html 'waf': the F5 rejection page with a support id, served 200", async () => {
    ctx.sandbox.faults.set([{ route: '/TestOauth', html: 'waf' }]);
    const res = await request(new URL(HELLO_PATH, ctx.url));
    const body = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(body, /The requested URL was rejected\. Please consult with your administrator\./);
    assert.match(body, /Your support ID is: \d{19}\b/);
  });

  test("html 'gateway' with a forced status", async () => {
    ctx.sandbox.faults.set([{ route: '/TestOauth', html: 'gateway', status: 503 }]);
    const res = await request(new URL(HELLO_PATH, ctx.url));
    const body = await res.body.text();
    assert.equal(res.statusCode, 503);
    assert.match(body, /<title>Pagina login<\/title>/);
  });

  test('holdAnswer: the handler runs, its answer is kept (listed) until released, then sent whole', { timeout: 30_000 }, async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: HELLO_PATH, holdAnswer: true, times: 1 }]);
    let answered = false;
    const pending = hello(ctx.url, access, 'held').finally(() => {
      answered = true;
    });
    const held = await eventually(
      async () => ctx.sandbox.faults.held(),
      (h) => h.length === 1,
      'the answer is held',
      10_000,
    );
    assert.equal(held[0]?.method, 'GET');
    assert.match(held[0]?.url ?? '', /^\/TestOauth\/jaxrs\/hello\?name=held$/);
    assert.equal(held[0]?.status, 200);
    assert.equal(ctx.sandbox.state.counters.oauth.bearerAccepted, 1, 'the handler ran');
    assert.equal(ctx.sandbox.state.counters.faults.holdAnswer, 1);
    assert.deepEqual(
      ((await adminJson('GET', '/faults')).json?.held as Array<{ id: number }>).map((h) => h.id),
      [held[0]?.id],
    );
    assert.equal(answered, false);
    const released = await adminJson('POST', '/faults/release', {});
    assert.deepEqual(released.json, { released: 1 });
    const res = await pending;
    assert.equal(res.status, 200);
    assert.match(res.body, /held/);
    assert.deepEqual(ctx.sandbox.faults.held(), []);
  });

  test('holdAnswer: a client that goes away loses the held answer, which was processed once', { timeout: 30_000 }, async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: HELLO_PATH, holdAnswer: true }]);
    const abort = new AbortController();
    const pending = request(new URL(`${HELLO_PATH}?name=gone`, ctx.url), {
      headers: { authorization: `Bearer ${access}` },
      signal: abort.signal,
    });
    await eventually(
      async () => ctx.sandbox.faults.held().length,
      (n) => n === 1,
      'the answer is held',
      10_000,
    );
    abort.abort();
    await assert.rejects(pending);
    await eventually(
      async () => ctx.sandbox.faults.held().length,
      (n) => n === 0,
      'the held answer is dropped',
      10_000,
    );
    assert.equal(ctx.sandbox.state.counters.faults.heldAnswerLost, 1);
    assert.equal(ctx.sandbox.state.counters.oauth.bearerAccepted, 1, 'processed once');
    assert.equal(ctx.sandbox.faults.release(), 0, 'nothing left to release');
  });

  test('times: the rule applies to the next N matching requests, then expires', async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: HELLO_PATH, status: 500, times: 2 }]);
    assert.equal(ctx.sandbox.faults.list()[0]?.remaining, 2);
    assert.equal((await hello(ctx.url, access)).status, 500);
    assert.equal(ctx.sandbox.faults.list()[0]?.remaining, 1);
    assert.equal((await hello(ctx.url, access)).status, 500);
    assert.equal((await hello(ctx.url, access)).status, 200);
    assert.equal(ctx.sandbox.faults.list().length, 0);
  });

  test('a later rule answers only when an earlier one did not; latency adds up', async () => {
    const access = await token();
    ctx.sandbox.faults.set([
      { route: HELLO_PATH, latencyMs: 30, times: 1 },
      { route: HELLO_PATH, status: 503, times: 1 },
      { route: HELLO_PATH, status: 504, times: 1 },
    ]);
    assert.equal((await hello(ctx.url, access)).status, 503);
    assert.deepEqual(
      ctx.sandbox.faults.list().map((r) => r.status),
      [504],
      'the skipped 504 rule was not consumed',
    );
    assert.equal((await hello(ctx.url, access)).status, 504);
  });

  test('resetAfterReceive: the refresh is processed (and rotated) but the client sees a socket error', async () => {
    ctx.sandbox.oauth.configure({ rejectReusedRefreshToken: true });
    const tokens = await obtainTokens(ctx.url);
    ctx.sandbox.faults.set([{ route: TOKEN_PATH, method: 'POST', resetAfterReceive: true, times: 1 }]);
    await assert.rejects(
      tokenRequest(ctx.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      (err: Error & { code?: string }) => {
        assert.match(String(err.code ?? err.name), /UND_ERR_SOCKET|ECONNRESET|SocketError/);
        return true;
      },
    );
    const c = ctx.sandbox.state.counters;
    assert.equal(c.oauth.refreshes, 1, 'the sandbox did the refresh');
    assert.equal(c.requests[`POST ${TOKEN_PATH}`], 2, 'both token requests counted');
    assert.equal(c.faults.resetAfterReceive, 1);
    // The lost answer carried the only valid refresh token: a retry with the old one is reuse.
    const retry = await tokenRequest(ctx.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(retry.status, 400);
    assert.equal(retry.json.error, 'invalid_grant');
  });

  test('errorRate is seeded: the same seed gives the same failures, 0 and 1 are never and always', async () => {
    const access = await token();
    const run = async (rate: number, seed: number, n = 20) => {
      ctx.sandbox.faults.set([{ route: HELLO_PATH, errorRate: rate }], { seed });
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await hello(ctx.url, access)).status);
      return out;
    };
    const a = await run(0.5, 7);
    const b = await run(0.5, 7);
    assert.deepEqual(a, b);
    assert.ok(a.includes(500) && a.includes(200), `a 50 % rate mixes answers: ${a.join(',')}`);
    assert.ok(a.every((s) => s === 500 || s === 200));
    assert.deepEqual(new Set(await run(0, 1)), new Set([200]));
    assert.deepEqual(new Set(await run(1, 1)), new Set([500]));
  });

  test('errorRate with resetAfterReceive loses a fraction of answers', async () => {
    const access = await token();
    ctx.sandbox.faults.set([{ route: HELLO_PATH, errorRate: 0.5, resetAfterReceive: true }], { seed: 3 });
    let lost = 0;
    for (let i = 0; i < 20; i++) {
      try {
        assert.equal((await hello(ctx.url, access)).status, 200);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        lost += 1;
      }
    }
    assert.ok(lost > 0 && lost < 20, `lost ${lost} of 20`);
    assert.equal(ctx.sandbox.state.counters.oauth.bearerAccepted, 20, 'every request reached the handler');
  });
});

// Delays run on the sandbox clock; here its base stands still, so only the test moves time:
// an answer goes out when the clock says so, never because real time passed.
describe('delays on the sandbox clock', () => {
  const base = Date.parse('2026-11-20T10:00:00Z');
  const timed = useSandbox({ seed: 42, now: () => base });
  beforeEach(() => timed.sandbox.reset());

  test(
    'latency holds the answer until the sandbox clock has moved latencyMs, and the answer is the real one',
    { timeout: 30_000 },
    async () => {
      const access = (await obtainTokens(timed.url)).access_token;
      timed.sandbox.faults.set([{ route: HELLO_PATH, latencyMs: 60_000 }]);
      let answered = false;
      const pending = hello(timed.url, access).finally(() => {
        answered = true;
      });
      await eventually(
        async () => timed.sandbox.state.counters.faults.latency,
        (n) => n === 1,
        'the request met the latency rule',
        10_000,
      );
      assert.equal(timed.sandbox.clock.pendingTimers, 1, 'its answer waits on the clock');
      timed.sandbox.clock.advance(59_999);
      assert.equal(timed.sandbox.clock.pendingTimers, 1, 'one ms short of latencyMs: still waiting');
      assert.equal(timed.sandbox.state.counters.oauth.bearerAccepted, 0, 'the handler has not run yet');
      assert.equal(answered, false);
      timed.sandbox.clock.advance(1);
      assert.equal(timed.sandbox.clock.pendingTimers, 0, 'latencyMs reached: let through');
      const res = await pending;
      assert.equal(res.status, 200);
      assert.match(res.body, /anaf-flow/);
      assert.equal(timed.sandbox.state.counters.oauth.bearerAccepted, 1);
    },
  );

  test('holdAnswer with a number: the answer goes out once the sandbox clock has moved that far', { timeout: 30_000 }, async () => {
    const access = (await obtainTokens(timed.url)).access_token;
    timed.sandbox.faults.set([{ route: HELLO_PATH, holdAnswer: 120_000, times: 1 }]);
    const pending = hello(timed.url, access);
    await eventually(
      async () => timed.sandbox.faults.held().length,
      (n) => n === 1,
      'the answer is held',
      10_000,
    );
    timed.sandbox.clock.advance(119_999);
    assert.equal(timed.sandbox.faults.held().length, 1, 'one ms short: still held');
    timed.sandbox.clock.advance(1);
    assert.equal(timed.sandbox.faults.held().length, 0);
    assert.equal((await pending).status, 200);
  });
});

describe('state and reset', () => {
  test('GET /__sandbox/state counts requests per route and OAuth activity', async () => {
    const tokens = await obtainTokens(ctx.url);
    await hello(ctx.url, tokens.access_token);
    await tokenRequest<TokenResponse>(ctx.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    const { json } = await adminJson('GET', '/state');
    const counters = json?.counters as { requests: Record<string, number>; oauth: { refreshes: number; codeExchanges: number } };
    assert.equal(counters.requests[`GET ${HELLO_PATH}`], 1);
    assert.equal(counters.requests[`POST ${TOKEN_PATH}`], 2);
    assert.equal(counters.requests['GET /anaf-oauth2/v1/authorize'], 1);
    assert.equal(counters.oauth.refreshes, 1);
    assert.equal(counters.oauth.codeExchanges, 1);
    assert.equal((json?.oauth as { liveFamilies: number }).liveFamilies, 1);
  });

  test('POST /__sandbox/reset zeroes counters, clears faults and the clock offset', async () => {
    await hello(ctx.url, undefined);
    ctx.sandbox.faults.set([{ route: '/', status: 500 }]);
    ctx.sandbox.clock.advance(3_600_000);
    assert.equal((await adminJson('POST', '/reset')).status, 204);
    assert.deepEqual(ctx.sandbox.state.counters.requests, {});
    assert.deepEqual(ctx.sandbox.faults.list(), []);
    assert.equal(ctx.sandbox.clock.offset, 0);
  });

  test('the clock can be moved over HTTP, for tests in another process', async () => {
    const before = ctx.sandbox.clock.now();
    const res = await adminJson('POST', '/clock', { advanceMs: 61_000 });
    assert.equal(res.status, 200);
    assert.ok((res.json?.now as number) - before >= 61_000);
    assert.equal((await adminJson('POST', '/clock', { advanceMs: 'soon' })).status, 400);
  });

  test('PATCH /__sandbox/oauth/options validates and applies', async () => {
    assert.equal((await adminJson('POST', '/oauth/options')).status, 404);
    const bad = await request(new URL('/__sandbox/oauth/options', ctx.url), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rotateRefreshTokens: 'yes' }),
    });
    await bad.body.dump();
    assert.equal(bad.statusCode, 400);
    const ok = await request(new URL('/__sandbox/oauth/options', ctx.url), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revokeRedirectsToGateway: true }),
    });
    const body = (await ok.body.json()) as { revokeRedirectsToGateway: boolean; signingKeyPem?: string };
    assert.equal(ok.statusCode, 200);
    assert.equal(body.revokeRedirectsToGateway, true);
    assert.equal(ctx.sandbox.oauth.options.revokeRedirectsToGateway, true);
  });
});
