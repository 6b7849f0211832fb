/**
 * Records BANCIWS workflow histories for the replay tests (`npx tsx scripts/record-banciws-histories.ts`):
 * an answered exchange, one whose upload answer was lost and reconciled, and an inbox run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resolveTemporalCli } from '../lib/temporal-binaries';
import { api, banciwsStackConfig, testSignedPdf } from '../test/support/banciws';
import { TENANT_A } from '../test/support/config';
import { startStack } from '../test/support/stack';

const OUT = path.resolve(__dirname, '../test/histories');

async function main(): Promise<void> {
  const stack = await startStack({
    sandbox: { banciws: { tlsPort: 0, processingDelayMs: 300 } },
    configFromSandbox: banciwsStackConfig([{ id: 'banca-rec', tenant: TENANT_A.tenant, cui: '361820' }]),
  });
  const save = (name: string, workflowId: string) => {
    const out = execFileSync(resolveTemporalCli(), ['workflow', 'show', '--workflow-id', workflowId, '--address', stack.env.address, '--output', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
    });
    fs.writeFileSync(path.join(OUT, `${name}.json`), out.endsWith('\n') ? out : `${out}\n`);
    console.log(`recorded ${name}`);
  };
  try {
    const submit = async (name: string) => {
      const res = await api(stack.apiUrl, TENANT_A.key, 'POST', '/v1/banciws/messages', { json: { pdf: testSignedPdf(name).toString('base64') }, headers: { 'idempotency-key': `record-${name}` } });
      if (res.status !== 202) throw new Error(`${name}: ${res.status}`);
      await stack.client.workflow.getHandle(res.json.id).result();
      save(`banciws-${name}`, res.json.id);
    };
    await submit('answered');
    stack.sandbox.faults.add({ route: '/BANCIWS/rest/uploadMesaj', method: 'POST', times: 1, resetAfterReceive: true });
    await submit('answer-lost-reconciled');
    stack.sandbox.banciws!.service.addRequest('361820', 'Solicitare F3000');
    const inboxId = `${TENANT_A.tenant}/banciws-inbox-poll/record`;
    await stack.client.workflow.execute('banciwsInbox', {
      workflowId: inboxId,
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ tenant: TENANT_A.tenant, institutionId: 'banca-rec', cui: '361820', zile: '1' }],
    });
    save('banciws-inbox', inboxId);
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
