import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OAuthCredentialSet } from '../../lib/config/config';
import {
  authorizeUrl,
  newRequestId,
  newRequestLinks,
  parseState,
  pickCredentialSet,
  sameStateHash,
  shortUrlFor,
  stateFor,
  stateHash,
  stateOfLink,
} from '../../api/oauth-requests';

const main: OAuthCredentialSet = {
  id: 'main',
  clientId: 'c1',
  clientSecret: 's1',
  redirectUri: 'https://erp.example/oauth/callback',
  scopes: ['EFACTURA', 'ETRANSPORT'],
};
const other: OAuthCredentialSet = {
  id: 'eu',
  clientId: 'c2',
  clientSecret: 's2',
  redirectUri: 'https://eu.erp.example/anaf/oauth/callback',
  scopes: ['EFACTURA'],
};
const config = {
  oauth: {
    credentialSets: [main, other],
    refreshLeadMs: 0,
    warnBeforeRefreshExpiryMs: 0,
    requestTtlMs: 0,
    browserRateLimit: { burst: 1, perMinute: 1 },
  },
};

test('the callback URL picks its credential set; otherwise the main one', () => {
  assert.equal(pickCredentialSet(config, 'EFACTURA').id, 'main');
  assert.equal(pickCredentialSet(config, 'EFACTURA', other.redirectUri).id, 'eu');
  assert.throws(() => pickCredentialSet(config, 'ETRANSPORT', other.redirectUri), /no OAuth credential set for scope ETRANSPORT/);
  assert.throws(() => pickCredentialSet(config, 'EFACTURA', 'https://evil.example/cb'), /registered with callback/);
});

test('state round-trips and only well-formed states parse', () => {
  const id = newRequestId();
  assert.equal(id.length, 32);
  assert.notEqual(newRequestId(), id);
  assert.deepEqual(parseState(stateFor('acme', id)), { tenant: 'acme', requestId: id });
  for (const bad of ['', 'acme', `acme.${id}x`, `ACME.${id}`, `acme.${id.slice(1)}`, `ac/me.${id}`, `acme.${id}.x`]) {
    assert.equal(parseState(bad), undefined, bad);
  }
});

test("ANAF's authorize URL carries code flow, client, callback, jwt and state", () => {
  const url = new URL(authorizeUrl('https://logincert.anaf.ro/anaf-oauth2/v1', main, 'acme.x'));
  assert.equal(url.origin + url.pathname, 'https://logincert.anaf.ro/anaf-oauth2/v1/authorize');
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('client_id'), 'c1');
  assert.equal(url.searchParams.get('redirect_uri'), main.redirectUri);
  assert.equal(url.searchParams.get('token_content_type'), 'jwt');
  assert.equal(url.searchParams.get('state'), 'acme.x');
});

test('the short URL lives on the callback host', () => {
  assert.equal(shortUrlFor(main, 'acme.x'), 'https://erp.example/oauth/go/acme.x');
  assert.equal(shortUrlFor(other, 'acme.x'), 'https://eu.erp.example/anaf/oauth/go/acme.x');
});

test("a new request's state has a secret part the request id does not give, kept only as its hash; its short link is not the state", () => {
  const id = newRequestId();
  const made = newRequestLinks('https://logincert.anaf.ro/anaf-oauth2/v1', main, 'acme', id);
  const state = new URL(made.url).searchParams.get('state')!;
  const parsed = parseState(state);
  assert.equal(parsed?.tenant, 'acme');
  assert.equal(parsed?.requestId, id);
  assert.equal(parsed?.secret?.length, 32);
  assert.deepEqual(made.init, { state: '', authorizeUrl: '', shortUrl: '', stateHash: stateHash(state), signInUrl: made.init.signInUrl });
  assert.equal(new URL(made.init.signInUrl).searchParams.has('state'), false);
  assert.ok(!JSON.stringify(made.init).includes(parsed!.secret!), 'nothing of the secret for Temporal');
  const token = decodeURIComponent(made.shortUrl.split('/go/')[1]!);
  assert.notEqual(token, state);
  assert.ok(!made.shortUrl.includes(parsed!.secret!));
  assert.equal(stateOfLink(token), state, 'the short link leads to the state');
  assert.equal(stateOfLink(state) === state, false, 'the state does not lead to itself (one-way)');
  assert.equal(stateOfLink(stateFor('acme', id)), undefined, 'a legacy link has no derived state');
  assert.ok(sameStateHash(stateHash(state), made.init.stateHash));
  assert.ok(!sameStateHash(stateHash(`${state}x`), made.init.stateHash));
  assert.ok(!sameStateHash('abc', made.init.stateHash));
});
