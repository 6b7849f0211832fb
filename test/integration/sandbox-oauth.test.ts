import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { request } from 'undici';
import { ANAF_ISSUER, createSandbox, REVOKE_PATH, TOKEN_PATH, type TokenResponse } from '../../sandbox';
import {
  authorizeUrl,
  type ClientAuth,
  hello,
  obtainTokens,
  parseForms,
  SANDBOX_CLIENT,
  SANDBOX_REDIRECT_URI,
  tokenRequest,
  walkAuthorizePage,
} from '../../devkit/oauth-walk';
import { useSandbox } from '../../devkit/use-sandbox';

const OTHER_CLIENT = { clientId: 'other-erp', clientSecret: 'other-erp-secret', redirectUris: ['https://erp.example/callback'] };
const DAY_MS = 24 * 3600 * 1000;

const ctx = useSandbox({ oauth: { clients: [SANDBOX_CLIENT, OTHER_CLIENT] } });

function refresh(refreshToken: string, auth?: ClientAuth) {
  return tokenRequest<TokenResponse & { error?: string; error_description?: string }>(
    ctx.url,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    auth,
  );
}

type RevokeKind = 'access_token' | 'refresh_token';

/** ANAF's documented revoke: the token as Bearer, and client_id, client_secret and <kind>=<token> in a form. */
function revoke(token: string, kind: RevokeKind, client: { clientId: string; clientSecret: string } = SANDBOX_CLIENT) {
  return revokeRequest(
    { authorization: `Bearer ${token}` },
    { client_id: client.clientId, client_secret: client.clientSecret, [kind]: token },
  );
}

async function revokeRequest(headers: Record<string, string>, form: Record<string, string>) {
  const res = await request(new URL(REVOKE_PATH, ctx.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

beforeEach(() => ctx.sandbox.reset());

describe('authorize page and code exchange', () => {
  test('a plain HTTP client walks the certificate page, approves, and exchanges the code for JWTs', async () => {
    const page = await request(authorizeUrl(ctx.url, { state: 'st-42', certSerial: 'ab12cd34' }));
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const html = await page.body.text();
    assert.match(html, /AB12CD34/, 'the page shows the chosen certificate serial, normalized');

    const forms = parseForms(html);
    const approve = forms.find((f) => f.buttons.some((b) => b.name === 'decision' && b.value === 'approve'));
    assert.ok(approve, 'an approve form');
    assert.equal(approve.method, 'post');
    assert.ok(approve.fields.request, 'the hidden request field');

    const decision = await request(new URL(approve.action, ctx.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...approve.fields, decision: 'approve' }).toString(),
    });
    await decision.body.dump();
    assert.equal(decision.statusCode, 302);
    const location = new URL(String(decision.headers.location));
    assert.equal(`${location.origin}${location.pathname}`, SANDBOX_REDIRECT_URI);
    assert.equal(location.searchParams.get('state'), 'st-42');
    const code = location.searchParams.get('code');
    assert.ok(code);

    const res = await tokenRequest<TokenResponse>(ctx.url, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SANDBOX_REDIRECT_URI,
      token_content_type: 'jwt',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.expires_in, 90 * 24 * 3600);
    assert.equal(decodeJwt(res.json.access_token).sub, 'AB12CD34');
    assert.equal((await hello(ctx.url, res.json.access_token)).status, 200);

    const c = ctx.sandbox.state.counters.oauth;
    assert.equal(c.approvals, 1);
    assert.equal(c.codesIssued, 1);
    assert.equal(c.codeExchanges, 1);
    assert.equal(c.accessTokensIssued, 1);
    assert.equal(c.refreshTokensIssued, 1);
  });

  test('deny redirects with access_denied and the state, and no code', async () => {
    const r = await walkAuthorizePage(ctx.url, { decision: 'deny', state: 'deny-me' });
    assert.equal(r.error, 'access_denied');
    assert.equal(r.state, 'deny-me');
    assert.equal(r.code, undefined);
    assert.ok(r.location.searchParams.get('error_description'));
    assert.equal(ctx.sandbox.state.counters.oauth.denials, 1);
    assert.equal(ctx.sandbox.state.counters.oauth.codesIssued, 0);
  });

  test('a redirect_uri that is not registered gets an HTML error page, never a redirect', async () => {
    const res = await request(authorizeUrl(ctx.url, { redirectUri: 'http://localhost:8080/evil', state: 's' }));
    const body = await res.body.text();
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers.location, undefined);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(body, /redirect_uri/);
    assert.equal(parseForms(body).length, 0, 'nothing to approve');
  });

  test('an unknown client gets an HTML error page, never a redirect', async () => {
    const res = await request(authorizeUrl(ctx.url, { clientId: 'nobody' }));
    const body = await res.body.text();
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers.location, undefined);
    assert.match(body, /Unknown client_id/);
  });

  test('a response_type other than code is reported to the (trusted) redirect URI', async () => {
    const res = await request(authorizeUrl(ctx.url, { responseType: 'token', state: 'rt' }));
    await res.body.dump();
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(location.searchParams.get('state'), 'rt');
  });

  test('an authorize page answers once: posting its form again is refused', async () => {
    const html = await (await request(authorizeUrl(ctx.url))).body.text();
    const form = parseForms(html)[0];
    assert.ok(form);
    const post = () =>
      request(new URL(form.action, ctx.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form.fields, decision: 'approve' }).toString(),
      });
    const first = await post();
    await first.body.dump();
    assert.equal(first.statusCode, 302);
    const second = await post();
    await second.body.dump();
    assert.equal(second.statusCode, 400);
    assert.equal(second.headers.location, undefined);
  });

  test("the certificate chosen on the form becomes the tokens' subject, bound to the token", async () => {
    const tokens = await obtainTokens(ctx.url, { postedCertSerial: 'FEEDBEEF' });
    const helloAnswer = await hello(ctx.url, tokens.access_token, 'Test Hello App!');
    assert.equal(helloAnswer.status, 200);
    assert.match(helloAnswer.body, /^Hello, Test Hello App!\n/);
    assert.match(helloAnswer.body, /key=serial_certificate\nval=\[FEEDBEEF\]/);
    assert.match(helloAnswer.body, /key=issuer\nval=\[Anaf\]/);
    assert.doesNotMatch(helloAnswer.body, new RegExp(tokens.access_token.slice(10, 40)), 'the token is not echoed whole');
  });
});

