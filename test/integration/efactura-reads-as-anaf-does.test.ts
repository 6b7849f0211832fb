import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { type Stack, startStack, startWorkers } from '../../devkit/stack';

/**
 * e-Factura's reads where ANAF differs from what a client would assume (issue 14 items 6 and 7):
 * ANAF's `index_pagina_curenta` is not to be trusted, and its 60-day limit on a listing's start
 * is counted when the call reaches ANAF, not when our API was asked.
 * Real Temporal, the sandbox over HTTP.
 */

const SELLER = '14399840';
const BUYER = '18547290';
const DAY_MS = 24 * 3600 * 1000;

interface ListedMessage {
  id: string;
  supplierCif?: string;
  buyerCif?: string;
}

describe("listing pages: our own counter and numar_total_pagini, never ANAF's index_pagina_curenta", () => {
  let stack: Stack;
  const api = (path: string) => callApi(stack, TENANT_A.key, 'GET', path);

  before(async () => {
    // Pages of 2 messages; the sandbox (sandbox only, tests) answers index_pagina_curenta=1 on every page.
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 0, listPageSize: 2, misreportedPageIndex: 1 } } });
    await authorizeOrganization(stack, TENANT_A.key, BUYER);
  });
  after(async () => {
    await stack?.close();
  });

  test('following nextPage visits every page exactly once, each message once, with cif_emitent and cif_beneficiar kept', async () => {
    const received = [1, 2, 3, 4, 5].map((i) =>
      stack.sandbox.efactura.addReceivedInvoice({
        buyerCif: BUYER,
        supplierCif: SELLER,
        number: `PG-${process.pid}-${i}`,
        at: stack.sandbox.clock.now() - 60_000,
      }),
    );
    const visited: number[] = [];
    const listed: ListedMessage[] = [];
    let page: number | undefined = 1;
    // At most twice the pages there are: a client trusting ANAF's page index would loop here.
    while (page !== undefined && visited.length < 6) {
      const res = await api(`/v1/efactura/messages?cif=${BUYER}&days=1&filter=P&page=${page}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.totalPages, 3, res.text);
      visited.push(page);
      listed.push(...(res.json.messages as ListedMessage[]));
      page = res.json.nextPage as number | undefined;
    }
    assert.deepEqual(visited, [1, 2, 3]);
    assert.deepEqual(listed.map((m) => m.id).sort(), received.map((r) => r.id).sort());
    for (const m of listed) {
      assert.equal(m.supplierCif, SELLER, JSON.stringify(m));
      assert.equal(m.buyerCif, BUYER, JSON.stringify(m));
    }
  });
});

describe('the last 60 days: counted when ANAF is called, not when the API was asked', () => {
  let stack: Stack;
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;

  before(async () => {
    stack = await startStack({ workers: false, sandbox: { efactura: { processingDelayMs: 0 } } });
    workers = await startWorkers(stack);
    await authorizeOrganization(stack, TENANT_A.key, BUYER);
  });
  after(async () => {
    await workers?.stop();
    await stack?.close();
  });

  test("days=60 asked while no worker runs, served 8 s later by a worker, ANAF's clock 55 s ahead of ours: 200 with a 59-day-old invoice", async () => {
    const old = stack.sandbox.efactura.addReceivedInvoice({
      buyerCif: BUYER,
      supplierCif: SELLER,
      number: `OLD-${process.pid}`,
      at: stack.sandbox.clock.now() - 59 * DAY_MS,
    });
    await workers!.stop();
    workers = undefined;
    // ANAF's clock a little ahead of ours (within the product's margin), as real clocks are.
    stack.sandbox.clock.advance(55_000);
    const asked = Date.now();
    const answer = callApi(stack, TENANT_A.key, 'GET', `/v1/efactura/messages?cif=${BUYER}&days=60&filter=P`);
    // The scenario itself: the read's workflow waits 8 s for a worker (a restart, a backlog).
    await new Promise((r) => setTimeout(r, asked + 8_000 - Date.now()));
    workers = await startWorkers(stack);
    const res = await answer;
    assert.equal(res.status, 200, res.text);
    assert.ok(
      (res.json.messages as ListedMessage[]).some((m) => m.id === old.id),
      res.text,
    );
  });
});
