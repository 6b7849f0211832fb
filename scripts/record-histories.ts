/**
 * Records workflow histories for the replay tests (`npm run record-histories`): drives
 * each workflow through its representative paths on a real stack and writes the
 * histories to test/histories/. Re-record when a workflow change is intentional and
 * patched; the replay test then guards the next change against non-determinism.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { resolveTemporalCli } from '../lib/temporal-binaries';
import { TENANT_A } from '../test/support/config';
import { walkAuthorizePage } from '../test/support/sandbox';
import { startStack } from '../test/support/stack';

const OUT = path.resolve(__dirname, '../test/histories');

async function main(): Promise<void> {
  const stack = await startStack();
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await request(`${stack.apiUrl}${p}`, {
      method: method as 'GET',
      headers: { 'x-api-key': TENANT_A.key, 'Idempotency-Key': 'record-1', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new Error(`${method} ${p}: ${res.statusCode} ${text}`);
    return text ? (JSON.parse(text) as Record<string, string>) : {};
  };
  // The CLI's JSON is what an operator downloads from the Web UI too, so either can become a fixture.
  const save = async (name: string, workflowId: string) => {
    const out = execFileSync(
      resolveTemporalCli(),
      ['workflow', 'show', '--workflow-id', workflowId, '--address', stack.env.address, '--output', 'json'],
      { encoding: 'utf8', env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' } },
    );
    const events = (JSON.parse(out) as { events: unknown[] }).events.length;
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, `${name}.json`), out.endsWith('\n') ? out : `${out}\n`);
    console.log(`recorded ${name} (${events} events)`);
  };
  try {
    const check = await api('POST', '/v1/connectivity-checks');
    await stack.client.workflow.getHandle(check.id!).result();
    await save('connectivity-check', check.id!);

    const cif = '14399840';
    await api('POST', '/v1/organizations', { cif, name: 'Recorded SRL' });
    const req = await api('POST', `/v1/organizations/${cif}/authorization-requests`, { scope: 'EFACTURA' });
    const anaf = new URL(req.url!);
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anaf.searchParams.get('client_id')!,
      redirectUri: anaf.searchParams.get('redirect_uri')!,
      state: anaf.searchParams.get('state')!,
    });
    await (await request(walked.location)).body.dump();
    await save('oauth-authorization-request', `${TENANT_A.tenant}/oauth-request/${req.id}`);

    await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`);
    await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/test`);
    await api('DELETE', `/v1/organizations/${cif}/authorizations/EFACTURA`);
    await save('oauth-authorization', `${TENANT_A.tenant}/oauth/${cif}/EFACTURA`);
    await api('DELETE', `/v1/organizations/${cif}`);
    await save('organization', `${TENANT_A.tenant}/org/${cif}`);

    const sweep = await stack.client.workflow.execute('oauthRefreshSweep', {
      workflowId: 'system/oauth-refresh-sweep-recorded',
      taskQueue: stack.config.temporal.taskQueue,
    });
    console.log('sweep', JSON.stringify(sweep));
    await save('oauth-refresh-sweep', 'system/oauth-refresh-sweep-recorded');
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