describe('authorization code rules', () => {
  test('a code is single-use: the second exchange is invalid_grant and revokes what the first bought', async () => {
    const { code } = await walkAuthorizePage(ctx.url);
    assert.ok(code);
    const form = { grant_type: 'authorization_code', code, redirect_uri: SANDBOX_REDIRECT_URI, token_content_type: 'jwt' };
    const first = await tokenRequest<TokenResponse>(ctx.url, form);
    assert.equal(first.status, 200);
    assert.equal((await hello(ctx.url, first.json.access_token)).status, 200);

    const second = await tokenRequest(ctx.url, form);
    assert.equal(second.status, 400);
    assert.equal(second.json.error, 'invalid_grant');
    assert.equal((await hello(ctx.url, first.json.access_token)).status, 403, 'the first access token is revoked');
    assert.equal((await refresh(first.json.refresh_token)).json.error, 'invalid_grant', 'so is its refresh token');
    assert.equal(ctx.sandbox.state.counters.oauth.codeReuses, 1);
    assert.equal(ctx.sandbox.state.counters.oauth.familiesRevoked, 1);
  });

  test('a code is exchangeable for 60 s by the sandbox clock, not a moment longer', async () => {
    const fresh = await walkAuthorizePage(ctx.url);
    const stale = await walkAuthorizePage(ctx.url);
    ctx.sandbox.clock.advance(59_000);
    const inTime = await tokenRequest(ctx.url, {
      grant_type: 'authorization_code',
      code: fresh.code as string,
      redirect_uri: SANDBOX_REDIRECT_URI,
    });
    assert.equal(inTime.status, 200);
    ctx.sandbox.clock.advance(1_000);
    const late = await tokenRequest(ctx.url, {
      grant_type: 'authorization_code',
      code: stale.code as string,
      redirect_uri: SANDBOX_REDIRECT_URI,
    });
    assert.equal(late.status, 400);
    assert.equal(late.json.error, 'invalid_grant');
    assert.match(String(late.json.error_description), /expired/);
    assert.equal(ctx.sandbox.state.counters.oauth.expiredCodes, 1);
  });

  test('the redirect_uri of the exchange must equal the authorize one', async () => {
    const { code } = await walkAuthorizePage(ctx.url);
    const res = await tokenRequest(ctx.url, {
      grant_type: 'authorization_code',
      code: code as string,
      redirect_uri: SANDBOX_CLIENT.redirectUris[1] as string,
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
  });

  test('a code can only be exchanged by the client it was issued to', async () => {
    const { code } = await walkAuthorizePage(ctx.url);
    const res = await tokenRequest(
      ctx.url,
      { grant_type: 'authorization_code', code: code as string, redirect_uri: SANDBOX_REDIRECT_URI },
      { basic: [OTHER_CLIENT.clientId, OTHER_CLIENT.clientSecret] },
    );
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
  });

  test('without token_content_type=jwt the tokens are opaque, and still work', async () => {
    const tokens = await obtainTokens(ctx.url, { tokenContentType: null });
    assert.equal(tokens.access_token.split('.').length, 1);
    assert.notEqual(tokens.access_token, tokens.refresh_token);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
    const refreshed = await refresh(tokens.refresh_token);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.json.access_token.split('.').length, 1, 'a refresh keeps the format');
  });
});

describe('client authentication and request errors', () => {
  const form = () => ({ grant_type: 'refresh_token', refresh_token: 'whatever' });

  test('a wrong secret over Basic is 401 invalid_client with WWW-Authenticate', async () => {
    const res = await tokenRequest(ctx.url, form(), { basic: [SANDBOX_CLIENT.clientId, 'wrong'] });
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
    assert.match(String(res.headers['www-authenticate']), /^Basic /);
  });

  test('a wrong secret in the form is 401 invalid_client', async () => {
    const res = await tokenRequest(ctx.url, form(), { form: [SANDBOX_CLIENT.clientId, 'wrong'] });
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
  });

  test('form client authentication with the right secret works for a real exchange', async () => {
    const tokens = await obtainTokens(ctx.url, { auth: { form: [SANDBOX_CLIENT.clientId, SANDBOX_CLIENT.clientSecret] } });
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
  });

  test('no client authentication, an unknown client, or both methods at once are refused', async () => {
    const none = await tokenRequest(ctx.url, form(), 'none');
    assert.equal(none.status, 401);
    assert.equal(none.json.error, 'invalid_client');
    const unknown = await tokenRequest(ctx.url, form(), { basic: ['ghost', 'ghost'] });
    assert.equal(unknown.status, 401);
    const both = await tokenRequest(ctx.url, { ...form(), client_secret: SANDBOX_CLIENT.clientSecret });
    assert.equal(both.status, 400);
    assert.equal(both.json.error, 'invalid_request');
    assert.equal(ctx.sandbox.state.counters.oauth.errors.invalid_client, 2);
  });

  test('an unknown grant type, a missing code, or a JSON body are OAuth errors', async () => {
    const grant = await tokenRequest(ctx.url, { grant_type: 'password' });
    assert.equal(grant.status, 400);
    assert.equal(grant.json.error, 'unsupported_grant_type');
    const missing = await tokenRequest(ctx.url, { grant_type: 'authorization_code', redirect_uri: SANDBOX_REDIRECT_URI });
    assert.equal(missing.json.error, 'invalid_request');
    const json = await request(new URL(TOKEN_PATH, ctx.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token' }),
    });
    assert.equal(json.statusCode, 400);
    assert.equal(((await json.body.json()) as { error: string }).error, 'invalid_request');
  });
});

describe('refresh tokens (ANAF defaults: rotate, old token still accepted)', () => {
  test('each refresh returns a new pair; counters per client and per family', async () => {
    const first = await obtainTokens(ctx.url);
    const family = (await ctx.sandbox.oauth.inspect(first.refresh_token))?.familyId;
    assert.ok(family);
    const second = await refresh(first.refresh_token);
    assert.equal(second.status, 200);
    assert.notEqual(second.json.refresh_token, first.refresh_token, 'rotated');
    assert.notEqual(second.json.access_token, first.access_token);
    assert.equal((await hello(ctx.url, second.json.access_token)).status, 200);
    const third = await refresh(second.json.refresh_token);
    assert.equal(third.status, 200);
    const c = ctx.sandbox.state.counters.oauth;
    assert.equal(c.refreshes, 2);
    assert.equal(c.refreshesByClient[SANDBOX_CLIENT.clientId], 2);
    assert.equal(c.refreshesByFamily[family], 2);
    assert.equal((await ctx.sandbox.oauth.inspect(third.json.refresh_token))?.familyId, family, 'one family across rotations');
  });

  test('with reuse allowed (ANAF\'s "both can be reused"), a rotated-out refresh token still works', async () => {
    const first = await obtainTokens(ctx.url);
    assert.equal((await refresh(first.refresh_token)).status, 200);
    const again = await refresh(first.refresh_token);
    assert.equal(again.status, 200);
    assert.equal(ctx.sandbox.state.counters.oauth.rejectedReuses, 0);
  });

  test('refresh JWTs carry their own 365-day expiry; past it the refresh is invalid_grant', async () => {
    const tokens = await obtainTokens(ctx.url);
    const claims = decodeJwt(tokens.refresh_token);
    assert.equal((claims.exp as number) - (claims.iat as number), 365 * 24 * 3600);
    ctx.sandbox.clock.advance(366 * DAY_MS);
    const res = await refresh(tokens.refresh_token);
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
    assert.match(String(res.json.error_description), /expired/);
  });

  test('an access token expires after 90 days: hello answers 403, a refresh mints a working one', async () => {
    const tokens = await obtainTokens(ctx.url);
    ctx.sandbox.clock.advance(90 * DAY_MS + 1_000);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 403);
    const res = await refresh(tokens.refresh_token);
    assert.equal(res.status, 200);
    assert.equal((await hello(ctx.url, res.json.access_token)).status, 200);
  });

  test('a refresh token works only for the client it was issued to', async () => {
    const tokens = await obtainTokens(ctx.url);
    const res = await refresh(tokens.refresh_token, { basic: [OTHER_CLIENT.clientId, OTHER_CLIENT.clientSecret] });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
  });

  test('an access token is not a refresh token, nor the other way round', async () => {
    const tokens = await obtainTokens(ctx.url);
    assert.equal((await refresh(tokens.access_token)).json.error, 'invalid_grant');
    assert.equal((await hello(ctx.url, tokens.refresh_token)).status, 403);
  });

  test('the options can be switched at runtime; reset restores them', async () => {
    ctx.sandbox.oauth.configure({ rotateRefreshTokens: false });
    const tokens = await obtainTokens(ctx.url);
    const res = await refresh(tokens.refresh_token);
    assert.equal(res.status, 200);
    assert.equal(res.json.refresh_token, tokens.refresh_token, 'no rotation: the same refresh token comes back');
    ctx.sandbox.reset();
    assert.equal(ctx.sandbox.oauth.options.rotateRefreshTokens, true);
  });
});

