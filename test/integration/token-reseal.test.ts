import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { SweepSummary } from '../../activities/oauth';
import { KeyRing } from '../../lib/crypto/aes-gcm';
import { AesGcmPayloadCodec } from '../../lib/temporal/codec';
import { newSealingKeyPair } from '../../lib/crypto/sealed-box';
import { sealTokens } from '../../lib/crypto/sealed-tokens';
import { TokenSealBox, TokenSealer } from '../../lib/crypto/token-seal';
import { TENANT_A } from '../../devkit/config';
import { historyOf, tenantHistoryTexts } from '../../devkit/history';
import { hello, obtainTokens } from '../../devkit/oauth-walk';
import { ResealStack } from '../../devkit/reseal-stack';
import type { Stack } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';
import type { oauthAuthorization } from '../../workflows/oauth/authorization';
import { currentTokenQuery, refreshUpdate, statusQuery } from '../../workflows/oauth/definitions';
import { authorizationWorkflowId, type SealedTokens } from '../../workflows/oauth/types';

/**
 * Issue 15 item 5: a token key can be retired within a day. Tokens sealed under an older
 * public key, and tokens sealed the old symmetric way (TOKEN_ENCRYPTION_KEYS), are moved to
 * the newest key by the daily sweep; workers that no longer hold the old keys then still
 * refresh and use them. Real dev server, the sandbox as ANAF over HTTP.
 */

const NEW = newSealingKeyPair();
const OLD = newSealingKeyPair();
const DAY = 24 * 3600 * 1000;

describe('re-seal sweep', () => {
  const twoKeys = new ResealStack(NEW, OLD);
  let stack: Stack;

  before(async () => {
    stack = await twoKeys.start();
  });
  after(() => twoKeys.close());

  const keys = () => stack.config.tokenSealing;
  const only = (id: string) => twoKeys.only(id);

  /** Sealed as versions before public-key sealing did: AES-256-GCM under TOKEN_ENCRYPTION_KEYS. */
  function legacySealed(secret: string): string {
    const { keyId, data } = new KeyRing(keys().legacyKeys).encrypt(Buffer.from(secret));
    return `sealed:v1:${keyId}:${data.toString('base64url')}`;
  }

  async function freshTokens() {
    return obtainTokens(stack.sandbox.url, {
      clientId: 'anaf-flow-test-client',
      redirectUri: stack.config.anaf.redirectUri!,
      auth: { basic: ['anaf-flow-test-client', 'anaf-flow-test-secret'] },
    });
  }

  async function startLifecycle(cif: string, tokens: SealedTokens): Promise<WorkflowHandle<typeof oauthAuthorization>> {
    const key = { tenant: TENANT_A.tenant, cif, scope: 'EFACTURA' as const };
    const client = { credentialSetId: 'main', clientId: 'anaf-flow-test-client' };
    return stack.client.workflow.start<typeof oauthAuthorization>('oauthAuthorization', {
      workflowId: authorizationWorkflowId(key),
      taskQueue: stack.config.temporal.taskQueue,
      args: [
        {
          init: { ...key, ...client, settings: { refreshLeadMs: 30 * DAY, warnBeforeRefreshExpiryMs: 30 * DAY } },
          install: { tokens, source: 'AUTHORIZATION', ...client },
        },
      ],
    });
  }

  async function sweep(run: string): Promise<SweepSummary> {
    return stack.client.workflow.execute('oauthRefreshSweep', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `test-reseal-sweep-${process.pid}-${run}`,
      args: [],
    });
  }

  test('tokens under a retired key or TOKEN_ENCRYPTION_KEYS are re-sealed by the sweep and still work on workers without those keys; no secret in logs or histories', async () => {
    const plain = [await freshTokens(), await freshTokens()];
    const underOldKey = sealTokens(new TokenSealBox(only('old-1').publicKeys), {
      accessToken: plain[0]!.access_token,
      refreshToken: plain[0]!.refresh_token!,
    });
    const underLegacyKey = {
      ...sealTokens(new TokenSealBox(only('old-1').publicKeys), {
        accessToken: plain[1]!.access_token,
        refreshToken: plain[1]!.refresh_token!,
      }),
      sealedAccess: legacySealed(plain[1]!.access_token),
      sealedRefresh: legacySealed(plain[1]!.refresh_token!),
    };
    const handles = [await startLifecycle('14399840', underOldKey), await startLifecycle('18547290', underLegacyKey)];
    for (const h of handles) assert.equal((await h.query(statusQuery)).status, 'ACTIVE');
    // The sweep finds authorizations through visibility, which lags a little behind.
    await eventually(
      async () => {
        let n = 0;
        for await (const wf of stack.client.workflow.list({
          query: `AnafService = 'oauth' AND AnafTenant = '${TENANT_A.tenant}' AND ExecutionStatus = 'Running'`,
        }))
          n += wf ? 1 : 0;
        return n;
      },
      (n) => n === handles.length,
      'visibility lists both authorizations',
    );

    const first = await sweep('1');
    assert.equal(first.resealed, 2, `both re-sealed: ${JSON.stringify(first)}`);
    assert.equal(first.resealFailures, 0);
    for (const h of handles) {
      assert.match((await h.query(currentTokenQuery))!.sealedAccess, /^sealed:v2:new-2:/);
      assert.ok((await h.query(statusQuery)).recentEvents.some((e) => e.event === 'TOKENS_RESEALED'));
    }

    // Nothing left to do: the update's validator refuses, and no event is written.
    const lengths = await Promise.all(handles.map(async (h) => (await historyOf(stack.client, h.workflowId)).events!.length));
    const second = await sweep('2');
    assert.equal(second.resealed, 0);
    assert.equal(second.resealFailures, 0);
    assert.deepEqual(await Promise.all(handles.map(async (h) => (await historyOf(stack.client, h.workflowId)).events!.length)), lengths);

    // The old public key and TOKEN_ENCRYPTION_KEYS retired: workers hold the newest key only.
    await twoKeys.restartWorkersWith(only('new-2'));
    const retired = new TokenSealer(only('new-2'));
    const used: string[] = [];
    for (const h of handles) {
      const current = await h.executeUpdate(refreshUpdate, { args: [{ reason: 'FORCED' }] });
      const token = retired.open(current.sealedAccess);
      used.push(token);
      assert.equal((await hello(stack.sandbox.url, token)).status, 200, 'the refreshed token works at ANAF');
      assert.equal((await h.query(statusQuery)).status, 'ACTIVE');
    }

    const histories = await tenantHistoryTexts(
      stack.client,
      TENANT_A.tenant,
      new AesGcmPayloadCodec(stack.config.payloadKeys),
      handles.map((h) => h.workflowId),
    );
    const secrets = [
      ...plain.flatMap((t) => [t.access_token, t.refresh_token!]),
      ...used,
      NEW.privateKey,
      OLD.privateKey,
      ...keys().legacyKeys.map((k) => k.key.toString('base64')),
    ];
    for (const haystack of [...stack.logs, ...histories]) {
      for (const secret of secrets) assert.ok(!haystack.includes(secret), `secret material in: ${haystack.slice(0, 200)}`);
    }
  });
});
