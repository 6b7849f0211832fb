import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { DELETE_ATTEMPTS } from '../../api/organization-routes';
import { isUnknownUpdate } from '../../lib/temporal/update-failures';
import { anafTaskQueueFor, banciwsTaskQueueFor } from '../../lib/temporal/task-queues';
import { withCheckDigit } from '../../schemas/cif';
import { statusQuery } from '../../workflows/oauth/definitions';
import { type AuthorizationInit, type OAuthScope, workflowIdOfInit } from '../../workflows/oauth/types';
import type { oauthAuthorization } from '../../workflows/oauth/authorization';
import {
  authorizationLinksQuery,
  deleteOrganizationUpdate,
  LINKS_REMAIN,
  linkAuthorizationUpdate,
  organizationWorkflowId,
  unlinkAuthorizationUpdate,
} from '../../workflows/organization';
import { callApi, type ApiAnswer } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { signInWithCertificate } from '../../devkit/oauth-walk';
import { type Stack, startStack, startWorkers } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';

/**
 * DELETE /v1/organizations/{cif} racing a new link to a shared sign-in: a link that lands after the
 * DELETE removed the links and before the organization is deleted must not leave a deleted
 * organization that the sign-in keeps listing. The race is made deterministic with real parts: the
 * organization's other link is to a sign-in whose workflow runs on a task queue no worker polls yet
 * (a worker that is down), so the DELETE waits in that sign-in's forgetCompany, after its unlink and
 * before its delete, until the test starts a worker there. Real dev server, real sandbox as ANAF.
 */

/** Deleted during a link; linked again at every attempt; driven through the workflow's update directly. */
const [RACED, CHANGING, DIRECT] = ['3300051', '3300052', '3300053'].map((base) => withCheckDigit(base)) as [string, string, string];
const ACCOUNTANT = {
  serial: 'ACC0FF1CE0000551',
  subject: 'CN=STAN ELENA, SERIALNUMBER=PNORO-2800101000051, O=CABINET STAN SRL, C=RO',
  cifs: [RACED, CHANGING, DIRECT],
};
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

