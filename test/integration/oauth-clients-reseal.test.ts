import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { request } from 'undici';
import type { SweepSummary } from '../../activities/oauth';
import { newSealingKeyPair } from '../../lib/crypto/sealed-box';
import { TokenSealBox } from '../../lib/crypto/token-seal';
import { withCheckDigit } from '../../schemas/cif';
import {
  addClientUpdate,
  CLIENT_REGISTRY_WORKFLOW_ID,
  clientsQuery,
  type oauthClientRegistry,
} from '../../workflows/oauth/client-registry';
import { callApi } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { historyOf } from '../../devkit/history';
import { consentAtAnaf } from '../../devkit/oauth-walk';
import { ResealStack } from '../../devkit/reseal-stack';
import type { Stack } from '../../devkit/stack';

/**
 * The re-seal sweep covers the client secrets operators added through the API (issue 16
 * item 6): a secret sealed to an older TOKEN_SEALING key is moved to the newest, so the old key
 * can be retired, and workers holding only the newest key still sign companies in with the set.
 */

const NEW = newSealingKeyPair();
const OLD = newSealingKeyPair();

describe('re-seal sweep: OAuth client secrets', () => {
  const keys = new ResealStack(NEW, OLD);
  let stack: Stack;
  before(async () => {
    stack = await keys.start();
  });
  after(() => keys.close());

  const sweep = (run: string): Promise<SweepSummary> =>
    stack.client.workflow.execute('oauthRefreshSweep', {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: `test-client-reseal-${process.pid}-${run}`,
      args: [],
    });

  test('a secret sealed to a retired key is re-sealed by the sweep, once, and still signs a company in on workers without that key', async () => {
    const redirectUri = `${stack.apiUrl}/oauth/callback?client=resealed`;
    const set = { id: 'resealed', clientId: 'erp-resealed', redirectUri, scopes: ['EFACTURA' as const] };
    stack.sandbox.oauth.configure({
      clients: [
        ...stack.sandbox.oauth.options.clients,
        { clientId: set.clientId, clientSecret: 'resealed-secret', redirectUris: [redirectUri] },
      ],
    });
    // Added while old-1 was the newest key: the API sealed it to that one.
    const sealedSecret = new TokenSealBox(keys.only('old-1').publicKeys).seal('resealed-secret');
    await stack.client.workflow.executeUpdateWithStart(addClientUpdate, {
      args: [{ ...set, sealedSecret }],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof oauthClientRegistry>('oauthClientRegistry', {
        workflowId: CLIENT_REGISTRY_WORKFLOW_ID,
        taskQueue: stack.config.temporal.taskQueue,
        args: [{}],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    const registry = stack.client.workflow.getHandle(CLIENT_REGISTRY_WORKFLOW_ID);

    const first = await sweep('1');
    assert.equal(first.resealed, 1, JSON.stringify(first));
    assert.equal(first.resealFailures, 0);
    assert.match((await registry.query(clientsQuery)).find((c) => c.id === set.id)!.sealedSecret, /^sealed:v2:new-2:/);
    // Nothing left to do: the validator refuses, no event is written.
    const events = (await historyOf(stack.client, CLIENT_REGISTRY_WORKFLOW_ID)).events!.length;
    const second = await sweep('2');
    assert.equal(second.resealed, 0);
    assert.equal(second.resealFailures, 0);
    assert.equal((await historyOf(stack.client, CLIENT_REGISTRY_WORKFLOW_ID)).events!.length, events);

    await keys.restartWorkersWith(keys.only('new-2'));
    const cif = withCheckDigit('33000001');
    const { callback } = await consentAtAnaf(stack, TENANT_A.key, cif, 'EFACTURA', { oauthCallback: redirectUri });
    const landed = await request(callback);
    assert.equal(landed.statusCode, 200, await landed.body.text());
    const auths = await callApi(stack, TENANT_A.key, 'GET', `/v1/organizations/${cif}/authorizations`);
    assert.equal(auths.json.items[0].status, 'ACTIVE');
    assert.equal(auths.json.items[0].clientId, set.clientId);
    assert.ok(!stack.logs.some((l) => l.includes('resealed-secret')), 'the secret in a log line');
  });
});
