import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { callApi } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';

/**
 * Temporal forgets a closed workflow after its namespace's retention; the Idempotency-Key must
 * not be forgotten with it, or the same key would upload the invoice again. Retention is
 * played here by deleting the workflow through Temporal's own API.
 */
describe('idempotency outlives retention', () => {
  const SELLER = '14399840';
  const BUYER = '1590082';
  let stack: Stack;

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 200 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
  });

  after(async () => {
    await stack?.close();
  });

  /** Temporal forgets the workflow, as retention would. */
  async function deleteWorkflow(id: string): Promise<void> {
    const { runId } = await stack.client.workflow.getHandle(id).describe();
    await stack.client.workflowService.deleteWorkflowExecution({
      namespace: stack.config.temporal.namespace,
      workflowExecution: { workflowId: id, runId },
    });
    await eventually(
      () =>
        stack.client.workflow
          .getHandle(id)
          .describe()
          .then(
            (d) => `still ${d.status.name}`,
            (err: unknown) => (err instanceof WorkflowNotFoundError ? true : String(err)),
          ),
      (gone) => gone === true,
      `${id} deleted`,
      60_000,
    );
  }

  test('a record the API never marked started (it died between the start and the mark), older than the shortest retention: the gone workflow is not started again', async () => {
    const number = `RET-CRASH-${process.pid}`;
    const body = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number });
    const submit = () =>
      callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
        body,
        headers: { 'idempotency-key': `ret-crash-${number}` },
      });
    const first = await submit();
    assert.equal(first.status, 202, first.text);
    const id = first.json.id as string;
    assert.equal((await finished(stack, id)).outcome, 'ACCEPTED');
    // The crash: the record says "not started", and it was written two days ago.
    const dir = path.join(stack.config.dataDir, 'idempotency');
    const files = fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(dir, f))
      .filter((f) => fs.statSync(f).isFile());
    const file = files.find((f) => JSON.parse(fs.readFileSync(f, 'utf8')).workflowId === id);
    assert.ok(file, `the key's record under ${dir}`);
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(
      file,
      JSON.stringify({ ...record, started: false, createdAt: new Date(Date.now() - 2 * 24 * 3600_000).toISOString() }),
    );
    await deleteWorkflow(id);

    const again = await submit();
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'IDEMPOTENCY_KEY_EXPIRED');
    assert.equal(stack.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20'), 1);
  });

  test('the same key after the workflow is gone answers 409 IDEMPOTENCY_KEY_EXPIRED with the original id; nothing is uploaded again', async () => {
    const number = `RET-${process.pid}`;
    const body = ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number });
    const submit = () =>
      callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
        body,
        headers: { 'idempotency-key': `ret-${number}` },
      });
    const first = await submit();
    assert.equal(first.status, 202, first.text);
    const id = first.json.id as string;
    assert.equal((await finished(stack, id)).outcome, 'ACCEPTED');
    const uploads = () => stack.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20');
    assert.equal(uploads(), 1);

    // Retention: Temporal deletes the closed workflow and its history.
    await deleteWorkflow(id);

    const again = await submit();
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, 'IDEMPOTENCY_KEY_EXPIRED');
    assert.equal(again.json.error.details.id, id);
    // No workflow was started under the key, so nothing can upload.
    await assert.rejects(stack.client.workflow.getHandle(id).describe(), WorkflowNotFoundError);
    assert.equal(uploads(), 1);

    // Another body under the key is still the usual conflict.
    const other = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${SELLER}`, {
      body: ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number: `${number}-other` }),
      headers: { 'idempotency-key': `ret-${number}` },
    });
    assert.equal(other.status, 409, other.text);
    assert.equal(other.json.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });
});