describe('DELETE of an organization racing a new link', () => {
  let stack: Stack;
  /** The real sign-in (EFACTURA) that the PUT links during the DELETE. */
  let signIn: string;
  const heldWorkers: Array<{ stop(): Promise<void> }> = [];
  let held = 0;
  const api = (method: string, path: string, json?: unknown): Promise<ApiAnswer> =>
    callApi(stack, TENANT_A.key, method, path, json === undefined ? {} : { json });
  const org = (cif: string) => stack.client.workflow.getHandle(organizationWorkflowId(TENANT_A.tenant, cif));
  const linksOf = (cif: string) => org(cif).query(authorizationLinksQuery);
  const link = (cif: string, scope: OAuthScope, authorizationId: string) =>
    org(cif).executeUpdate(linkAuthorizationUpdate, { args: [{ scope, authorizationId }] });
  const listsCompany = async (id: string, cif: string) =>
    (await api('GET', `/v1/authorizations/${id}`)).json.companies.some((c: { cif: string }) => c.cif === cif);

  /**
   * A sign-in (a pending one: no tokens, nothing to do) whose workflow runs on its own task queue,
   * polled by no worker until `release()`: an update to it (the DELETE's forgetCompany) waits there.
   */
  async function heldSignIn(scope: OAuthScope): Promise<{ id: string; release(): Promise<void> }> {
    const taskQueue = `${stack.config.temporal.taskQueue}-held-${++held}`;
    const id = `az_${Array.from({ length: 20 }, () => BASE62[randomInt(BASE62.length)]).join('')}`;
    const mine = await stack.client.workflow.getHandle(`${TENANT_A.tenant}/authorization/${signIn}`).query(statusQuery);
    const init: AuthorizationInit = {
      tenant: TENANT_A.tenant,
      cif: '',
      scope,
      scopes: [scope],
      authorizationId: id,
      credentialSetId: mine.credentialSetId,
      clientId: mine.clientId,
      settings: { refreshLeadMs: 86_400_000, warnBeforeRefreshExpiryMs: 86_400_000 },
    };
    await stack.client.workflow.start<typeof oauthAuthorization>('oauthAuthorization', {
      workflowId: workflowIdOfInit(init),
      taskQueue,
      args: [{ init }],
    });
    return {
      id,
      async release() {
        // The product's workers for that queue (and its own ANAF queues, as a deployment on it would have).
        const temporal = {
          ...stack.config.temporal,
          taskQueue,
          anafTaskQueue: anafTaskQueueFor(taskQueue),
          banciwsTaskQueue: banciwsTaskQueueFor(taskQueue),
        };
        heldWorkers.push(await startWorkers({ ...stack, config: { ...stack.config, temporal } }));
      },
    };
  }

  /** The DELETE has unlinked everything it read (its forgetCompany to a held sign-in now waits). */
  const unlinkedByTheDelete = (cif: string) =>
    eventually(
      () => linksOf(cif),
      (links) => Object.keys(links).length === 0,
      'the DELETE unlinked what it read',
    );

  before(async () => {
    stack = await startStack({ sandbox: { oauth: { certificates: [ACCOUNTANT] } } });
    for (const cif of [RACED, CHANGING, DIRECT])
      assert.equal((await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` })).status, 201);
    signIn = (await signInWithCertificate(stack, TENANT_A.key, { scope: 'EFACTURA', label: 'Cabinet Stan' }, ACCOUNTANT.serial))
      .authorizationId;
    await eventually(
      () => api('GET', `/v1/authorizations/${signIn}`),
      (r) => r.json.status === 'ACTIVE',
      'the sign-in has its tokens',
    );
  });

  after(async () => {
    for (const workers of heldWorkers) await workers.stop();
    await stack?.close();
  });

  test('a link made after the DELETE unlinked and before it deleted: unlinked again, deleted, no sign-in lists the company', async () => {
    const other = await heldSignIn('ETRANSPORT');
    await link(RACED, 'ETRANSPORT', other.id);
    const deleting = api('DELETE', `/v1/organizations/${RACED}`);
    await unlinkedByTheDelete(RACED);

    // The accountant links the company to the shared sign-in now (checked at ANAF, the real PUT).
    const put = await api('PUT', `/v1/organizations/${RACED}/authorizations/EFACTURA`, { authorizationId: signIn });
    assert.equal(put.status, 200, put.text);
    assert.equal(await listsCompany(signIn, RACED), true, 'the sign-in lists the company it was just linked to');

    await other.release();
    const deleted = await deleting;
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await api('GET', `/v1/organizations/${RACED}`)).status, 404);
    assert.equal(await listsCompany(signIn, RACED), false, 'the deleted company is not listed by the sign-in');
    assert.deepEqual((await api('GET', `/v1/authorizations?cif=${RACED}`)).json.items, [], 'by no authorization');
    assert.equal((await api('GET', `/v1/authorizations/${signIn}`)).json.status, 'ACTIVE', 'the sign-in stays');
  });

  test(`linked again each of ${DELETE_ATTEMPTS} times: 409 ORGANIZATION_CHANGED, the organization and its last link stay`, async () => {
    const signIns = [await heldSignIn('ETRANSPORT'), await heldSignIn('EFACTURA'), await heldSignIn('ETRANSPORT')];
    await link(CHANGING, 'ETRANSPORT', signIns[0]!.id);
    const deleting = api('DELETE', `/v1/organizations/${CHANGING}`);
    // Each round: the DELETE unlinked what it read and waits on that sign-in; a link lands on the other scope; released.
    const relinks: Array<[OAuthScope, string]> = [
      ['EFACTURA', signIns[1]!.id],
      ['ETRANSPORT', signIns[2]!.id],
      ['EFACTURA', signIn],
    ];
    for (const [round, [scope, id]] of relinks.entries()) {
      await unlinkedByTheDelete(CHANGING);
      await link(CHANGING, scope, id);
      await signIns[round]!.release();
    }
    const refused = await deleting;
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, 'ORGANIZATION_CHANGED');
    assert.equal((await api('GET', `/v1/organizations/${CHANGING}`)).status, 200, 'not deleted');
    assert.deepEqual(await linksOf(CHANGING), { EFACTURA: signIn }, 'the last link stands');
  });

  test('the delete update is refused (LinksRemain, naming the scopes) while linked; an update the workflow lacks is recognised', async () => {
    await link(DIRECT, 'EFACTURA', signIn);
    await assert.rejects(org(DIRECT).executeUpdate(deleteOrganizationUpdate), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.type, LINKS_REMAIN);
      assert.deepEqual(err.cause.details, [['EFACTURA']]);
      assert.match(err.cause.message, /EFACTURA/);
      return true;
    });
    assert.equal((await api('GET', `/v1/organizations/${DIRECT}`)).status, 200, 'still there');

    await org(DIRECT).executeUpdate(unlinkAuthorizationUpdate, { args: [{ scope: 'EFACTURA' }] });
    await org(DIRECT).executeUpdate(deleteOrganizationUpdate);
    assert.equal((await org(DIRECT).result()).cif, DIRECT, 'the workflow ended');

    // What an older worker answers (its workflow code has no such handler): the DELETE then falls back to the signal.
    const sansHandler = stack.client.workflow.getHandle(`${TENANT_A.tenant}/authorization/${signIn}`);
    const unknown = await sansHandler.executeUpdate(deleteOrganizationUpdate).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.equal(isUnknownUpdate(unknown, deleteOrganizationUpdate.name), true, String(unknown));
  });
});
