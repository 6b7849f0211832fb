import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sandboxOptionsFromEnv } from '../../sandbox/env-options';

describe('sandbox options from the environment', () => {
  test('defaults: port 9400 on loopback, the default client with both loopback callbacks', () => {
    const o = sandboxOptionsFromEnv({});
    assert.equal(o.port, 9400);
    assert.equal(o.host, '127.0.0.1');
    assert.deepEqual(o.oauth.clients, [
      {
        clientId: 'anaf-flow-sandbox-client',
        clientSecret: 'anaf-flow-sandbox-secret',
        redirectUris: ['http://localhost:8080/oauth/callback', 'http://127.0.0.1:8080/oauth/callback'],
      },
    ]);
    assert.equal(o.oauth.accessTokenTtlSeconds, undefined, 'ANAF defaults apply');
  });

  test("the app's own client settings are registered, so npm run dev works on any API port", () => {
    const o = sandboxOptionsFromEnv({
      SANDBOX_PORT: '9555',
      API_PORT: '8181',
      SANDBOX_ACCESS_TOKEN_TTL: '120',
      SANDBOX_REFRESH_TOKEN_TTL: '600',
      ANAF_OAUTH_CLIENTS: JSON.stringify([
        { id: 'second', clientId: 'c2', clientSecret: 's2', redirectUri: 'http://localhost:8181/oauth/callback' },
      ]),
    });
    assert.equal(o.port, 9555);
    assert.equal(o.oauth.accessTokenTtlSeconds, 120);
    assert.equal(o.oauth.refreshTokenTtlSeconds, 600);
    const main = o.oauth.clients?.find((c) => c.clientId === 'anaf-flow-sandbox-client');
    assert.ok(main?.redirectUris.includes('http://localhost:8181/oauth/callback'));
    assert.ok(main?.redirectUris.includes('http://localhost:8080/oauth/callback'));
    assert.deepEqual(o.oauth.clients?.find((c) => c.clientId === 'c2')?.redirectUris, ['http://localhost:8181/oauth/callback']);
  });

  test("bad values are refused with the variable's name", () => {
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_PORT: 'ninety' }), /SANDBOX_PORT/);
    assert.throws(() => sandboxOptionsFromEnv({ SANDBOX_ACCESS_TOKEN_TTL: '-5' }), /SANDBOX_ACCESS_TOKEN_TTL/);
    assert.throws(() => sandboxOptionsFromEnv({ ANAF_OAUTH_CLIENTS: '{' }), /ANAF_OAUTH_CLIENTS/);
    assert.throws(
      () => sandboxOptionsFromEnv({ ANAF_CLIENT_ID: 'anaf-flow-sandbox-client', ANAF_CLIENT_SECRET: 'different' }),
      /different secrets/,
    );
  });
});
