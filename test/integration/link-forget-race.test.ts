import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createWebhookActivities } from '../../activities/webhooks';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { withCheckDigit } from '../../schemas/cif';
import { ANAF_SERVICES } from '../../services';
import { createActivityDeps } from '../../workers/create-workers';
import { lifecycleMetricsSinks, WORKFLOW_INTERCEPTOR_MODULES } from '../../workers/interceptors';
import { forgetCompanyUpdate } from '../../workflows/oauth/definitions';
import { authorizationLinksQuery, organizationWorkflowId } from '../../workflows/organization';
import { callApi, type ApiAnswer } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { signInWithCertificate } from '../../devkit/oauth-walk';
import { registerOrganizationOn, startWorkersOn } from '../../devkit/organization-queue';
import { type Stack, startStack } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';
import { prebuiltWorkflowBundle } from '../../devkit/workflow-bundle';

/**
 * DELETE /v1/organizations/{cif} while a PUT's link of it to a sign-in is in flight: the link
 * landed and was read back, but the sign-in's workflow has not taken the activity's result when the
 * DELETE unlinks it and tells it to forget the company. The sign-in must not list the company after.
 * Deterministic with real parts: the sign-in's task queue is served by a workflow-only and an
 * activity-only worker (the product's workflow bundle and activities, split), started and stopped
 * in turn, so the link activity completes while no workflow worker polls, and the DELETE's
 * forgetCompany lands in the same workflow task as that result. The organization runs on its own
 * task queue with the product's workers. Real dev server, real sandbox as ANAF.
 */

/** Deleted while linked; told to forget by a relink older than the link in flight (stale). */
const [RACED, STALE] = ['3300061', '3300062'].map((base) => withCheckDigit(base)) as [string, string];
const ACCOUNTANT = {
  serial: 'ACC0FF1CE0000561',
  subject: 'CN=POP ANA, SERIALNUMBER=PNORO-2800101000061, O=CABINET POP SRL, C=RO',
  cifs: [RACED, STALE],
};

