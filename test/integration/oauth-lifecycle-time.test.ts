import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sealTokens } from '../../lib/crypto/sealed-tokens';
import { TokenSealer } from '../../lib/crypto/token-seal';
import type { oauthAuthorization } from '../../workflows';
import { statusQuery } from '../../workflows/oauth/definitions';
import { authorizationWorkflowId, type OAuthScope } from '../../workflows/oauth/types';
import { TENANT_A } from '../../devkit/config';
import { obtainTokens } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { startTimeSkippingServer } from '../../devkit/temporal-env';

const DAY = 86_400_000;

/** Months of an authorization's life in seconds of test time, on the time-skipping server. */
describe('token lifecycle over months (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let stack: Stack;

  before(async () => {
    env = await startTimeSkippingServer();
    stack = await startStack({ env });
  });
  after(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function startLifecycle(cif: string, scope: OAuthScope) {
    const tokens = await obtainTokens(stack.sandbox.url, {
      clientId: 'anaf-flow-test-client',
      redirectUri: stack.config.anaf.redirectUri!,
      auth: { basic: ['anaf-flow-test-client', 'anaf-flow-test-secret'] },
    });
    const sealer = new TokenSealer(stack.config.tokenSealing);
    const key = { tenant: TENANT_A.tenant, cif, scope };
    const handle = await env.client.workflow.start<typeof oauthAuthorization>('oauthAuthorization', {
      workflowId: authorizationWorkflowId(key),
      taskQueue: stack.config.temporal.taskQueue,
      args: [
        {
          init: {
            ...key,
            credentialSetId: 'main',
            clientId: 'anaf-flow-test-client',
            settings: { refreshLeadMs: 30 * DAY, warnBeforeRefreshExpiryMs: 30 * DAY },
          },
          install: {
            tokens: sealTokens(sealer, { accessToken: tokens.access_token, refreshToken: tokens.refresh_token! }),
            source: 'AUTHORIZATION',
            credentialSetId: 'main',
            clientId: 'anaf-flow-test-client',
          },
        },
      ],
    });
    return handle;
  }

  test('refreshes on its own 30 days before the 90-day access token expires, and again 60 days later', async () => {
    const refreshes = stack.sandbox.state.counters.oauth.refreshes;
    const handle = await startLifecycle('14399840', 'EFACTURA');
    const start = await env.currentTimeMs();
    let view = await handle.query(statusQuery);
    assert.equal(view.status, 'ACTIVE');
    assert.equal(view.refreshCount, 0);

    await env.sleep(59 * DAY);
    view = await handle.query(statusQuery);
    assert.equal(view.refreshCount, 0, 'nothing happens before day 60');

    await env.sleep(2 * DAY);
    view = await handle.query(statusQuery);
    assert.equal(view.refreshCount, 1, 'one refresh at day 60');
    assert.equal(view.status, 'ACTIVE');
    const refreshedAt = Date.parse(view.lastRefreshAt!);
    assert.ok(Math.abs(refreshedAt - (start + 60 * DAY)) < DAY, `refreshed at day ${(refreshedAt - start) / DAY}`);
    assert.equal(stack.sandbox.state.counters.oauth.refreshes, refreshes + 1, 'exactly one refresh reached ANAF');

    await env.sleep(60 * DAY);
    view = await handle.query(statusQuery);
    assert.equal(view.refreshCount, 2, 'and the next one 60 days later');
    assert.equal(stack.sandbox.state.counters.oauth.refreshes, refreshes + 2);
  });

  test('warns before a refresh token that does not rotate lapses', async () => {
    stack.sandbox.oauth.configure({ rotateRefreshTokens: false, refreshTokenTtlSeconds: 100 * 86_400 });
    try {
      const handle = await startLifecycle('18547290', 'EFACTURA');
      let view = await handle.query(statusQuery);
      assert.equal(view.refreshTokenExpiringSoon, false);
      await env.sleep(69 * DAY);
      view = await handle.query(statusQuery);
      assert.equal(view.refreshTokenExpiringSoon, false, 'day 69: more than 30 days left');
      await env.sleep(2 * DAY);
      view = await handle.query(statusQuery);
      assert.equal(view.refreshTokenExpiringSoon, true, 'day 71: under 30 days left');
      assert.ok(view.recentEvents.some((e) => e.event === 'REFRESH_TOKEN_EXPIRING_SOON'));
    } finally {
      stack.sandbox.oauth.configure({ rotateRefreshTokens: true, refreshTokenTtlSeconds: 365 * 86_400 });
    }
  });
});
