import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withCheckDigit } from '../../schemas/cif';
import { statusQuery } from '../../workflows/oauth/definitions';
import { callApi, type ApiAnswer } from '../../devkit/api-client';
import { TENANT_A } from '../../devkit/config';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { signInWithCertificate } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { finished } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { webhookReceiver } from '../../devkit/webhook-receiver';

/**
 * A company withdraws the accountant's rights in SPV after it was linked: ANAF refuses its next
 * invoices ("Nu aveti drept in SPV pentru CIF=…"). Each submission ends as before (rejected at
 * upload), and the sign-in's webhook gets authorization.cif_refused (source `call`) once for that
 * CIF, not once per refused call. Real dev server, sandbox as ANAF (the certificate's rights are
 * read at every call, as ANAF reads SPV), a receiver on a socket.
 */

const KEPT = withCheckDigit('3100032');
const WITHDRAWN = withCheckDigit('3200032');
const BUYER = withCheckDigit('1234567');
const ACCOUNTANT = {
  serial: 'ACC0FF1CE0000432',
  subject: 'CN=POPESCU IOANA, SERIALNUMBER=PNORO-2800101000032, O=CABINET SRL, C=RO',
  cifs: [KEPT, WITHDRAWN],
};

describe('authorization.cif_refused when ANAF refuses a linked company at call time', () => {
  let stack: Stack;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  const api = (method: string, path: string, json?: unknown): Promise<ApiAnswer> =>
    callApi(stack, TENANT_A.key, method, path, json === undefined ? {} : { json });

  const signIn = async (body: Record<string, unknown>) =>
    (await signInWithCertificate(stack, TENANT_A.key, body, ACCOUNTANT.serial)).authorizationId;

  async function submitInvoice(cif: string, n: number): Promise<string> {
    const number = `CR-${process.pid}-${n}`;
    const res = await callApi(stack, TENANT_A.key, 'POST', `/v1/efactura/invoices?cif=${cif}`, {
      body: ublInvoice({ supplierCif: cif, buyerCif: BUYER, number }),
      headers: { 'idempotency-key': `cif-refused-${number}` },
    });
    assert.equal(res.status, 202, res.text);
    return res.json.id as string;
  }

  /** The cifRefusedAtCall signals the authorization workflow has received so far. */
  async function refusalSignals(workflowId: string): Promise<number> {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cifRefusedAtCall').length;
  }

  before(async () => {
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 200 }, oauth: { certificates: [ACCOUNTANT] } } });
    hooks = await webhookReceiver();
    assert.equal((await api('POST', '/v1/webhook-secret/rotate')).status, 201);
    for (const cif of [KEPT, WITHDRAWN])
      assert.equal((await api('POST', '/v1/organizations', { cif, name: `Company ${cif}` })).status, 201);
  });
  after(async () => {
    await hooks?.close();
    await stack?.close();
  });

  test('two invoices of a company whose rights were withdrawn: both rejected at upload, one cif_refused (source call)', async () => {
    const id = await signIn({ scope: 'EFACTURA', organizations: [KEPT, WITHDRAWN], label: 'Cabinet Popescu', webhookUrl: hooks.url });
    await eventually(
      () => api('GET', `/v1/authorizations/${id}`),
      (r) => r.status === 200 && r.json.companies?.length === 2,
      'both companies linked',
    );
    assert.equal(hooks.received.filter((d) => d.event === 'authorization.cif_refused').length, 0, 'nothing refused at link time');

    // At ANAF: the company removes the accountant in SPV. The link stays; ANAF now refuses its calls.
    stack.sandbox.oauth.configure({ certificates: [{ ...ACCOUNTANT, cifs: [KEPT] }] });
    const submissions = await Promise.all([submitInvoice(WITHDRAWN, 1), submitInvoice(WITHDRAWN, 2)]);
    for (const wf of submissions) {
      const view = await finished(stack, wf);
      assert.equal(view.outcome, 'REJECTED_AT_UPLOAD', wf);
      assert.match(view.errors.join('; '), new RegExp(`Nu aveti drept in SPV pentru CIF=${WITHDRAWN}`));
    }

    // Both refusals reached the authorization (told beside the calls), and its queue is empty again.
    const workflowId = `${TENANT_A.tenant}/authorization/${id}`;
    await eventually(
      () => refusalSignals(workflowId),
      (n) => n >= 2,
      'both refused calls told the authorization',
    );
    const settled = await eventually(
      () => stack.client.workflow.getHandle(workflowId).query(statusQuery),
      (v) => v.webhook?.pending === 0 && v.webhook.lastEvent === 'authorization.cif_refused',
      'the queued events delivered',
    );
    const refused = hooks.received.filter((d) => d.event === 'authorization.cif_refused' && d.body.data.authorizationId === id);
    assert.equal(refused.length, 1, 'one event for the CIF, not one per refused call');
    const data = refused[0]!.body.data;
    assert.equal(data.cif, WITHDRAWN);
    assert.equal(data.source, 'call');
    assert.equal(data.scope, 'EFACTURA');
    assert.equal(data.reason, `Nu aveti drept in SPV pentru CIF=${WITHDRAWN}`);
    assert.equal(settled.status, 'ACTIVE', 'the sign-in stays for the other company');
    const noted = settled.recentEvents.filter((e) => e.event === 'CIF_REFUSED_AT_CALL');
    assert.equal(noted.length, 1);

    // The other company's invoices still go with the same sign-in.
    assert.equal((await finished(stack, await submitInvoice(KEPT, 3))).outcome, 'ACCEPTED');
  });
});