describe('refresh token reuse detection (rejectReusedRefreshToken)', () => {
  const strict = useSandbox({ oauth: { rejectReusedRefreshToken: true, rotateRefreshTokens: true } });

  test('a rotated-out refresh token is invalid_grant and the whole family is revoked', async () => {
    const first = await obtainTokens(strict.url);
    const second = await tokenRequest<TokenResponse>(strict.url, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(second.status, 200);
    assert.equal((await hello(strict.url, second.json.access_token)).status, 200);

    const replay = await tokenRequest(strict.url, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');

    // Reuse detection: the legitimate holder's newest tokens die too.
    assert.equal((await hello(strict.url, second.json.access_token)).status, 403);
    const newest = await tokenRequest(strict.url, { grant_type: 'refresh_token', refresh_token: second.json.refresh_token });
    assert.equal(newest.json.error, 'invalid_grant');
    const c = strict.sandbox.state.counters.oauth;
    assert.equal(c.rejectedReuses, 1);
    assert.equal(c.familiesRevoked, 1);
    assert.equal(c.refreshes, 1);
    assert.match(String((await strict.sandbox.oauth.inspect(second.json.access_token))?.familyRevokedReason), /reuse/);
  });

  test("a different grant of the same user is not touched by another family's reuse", async () => {
    const a = await obtainTokens(strict.url);
    const b = await obtainTokens(strict.url);
    await tokenRequest(strict.url, { grant_type: 'refresh_token', refresh_token: a.refresh_token });
    await tokenRequest(strict.url, { grant_type: 'refresh_token', refresh_token: a.refresh_token });
    assert.equal((await hello(strict.url, b.access_token)).status, 200);
  });
});

describe('revocation', () => {
  test('revoking the access token makes hello answer 403 and ends the refresh token too', async () => {
    const tokens = await obtainTokens(ctx.url);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
    const res = await revoke(tokens.access_token, 'access_token');
    assert.equal(res.status, 200);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 403);
    assert.equal((await refresh(tokens.refresh_token)).json.error, 'invalid_grant');
    assert.equal(ctx.sandbox.state.counters.oauth.revocations, 1);
  });

  test('revoking the refresh token kills every access token of its family', async () => {
    const tokens = await obtainTokens(ctx.url);
    const refreshed = await refresh(tokens.refresh_token);
    assert.equal((await revoke(refreshed.json.refresh_token, 'refresh_token')).status, 200);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 403);
    assert.equal((await hello(ctx.url, refreshed.json.access_token)).status, 403);
  });

  test("an unknown token is a 200 (RFC 7009); another client's token is refused and stays valid", async () => {
    assert.equal((await revoke('not-a-token', 'access_token')).status, 200);
    const tokens = await obtainTokens(ctx.url);
    const res = await revoke(tokens.access_token, 'access_token', OTHER_CLIENT);
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'unauthorized_client');
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
    assert.equal(ctx.sandbox.state.counters.oauth.revocations, 0);
  });

  test("revoke needs the client's id and secret in the form", async () => {
    const tokens = await obtainTokens(ctx.url);
    const wrong = await revoke(tokens.access_token, 'access_token', { clientId: SANDBOX_CLIENT.clientId, clientSecret: 'ghost' });
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).error, 'invalid_client');
    const noCredentials = await revokeRequest({ authorization: `Bearer ${tokens.access_token}` }, { access_token: tokens.access_token });
    assert.equal(noCredentials.status, 401, 'no client credentials in the form');
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
  });

  test("only ANAF's form is accepted: RFC 7009 token/token_type_hint, no Bearer, a different Bearer, or both tokens are refused", async () => {
    const tokens = await obtainTokens(ctx.url);
    const credentials = { client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret };
    const basic = `Basic ${Buffer.from(`${SANDBOX_CLIENT.clientId}:${SANDBOX_CLIENT.clientSecret}`).toString('base64')}`;
    const refused = [
      await revokeRequest({ authorization: basic }, { token: tokens.refresh_token, token_type_hint: 'refresh_token' }),
      await revokeRequest(
        { authorization: `Bearer ${tokens.refresh_token}` },
        { ...credentials, token: tokens.refresh_token, token_type_hint: 'refresh_token' },
      ),
      await revokeRequest({}, { ...credentials, refresh_token: tokens.refresh_token }),
      await revokeRequest({ authorization: `Bearer ${tokens.access_token}` }, { ...credentials, refresh_token: tokens.refresh_token }),
      await revokeRequest(
        { authorization: `Bearer ${tokens.refresh_token}` },
        { ...credentials, refresh_token: tokens.refresh_token, access_token: tokens.access_token },
      ),
    ];
    for (const res of refused) {
      assert.ok(res.status === 400 || res.status === 401, `${res.status} ${res.body}`);
      assert.match(JSON.parse(res.body).error, /^invalid_(request|client)$/);
    }
    assert.equal(ctx.sandbox.state.counters.oauth.revocations, 0);
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
    assert.equal((await refresh(tokens.refresh_token)).status, 200, 'the refresh token still works');
  });

  test("revokeRedirectsToGateway: 302 to /my.policy like ANAF's F5, and nothing is revoked", async () => {
    ctx.sandbox.oauth.configure({ revokeRedirectsToGateway: true });
    const tokens = await obtainTokens(ctx.url);
    const res = await revoke(tokens.access_token, 'access_token');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/my.policy');
    assert.ok(String(res.headers['set-cookie']).includes('MRHSession='));
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 200);
    assert.equal(ctx.sandbox.state.counters.oauth.gatewayRedirects, 1);
    const policy = await request(new URL('/my.policy', ctx.url));
    assert.equal(policy.statusCode, 200);
    assert.match(await policy.body.text(), /<html/i);
  });
});