describe('DELETE of an organization while a link of it to a sign-in is in flight', () => {
  let stack: Stack;
  const running: Array<{ stop(): Promise<void> }> = [];
  const api = (method: string, path: string, json?: unknown): Promise<ApiAnswer> =>
    callApi(stack, TENANT_A.key, method, path, json === undefined ? {} : { json });
  const org = (cif = RACED) => stack.client.workflow.getHandle(organizationWorkflowId(TENANT_A.tenant, cif));

  /** Runs a worker until `stop()`. */
  function run(worker: Worker): { stop(): Promise<void> } {
    const done = worker.run();
    const handle = {
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      },
    };
    running.push(handle);
    return handle;
  }
  /** The product's workflows on the stack's task queue, no activities. */
  const workflowWorker = async () =>
    run(
      await Worker.create({
        connection: stack.env.nativeConnection,
        namespace: stack.config.temporal.namespace,
        taskQueue: stack.config.temporal.taskQueue,
        dataConverter: dataConverterFor(stack.config),
        // A prebuilt bundle has the workflow interceptors in it.
        ...(prebuiltWorkflowBundle()
          ? { workflowBundle: prebuiltWorkflowBundle()! }
          : { workflowsPath: require.resolve('../../workflows'), interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }),
        sinks: lifecycleMetricsSinks(),
      }),
    );
  /** The product's orchestration activities on the stack's task queue, no workflows. */
  const activityWorker = async () => {
    const deps = createActivityDeps(stack);
    const orchestration = Object.assign({}, ...ANAF_SERVICES.map((s) => s.activities?.(deps).orchestration ?? {}));
    return run(
      await Worker.create({
        connection: stack.env.nativeConnection,
        namespace: stack.config.temporal.namespace,
        taskQueue: stack.config.temporal.taskQueue,
        dataConverter: dataConverterFor(stack.config),
        activities: { ...orchestration, ...createWebhookActivities(stack.config) },
      }),
    );
  };
  /** The sign-in's workflow, as its history stands. */
  const pendingActivities = async (workflowId: string) =>
    (await stack.client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];

  /** Registered as POST /v1/organizations does, on the given queue. */
  async function registerOn(taskQueue: string, cif: string): Promise<void> {
    await registerOrganizationOn(stack, TENANT_A.tenant, cif, taskQueue);
    assert.equal((await api('GET', `/v1/organizations/${cif}`)).status, 200);
  }
  /** The link activity waits for a worker: the PUT is checked at ANAF and reaches it. */
  async function putHeldAtLink(cif: string): Promise<{ put: Promise<ApiAnswer> }> {
    await activities.stop();
    const put = api('PUT', `/v1/organizations/${cif}/authorizations/EFACTURA`, { authorizationId: signIn });
    await eventually(
      () => pendingActivities(signInWorkflow),
      (pending) => pending.some((a) => a.activityType?.name === 'linkOrganizationAuthorization'),
      'the link activity is scheduled',
    );
    return { put }; // wrapped: an async function returning the promise would wait for the PUT's answer
  }

  let signIn: string;
  let signInWorkflow: string;
  let workflows: { stop(): Promise<void> };
  let activities: { stop(): Promise<void> };

  before(async () => {
    stack = await startStack({ workers: false, sandbox: { oauth: { certificates: [ACCOUNTANT] } } });
    workflows = await workflowWorker();
    activities = await activityWorker();
    // ANAF calls of the stack's queue; and the organization's own queue, with all its workers.
    running.push(await startWorkersOn(stack, `${stack.config.temporal.taskQueue}-unused`, stack.config.temporal.taskQueue));
    const orgQueue = `${stack.config.temporal.taskQueue}-org`;
    running.push(await startWorkersOn(stack, orgQueue));
    for (const cif of [RACED, STALE]) await registerOn(orgQueue, cif);
    signIn = (await signInWithCertificate(stack, TENANT_A.key, { scope: 'EFACTURA', label: 'Cabinet Pop' }, ACCOUNTANT.serial))
      .authorizationId;
    await eventually(
      () => api('GET', `/v1/authorizations/${signIn}`),
      (r) => r.json.status === 'ACTIVE',
      'the sign-in has its tokens',
    );
    signInWorkflow = `${TENANT_A.tenant}/authorization/${signIn}`;
  });

  after(async () => {
    for (const worker of running.reverse()) await worker.stop();
    await stack?.close();
  });

  test('the link lands and is read back, the DELETE forgets it before the sign-in takes the result: not listed, the PUT 409 LINK_CHANGED', async () => {
    const { put } = await putHeldAtLink(RACED);
    // No workflow worker now; the activity links and reads the link back (ours), then completes.
    await workflows.stop();
    activities = await activityWorker();
    await eventually(
      () => pendingActivities(signInWorkflow),
      (pending) => pending.length === 0,
      'the link activity completed',
    );
    assert.deepEqual(await org().query(authorizationLinksQuery), { EFACTURA: signIn }, 'the organization is linked to the sign-in');

    // The DELETE unlinks it and waits in the sign-in's forgetCompany (no workflow worker yet).
    const deleting = api('DELETE', `/v1/organizations/${RACED}`);
    await eventually(
      () => org().query(authorizationLinksQuery),
      (links) => Object.keys(links).length === 0,
      'the DELETE unlinked the sign-in',
    );
    workflows = await workflowWorker();

    const deleted = await deleting;
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await api('GET', `/v1/organizations/${RACED}`)).status, 404);
    const view = await api('GET', `/v1/authorizations/${signIn}`);
    assert.deepEqual(
      view.json.companies.map((c: { cif: string }) => c.cif),
      [],
      'the sign-in does not list the deleted company',
    );
    assert.equal(view.json.status, 'ACTIVE', 'the sign-in stays');
    assert.deepEqual((await api('GET', `/v1/authorizations?cif=${RACED}`)).json.items, [], 'by no authorization');
    // The PUT says the link did not hold (it answered 200 before the fix).
    const linked = await put;
    assert.equal(linked.status, 409, linked.text);
    assert.equal(linked.json.error.code, 'LINK_CHANGED');
  });

  test('a stale forget (an older relink) while the link is in flight: the organization still names the sign-in, listed, the PUT 200', async () => {
    const { put } = await putHeldAtLink(STALE);
    // What a relink that landed before ours sends this sign-in (its link activity's forgetCompany).
    await stack.client.workflow.getHandle(signInWorkflow).executeUpdate(forgetCompanyUpdate, { args: [{ cif: STALE, scope: 'EFACTURA' }] });
    activities = await activityWorker();
    const linked = await put;
    assert.equal(linked.status, 200, linked.text);
    assert.deepEqual(await org(STALE).query(authorizationLinksQuery), { EFACTURA: signIn });
    const listed = (await api('GET', `/v1/authorizations/${signIn}`)).json.companies.map((c: { cif: string }) => c.cif);
    assert.deepEqual(listed, [STALE], 'the sign-in lists the company the organization is linked to');
  });
});
