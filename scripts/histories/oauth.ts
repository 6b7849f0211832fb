import { request } from 'undici';
import { TENANT_A } from '../../test/support/config';
import { eventually } from '../../test/support/efactura';
import { walkAuthorizePage } from '../../test/support/sandbox';
import type { Service } from './recording';

const CIF = '14399840';

/** An organization's authorization from consent to revocation, the test call, the refresh sweep. */
export const oauth: Service = {
  scenarios: {
    'authorization-lifecycle': {
      async run(r) {
        await r.api('POST', '/v1/organizations', { json: { cif: CIF, name: 'Recorded SRL' } });
        const req = await r.api('POST', `/v1/organizations/${CIF}/authorization-requests`, { json: { scope: 'EFACTURA' } });
        const anaf = new URL(req.url);
        const walked = await walkAuthorizePage(r.stack.sandbox.url, {
          clientId: anaf.searchParams.get('client_id')!,
          redirectUri: anaf.searchParams.get('redirect_uri')!,
          state: anaf.searchParams.get('state')!,
        });
        await (await request(walked.location)).body.dump();
        await r.save('oauth-authorization-request', `${TENANT_A.tenant}/oauth-request/${req.id}`);

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
    'refresh-sweep': {
      async run(r) {
        const id = 'system/oauth-refresh-sweep-recorded';
        await r.stack.client.workflow.execute('oauthRefreshSweep', { workflowId: id, taskQueue: r.stack.config.temporal.taskQueue });
        await r.save('oauth-refresh-sweep', id);
      },
    },
  },
};