describe('JWTs and the API host', () => {
  test('the access JWT verifies with the sandbox public key: RS512, ANAF issuer, subject, client, jti, times', async () => {
    const tokens = await obtainTokens(ctx.url, { certSerial: '0123abcd' });
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, ctx.sandbox.oauthPublicKey, {
      algorithms: ['RS512'],
      issuer: ANAF_ISSUER,
      currentDate: new Date(ctx.sandbox.clock.now()),
    });
    assert.equal(protectedHeader.alg, 'RS512');
    assert.equal(payload.iss, 'https://logincert.anaf.ro');
    assert.equal(payload.sub, '0123ABCD');
    assert.equal(payload.client_id, SANDBOX_CLIENT.clientId);
    assert.equal(payload.token_type, 'access_token');
    assert.equal(typeof payload.jti, 'string');
    assert.equal(payload.nbf, payload.iat);
    assert.equal((payload.exp as number) - (payload.iat as number), 90 * 24 * 3600);
    const refreshClaims = decodeJwt(tokens.refresh_token);
    assert.equal(refreshClaims.token_type, 'refresh_token');
    assert.notEqual(refreshClaims.jti, payload.jti);
  });

  test('the JWKS endpoint publishes the same key', async () => {
    const tokens = await obtainTokens(ctx.url);
    const res = await request(new URL('/__sandbox/oauth/jwks', ctx.url));
    const jwks = (await res.body.json()) as Parameters<typeof createLocalJWKSet>[0];
    const key = jwks.keys[0];
    assert.equal(key?.alg, 'RS512');
    assert.equal(key?.kid, decodeProtectedHeader(tokens.access_token).kid);
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
      issuer: ANAF_ISSUER,
      currentDate: new Date(ctx.sandbox.clock.now()),
    });
    assert.equal(payload.client_id, SANDBOX_CLIENT.clientId);
  });

  test('hello: 200 with a valid token; 403 without one, with garbage, or with a forged signature', async () => {
    const tokens = await obtainTokens(ctx.url);
    const ok = await hello(ctx.url, tokens.access_token, 'X');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^Hello, X\n/);
    assert.equal((await hello(ctx.url, undefined)).status, 403);
    assert.equal((await hello(ctx.url, 'garbage')).status, 403);

    // Same claims, same jti, signed by someone else's key.
    const claims = decodeJwt(tokens.access_token);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS512' }).sign(privateKey);
    assert.equal((await hello(ctx.url, forged)).status, 403);
    // The jti alone is not a token, though opaque tokens are looked up by their value.
    assert.equal((await hello(ctx.url, String(claims.jti))).status, 403);
    const c = ctx.sandbox.state.counters.oauth;
    assert.equal(c.bearerAccepted, 1);
    assert.equal(c.bearerRejected, 4);
  });

  test('a signing key given as PEM is used instead of a fresh one, and a weak key is refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const own = await createSandbox({ port: 0, oauth: { signingKeyPem: pem } });
    try {
      const tokens = await obtainTokens(own.url);
      const { payload } = await jwtVerify(tokens.access_token, publicKey, { issuer: ANAF_ISSUER, currentDate: new Date(own.clock.now()) });
      assert.equal(payload.client_id, SANDBOX_CLIENT.clientId);
      assert.ok(own.oauthPublicKey.equals(publicKey));
    } finally {
      await own.close();
    }
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await assert.rejects(createSandbox({ port: 0, oauth: { signingKeyPem: weak } }), /2048/);
  });

  test('reset forgets every grant: tokens issued before it are refused', async () => {
    const tokens = await obtainTokens(ctx.url);
    ctx.sandbox.reset();
    // The signature is still good; the IdP no longer knows the token, and its word is final.
    assert.equal((await hello(ctx.url, tokens.access_token)).status, 403);
    assert.equal(ctx.sandbox.state.counters.oauth.bearerRejected, 1);
  });
});
