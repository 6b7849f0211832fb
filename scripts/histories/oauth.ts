import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { request } from 'undici';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { eventually } from '../../devkit/wait';
import { consentAtAnaf, signInWithCertificate, walkAuthorizePage } from '../../devkit/oauth-walk';
import { registerOrganizationOn, startWorkersOn } from '../../devkit/organization-queue';
import { forgetCompanyUpdate } from '../../workflows/oauth/definitions';
import { withCheckDigit } from '../../schemas/cif';
import { deleteOrganizationUpdate, LINKS_REMAIN, linkAuthorizationUpdate, organizationWorkflowId } from '../../workflows/organization';
import type { Recorder, Service } from './recording';

const CIF = '14399840';
/** The organization whose revoke ANAF's gateway answers first. */
const GATEWAY_CIF = '18547290';
/** The organization authorized and refreshed since the OAuth calls go first on the ANAF queue. */
const PRIORITIES_CIF = '31000043';

/** Issue 16's sign-in: a certificate with rights in SPV for two of the three companies it is asked for. */
const FIRM_CIFS = ['14399840', '18547290', withCheckDigit('3100004')];
const FIRM_CERTIFICATE = {
  serial: 'ACC0FF1CE0000016',
  subject: 'CN=IONESCU ANA, O=CABINET CONTABIL SRL, C=RO',
  cifs: FIRM_CIFS.slice(0, 2),
};
/** Deleted through the deleteOrganization update: at once, and after one refusal (LinksRemain). */
const [DELETED_CIF, DELETE_REFUSED_CIF] = [withCheckDigit('3300061'), withCheckDigit('3300062')];
/** A sign-in id no workflow has: the link is only the organization's state, the DELETE's forgetCompany finds nothing. */
const UNSEEN_SIGN_IN = 'az_RecordedDeleteLink01';
/** Linked to a sign-in that is told to forget it (a stale forget) while the link is in flight. */
const LINK_CIF = withCheckDigit('3300071');
const LINK_CERTIFICATE = {
  serial: 'ACC0FF1CE0000571',
  subject: 'CN=POP ANA, SERIALNUMBER=PNORO-2800101000071, O=CABINET POP SRL, C=RO',
  cifs: [LINK_CIF],
};
const ERP_CALLBACK = 'https://erp.example/anaf/callback';
const TEST_CLIENT = { clientId: 'anaf-flow-test-client', clientSecret: 'anaf-flow-test-secret' };

/** Approves at the sandbox's ANAF page with the firm's certificate; returns the redirect (code and state). */
async function approve(r: Recorder, url: string): Promise<URL> {
  const anafUrl = new URL(url);
  const walked = await walkAuthorizePage(r.stack.sandbox.url, {
    clientId: anafUrl.searchParams.get('client_id')!,
    redirectUri: anafUrl.searchParams.get('redirect_uri')!,
    state: anafUrl.searchParams.get('state')!,
    certSerial: FIRM_CERTIFICATE.serial,
  });
  return walked.location;
}

/** An organization and its EFACTURA authorization through the user's consent; returns the request's id. */
async function authorize(r: Recorder, cif: string): Promise<string> {
  const { requestId, callback } = await consentAtAnaf(r.stack, TENANT_A.key, cif);
  await (await request(callback)).body.dump();
  return requestId;
}

