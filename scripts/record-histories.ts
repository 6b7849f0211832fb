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
import { callApi, ublInvoice } from '../test/support/efactura';
import { walkAuthorizePage } from '../test/support/sandbox';
import { startStack } from '../test/support/stack';
import { recordEtransport } from './record-etransport';

const OUT = path.resolve(__dirname, '../test/histories');

async function main(): Promise<void> {
  const stack = await startStack({ sandbox: { efactura: { processingDelayMs: 300 } } });
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
    if (process.argv.includes('--only-etransport')) return await recordEtransport(stack, save);
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

    // e-Factura: one history per path through the submission workflow.
    const submit = async (name: string, number: string, options: { note?: string; fault?: Parameters<typeof stack.sandbox.faults.add>[0] } = {}) => {
      if (options.fault) stack.sandbox.faults.add(options.fault);
      const xml = ublInvoice({ supplierCif: cif, buyerCif: '18547290', number, ...(options.note ? { note: options.note } : {}) });
      const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${cif}`, { body: xml, headers: { 'idempotency-key': `record-${name}` } });
      if (res.status !== 202) throw new Error(`submit ${name}: ${res.status} ${res.text}`);
      await stack.client.workflow.getHandle(res.json.id).result();
      await save(`efactura-${name}`, res.json.id);
    };
    const upload = '/test/FCTEL/rest/upload';
    await submit('accepted', 'REC-1');
    await submit('rejected', 'REC-2', { note: 'SANDBOX:NOK' });
    await submit('answer-lost-reconciled', 'REC-3', { fault: { route: upload, method: 'POST', times: 1, resetAfterReceive: true } });
    await submit('answer-lost-reuploaded', 'REC-4', { fault: { route: upload, method: 'POST', times: 1, status: 500 } });
    await submit('rate-limited', 'REC-5', { fault: { route: upload, method: 'POST', burst429: 1, retryAfterSeconds: 1 } });
    await submit('duplicate-linked', 'REC-1');

    // e-Factura reads and the inbox (the buyer of REC-1 receives it).
    const buyer = '18547290';
    await api('POST', '/v1/organizations', { cif: buyer, name: 'Recorded Buyer SRL' });
    const buyerReq = await api('POST', `/v1/organizations/${buyer}/authorization-requests`, { scope: 'EFACTURA' });
    const buyerUrl = new URL(buyerReq.url!);
    const buyerWalk = await walkAuthorizePage(stack.sandbox.url, {
      clientId: buyerUrl.searchParams.get('client_id')!,
      redirectUri: buyerUrl.searchParams.get('redirect_uri')!,
      state: buyerUrl.searchParams.get('state')!,
    });
    await (await request(buyerWalk.location)).body.dump();
    const readIds = async (service: string) => {
      const ids: string[] = [];
      for await (const w of stack.client.workflow.list({ query: `AnafService = '${service}'` })) ids.push(w.workflowId);
      return ids;
    };
    await callApi(stack, TENANT_A.key, 'GET', `/v1/efactura/messages?cif=${cif}&days=1`);
    await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/validate?cif=${cif}`, { body: ublInvoice({ supplierCif: cif, buyerCif: buyer, number: 'REC-V' }) });
    await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/pdf?cif=${cif}`, { body: ublInvoice({ supplierCif: cif, buyerCif: buyer, number: 'REC-P' }) });
    stack.sandbox.efactura.addReceivedInvoice({ buyerCif: buyer, number: 'REC-IN', at: Date.now() - 10_000 });
    await callApi(stack, TENANT_A.key, 'PUT', `/v1/organizations/${buyer}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
    await callApi(stack, TENANT_A.key, 'POST', `/v1/organizations/${buyer}/efactura/inbox-sync/run`);
    let syncs: string[] = [];
    while (syncs.length === 0) syncs = (await callApi(stack, TENANT_A.key, 'GET', `/v1/organizations/${buyer}/efactura/inbox-sync`)).json.recentRuns.map((r: { workflowId: string }) => r.workflowId);
    await stack.client.workflow.getHandle(syncs[0]!).result();
    await save('efactura-inbox-sync', syncs[0]!);
    const items = await readIds('efactura-inbox');
    await stack.client.workflow.getHandle(items[0]!).result();
    await save('efactura-inbox-item', items[0]!);
    const reads = await readIds('efactura-read');
    for (const id of reads) {
      const type = (await stack.client.workflow.getHandle(id).describe()).type;
      await save(`efactura-read-${type}`, id);
    }

    await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/refresh`);
    await api('POST', `/v1/organizations/${cif}/authorizations/EFACTURA/test`);
    await api('DELETE', `/v1/organizations/${cif}/authorizations/EFACTURA`);
    await save('oauth-authorization', `${TENANT_A.tenant}/oauth/${cif}/EFACTURA`);
    await api('DELETE', `/v1/organizations/${cif}`);
    await save('organization', `${TENANT_A.tenant}/org/${cif}`);

    await recordEtransport(stack, save);

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