/** An organization's authorization from consent to revocation, the test call, the refresh sweep. */
export const oauth: Service = {
  scenarios: {
    'authorization-lifecycle': {
      async run(r) {
        const requestId = await authorize(r, CIF);
        await r.save('oauth-authorization-request', `${TENANT_A.tenant}/oauth-request/${requestId}`);

        await r.api('POST', `/v1/organizations/${CIF}/authorizations/EFACTURA/refresh`);
        await r.api('POST', `/v1/organizations/${CIF}/authorizations/EFACTURA/test`);
        // The API answers once the test workflow ended; visibility lists it a moment later.
        const tests = await eventually(
          async () => {
            const ids: string[] = [];
            for await (const w of r.stack.client.workflow.list({ query: `WorkflowType = 'oauthTest'` })) ids.push(w.workflowId);
            return ids;
          },
          (ids) => ids.length > 0,
          'the oauthTest workflow in visibility',
        );
        await r.save('oauth-test', tests[0]!);
        await r.api('DELETE', `/v1/organizations/${CIF}/authorizations/EFACTURA`);
        await r.save('oauth-authorization', `${TENANT_A.tenant}/oauth/${CIF}/EFACTURA`);
        await r.api('DELETE', `/v1/organizations/${CIF}`);
        await r.save('organization', `${TENANT_A.tenant}/org/${CIF}`);
      },
    },
    'revoke-unconfirmed': {
      async run(r) {
        await authorize(r, GATEWAY_CIF);
        const revoke = () => callApi(r.stack, TENANT_A.key, 'DELETE', `/v1/organizations/${GATEWAY_CIF}/authorizations/EFACTURA`);
        // ANAF's gateway answers the first revoke (302 to /my.policy); ANAF itself the second.
        r.stack.sandbox.oauth.configure({ revokeRedirectsToGateway: true });
        await revoke();
        r.stack.sandbox.oauth.configure({ revokeRedirectsToGateway: false });
        await revoke();
        await r.save('oauth-revoke-unconfirmed', `${TENANT_A.tenant}/oauth/${GATEWAY_CIF}/EFACTURA`);
      },
    },
    // The code exchange (priority 1) and a refresh (2) since patch anaf-priorities-oauth-first.
    'oauth-first': {
      async run(r) {
        const requestId = await authorize(r, PRIORITIES_CIF);
        await r.api('POST', `/v1/organizations/${PRIORITIES_CIF}/authorizations/EFACTURA/refresh`);
        await r.save('oauth-authorization-request-oauth-first', `${TENANT_A.tenant}/oauth-request/${requestId}`);
        await r.save('oauth-authorization-oauth-first', `${TENANT_A.tenant}/oauth/${PRIORITIES_CIF}/EFACTURA`);
      },
    },
    // The credential-set registry: a set added, its secret rotated, then retired (operator routes).
    'client-registry': {
      async run(r) {
        const operator = (method: string, path: string, json?: unknown) =>
          callApi(r.stack, OPERATOR.key, method, path, json === undefined ? {} : { json });
        const set = {
          id: 'recorded-erp',
          clientId: 'recorded-erp-client',
          redirectUri: 'https://erp.example/oauth/callback',
          scopes: ['EFACTURA'],
        };
        await operator('POST', '/v1/oauth-clients', { ...set, clientSecret: 'recorded-secret-1' });
        await operator('PUT', `/v1/oauth-clients/${set.id}/secret`, { clientSecret: 'recorded-secret-2' });
        await operator('DELETE', `/v1/oauth-clients/${set.id}`);
        await r.save('oauth-client-registry', 'system/oauth-clients');
      },
    },
    // One sign-in for three companies: two linked, one refused; a re-link refused, an unlink, a refresh.
    'multi-company-authorization': {
      stack: { sandbox: { oauth: { certificates: [FIRM_CERTIFICATE] } } },
      async run(r) {
        for (const cif of FIRM_CIFS) await r.api('POST', '/v1/organizations', { json: { cif, name: `Company ${cif}` } });
        const created = await r.api('POST', '/v1/authorization-requests', {
          json: { scope: 'EFACTURA', organizations: FIRM_CIFS, label: 'Cabinet Ionescu' },
        });
        await (await request(await approve(r, created.url as string))).body.dump();
        const id = created.authorizationId as string;
        await eventually(
          () => r.api('GET', `/v1/authorizations/${id}`),
          (v) => (v.recentEvents as Array<{ event: string }>).filter((e) => /^CIF_(LINKED|REFUSED)$/.test(e.event)).length === 3,
          'every listed company checked',
        );
        const refused = await callApi(r.stack, TENANT_A.key, 'PUT', `/v1/organizations/${FIRM_CIFS[2]}/authorizations/EFACTURA`, {
          json: { authorizationId: id },
        });
        if (refused.status !== 422) throw new Error(`expected 422 CIF_NOT_COVERED, got ${refused.status} ${refused.text}`);
        await r.api('PUT', `/v1/organizations/${FIRM_CIFS[0]}/authorizations/EFACTURA`, { json: { authorizationId: id } });
        await r.api('DELETE', `/v1/organizations/${FIRM_CIFS[1]}/authorizations/EFACTURA`);
        await r.api('POST', `/v1/authorizations/${id}/refresh`);
        await r.save('oauth-multi-company-request', `${TENANT_A.tenant}/oauth-request/${created.id as string}`);
        await r.save('oauth-multi-company-authorization', `${TENANT_A.tenant}/authorization/${id}`);
        await r.save('organization-linked', `${TENANT_A.tenant}/org/${FIRM_CIFS[1]}`);
      },
    },
    // The ERP's own callback: a state that does not match is refused, then the right one finalizes.
    'finalized-request': {
      stack: {
        configOverrides: {
          ANAF_OAUTH_CLIENTS: JSON.stringify([
            { id: 'erp', ...TEST_CLIENT, redirectUri: ERP_CALLBACK, scopes: ['EFACTURA', 'ETRANSPORT'] },
          ]),
        },
      },
      async run(r) {
        r.stack.sandbox.oauth.configure({ clients: [{ ...TEST_CLIENT, redirectUris: [r.stack.config.anaf.redirectUri!, ERP_CALLBACK] }] });
        const created = await r.api('POST', '/v1/authorization-requests', { json: { scope: 'BOTH', oauthCallback: ERP_CALLBACK } });
        const back = await approve(r, created.url as string);
        const state = back.searchParams.get('state')!;
        const code = back.searchParams.get('code')!;
        await r.api('POST', `/v1/authorization-requests/${created.id as string}/finalize`, { json: { state, code } });
        await r.save('oauth-finalized-request', `${TENANT_A.tenant}/oauth-request/${created.id as string}`);
      },
    },
    // DELETE /v1/organizations/{cif} through the deleteOrganization update (9abc5c3): accepted at once; and
    // refused (LinksRemain) while linked, then unlinked and deleted by the DELETE. A refused update leaves
    // no event: that history has the link, the unlink and the accepted delete.
    'organization-deleted': {
      async run(r) {
        const org = (cif: string) => r.stack.client.workflow.getHandle(organizationWorkflowId(TENANT_A.tenant, cif));
        for (const cif of [DELETED_CIF, DELETE_REFUSED_CIF])
          await r.api('POST', '/v1/organizations', { json: { cif, name: `Company ${cif}` } });
        await r.api('DELETE', `/v1/organizations/${DELETED_CIF}`);
        await r.save('organization-deleted', organizationWorkflowId(TENANT_A.tenant, DELETED_CIF));

        await org(DELETE_REFUSED_CIF).executeUpdate(linkAuthorizationUpdate, {
          args: [{ scope: 'EFACTURA', authorizationId: UNSEEN_SIGN_IN }],
        });
        const refused = await org(DELETE_REFUSED_CIF)
          .executeUpdate(deleteOrganizationUpdate)
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        if (!(
          refused instanceof WorkflowUpdateFailedError &&
          refused.cause instanceof ApplicationFailure &&
          refused.cause.type === LINKS_REMAIN
        ))
          throw new Error(`expected the delete refused (${LINKS_REMAIN}), got ${String(refused)}`);
        await r.api('DELETE', `/v1/organizations/${DELETE_REFUSED_CIF}`);
        await r.save('organization-delete-refused-then-accepted', organizationWorkflowId(TENANT_A.tenant, DELETE_REFUSED_CIF));
      },
    },
    // A forgetCompany (as a relink older than ours sends) while the sign-in's link of the company is in
    // flight: since patch oauth-link-reread-after-forget the link is read again (still ours: listed).
    // The organization runs on a queue of its own, served only once the forget is in: the link waits.
    'link-forgotten-in-flight': {
      stack: { sandbox: { oauth: { certificates: [LINK_CERTIFICATE] } } },
      async run(r) {
        const orgQueue = `${r.stack.config.temporal.taskQueue}-org`;
        await registerOrganizationOn(r.stack, TENANT_A.tenant, LINK_CIF, orgQueue);
        const { authorizationId } = await signInWithCertificate(r.stack, TENANT_A.key, { scope: 'EFACTURA' }, LINK_CERTIFICATE.serial);
        const signIn = r.stack.client.workflow.getHandle(`${TENANT_A.tenant}/authorization/${authorizationId}`);
        await eventually(
          () => r.api('GET', `/v1/authorizations/${authorizationId}`),
          (v) => v.status === 'ACTIVE',
          'the sign-in has its tokens',
        );
        const put = callApi(r.stack, TENANT_A.key, 'PUT', `/v1/organizations/${LINK_CIF}/authorizations/EFACTURA`, {
          json: { authorizationId },
        });
        await eventually(
          async () => (await signIn.describe()).raw.pendingActivities ?? [],
          (pending) => pending.some((a) => a.activityType?.name === 'linkOrganizationAuthorization'),
          'the link activity is under way',
        );
        await signIn.executeUpdate(forgetCompanyUpdate, { args: [{ cif: LINK_CIF, scope: 'EFACTURA' }] });
        const workers = await startWorkersOn(r.stack, orgQueue);
        try {
          const linked = await put;
          if (linked.status !== 200) throw new Error(`expected the link to hold, got ${linked.status} ${linked.text}`);
        } finally {
          await workers.stop();
        }
        await r.save('oauth-link-forgotten-in-flight', signIn.workflowId);
      },
    },
    'refresh-sweep': {
      async run(r) {
        const id = 'system/oauth-refresh-sweep-recorded';
        await r.stack.client.workflow.execute('oauthRefreshSweep', { workflowId: id, taskQueue: r.stack.config.temporal.taskQueue });
        await r.save('oauth-refresh-sweep', id);
      },
    },
  },
  beforePatch: {
    'oauth-revoke-needs-anaf-confirmation': ['revoke-unconfirmed'],
    'oauth-link-reread-after-forget': ['link-forgotten-in-flight'],
  },
};
