import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Client } from '@temporalio/client';
import { connectClient } from '../lib/temporal/temporal-client';
import { withCheckDigit } from '../schemas/cif';
import { DEV_BANCIWS_CUI } from '../sandbox/banciws/dev-pki';
import { callApi } from '../devkit/api-client';
import { testSignedPdf } from '../devkit/fixtures/banciws';
import { ublInvoice } from '../devkit/fixtures/invoice';
import { transportXml } from '../devkit/fixtures/transport';
import { authorizeOrganization } from '../devkit/oauth-walk';
import { submissionWhen } from '../devkit/views';
import { eventually } from '../devkit/wait';
import { ensureClusterRunning } from './cluster';

/**
 * `npm run cluster:test`: the end-to-end proof on the cluster (`npm run cluster`, started here
 * when it is not running, left running afterwards): OAuth, e-Factura accepted and rejected,
 * e-Transport, BANCIWS through the sandbox's F5 front (mTLS), an inbox sync Schedule, an
 * operator's resolve (an Update), and every workflow found in SQL visibility by its AnafCif
 * and AnafStage. Everything goes through the public API on the round-robin port and the
 * sandbox's HTTP controls, as a user would; Temporal is read over mTLS. Exits 1 on a failure.
 * Not part of `npm test`: it needs the Temporal server build.
 */

const RUN = `ct${Date.now().toString(36)}`;
const SELLER = withCheckDigit('4410001');
const STUCK_SELLER = withCheckDigit('4410002');
const CARRIER = withCheckDigit('4410003');
const BUYER = withCheckDigit('4410004');
const DEADLINE_MS = 180_000;

interface Outcome {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** Workflows this run made, each to be found in visibility by AnafCif and AnafStage. */
const workflows: Array<{ id: string; cif: string }> = [];

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Replaces the sandbox's fault rules (its HTTP control; the cluster's sandbox is a process of its own). */
async function sandboxFaults(sandboxUrl: string, rules: unknown[]): Promise<void> {
  const res = await request(`${sandboxUrl}/__sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const config = await ensureClusterRunning();
  const client: Client = await connectClient(config);
  const key = config.api.keys[0]!.key;
  const stack = { apiUrl: `http://127.0.0.1:${config.api.port}`, sandbox: { url: `http://127.0.0.1:${config.sandbox.port}` }, client };
  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) => callApi(stack, key, method, path, options);
  const result = <T>(id: string) => within(DEADLINE_MS, `workflow ${id}`, client.workflow.getHandle(id).result() as Promise<T>);
  const outcomes: Outcome[] = [];
  const check = async (name: string, fn: () => Promise<string>) => {
    const started = Date.now();
    try {
      const detail = await fn();
      outcomes.push({ name, ok: true, ms: Date.now() - started, detail });
    } catch (err) {
      outcomes.push({ name, ok: false, ms: Date.now() - started, detail: (err as Error).message.split('\n').slice(0, 6).join(' ') });
    }
  };
  const submitInvoice = async (cif: string, number: string, note?: string) => {
    const res = await api('POST', `/v1/efactura/invoices?cif=${cif}&standard=UBL`, {
      body: ublInvoice({ supplierCif: cif, buyerCif: BUYER, number, ...(note ? { note } : {}) }),
      headers: { 'idempotency-key': number },
    });
    assert.equal(res.status, 202, res.text);
    workflows.push({ id: res.json.id as string, cif });
    return res.json.id as string;
  };

  const resolveStuck = async () => {
    const id = await submitInvoice(STUCK_SELLER, `${RUN}-STUCK`);
    const stuck = await submissionWhen(stack, id, (v) => v.stage === 'NEEDS_OPERATOR', DEADLINE_MS);
    assert.equal(stuck.needsAttention, true);
    // Resolve takes an operator key (OPERATOR_API_KEYS), never a tenant's.
    const operatorKey = config.api.operatorKeys[0]?.key;
    assert.ok(operatorKey, 'cluster:test needs an operator key (OPERATOR_API_KEYS, generated in the sandbox)');
    const resolved = await callApi(stack, operatorKey, 'POST', `/v1/efactura/invoices/${encodeURIComponent(id)}/resolve`, {
      json: { action: 'ABANDON', note: 'cluster:test' },
    });
    assert.ok(resolved.status === 200 || resolved.status === 202, resolved.text);
    const view = await result<{ outcome: string }>(id);
    assert.equal(view.outcome, 'FAILED', JSON.stringify(view));
    return `${id}: ${stuck.attempts.length} uploads, then ABANDON → FAILED`;
  };

  await check('OAuth: authorization through the sandbox consent page, for e-Factura and e-Transport', async () => {
    for (const cif of [SELLER, STUCK_SELLER, BUYER]) await authorizeOrganization(stack, key, cif);
    await authorizeOrganization(stack, key, CARRIER, 'ETRANSPORT');
    const orgs = await api('GET', '/v1/organizations');
    assert.equal(orgs.status, 200, orgs.text);
    return `4 organizations authorized`;
  });

  await Promise.all([
    check('e-Factura accepted', async () => {
      const id = await submitInvoice(SELLER, `${RUN}-OK`);
      const view = await result<{ outcome: string }>(id);
      assert.equal(view.outcome, 'ACCEPTED', JSON.stringify(view));
      return id;
    }),
    check('e-Factura rejected (SANDBOX:NOK)', async () => {
      const id = await submitInvoice(SELLER, `${RUN}-NOK`, 'SANDBOX:NOK');
      const view = await result<{ outcome: string }>(id);
      assert.equal(view.outcome, 'REJECTED', JSON.stringify(view));
      return id;
    }),
    check('resolve (Update): four lost upload answers wait for an operator, who abandons', async () => {
      // Every upload of this seller reaches the sandbox, which files it, then the connection drops;
      // and ANAF's listing does not show it yet (its answer for an empty window), so reconciliation
      // cannot tell whether it arrived: after four such uploads the workflow waits for an operator.
      const rules = [
        { route: `^/test/FCTEL/rest/upload\\?.*cif=${STUCK_SELLER}(&|$)`, method: 'POST', times: 4, resetAfterReceive: true },
        {
          route: `^/test/FCTEL/rest/listaMesaje.*cif=${STUCK_SELLER}(&|$)`,
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({ eroare: 'Nu exista mesaje in intervalul selectat', titlu: 'Lista Mesaje' }),
        },
      ];
      await sandboxFaults(stack.sandbox.url, rules);
      try {
        return await resolveStuck();
      } finally {
        await sandboxFaults(stack.sandbox.url, []);
      }
    }),
    check('e-Transport: declaration → UIT', async () => {
      const ref = `${RUN}-T1`;
      const res = await api('POST', `/v1/etransport/declarations?cif=${CARRIER}`, {
        body: transportXml({ declarantCif: CARRIER, ref }),
        headers: { 'idempotency-key': ref },
      });
      assert.equal(res.status, 202, res.text);
      workflows.push({ id: res.json.id as string, cif: CARRIER });
      const view = await eventually(
        () => api('GET', `/v1/etransport/declarations/${encodeURIComponent(res.json.id as string)}`),
        (v) => v.status === 200 && v.json.outcome !== undefined,
        'the declaration has an outcome',
        DEADLINE_MS,
      );
      assert.equal(view.json.outcome, 'ACCEPTED', view.text);
      assert.ok(view.json.uit, view.text);
      return `${res.json.id}: UIT ${view.json.uit}`;
    }),
    check('BANCIWS: signed PDF through the F5 front (mTLS) → ANSWERED', async () => {
      const res = await api('POST', '/v1/banciws/messages', {
        json: { pdf: testSignedPdf(`cluster:test ${RUN}`).toString('base64'), fileName: 'f2101.pdf' },
        headers: { 'idempotency-key': `${RUN}-B1` },
      });
      assert.equal(res.status, 202, res.text);
      workflows.push({ id: res.json.id as string, cif: DEV_BANCIWS_CUI });
      const view = await result<{ outcome: string }>(res.json.id as string);
      assert.equal(view.outcome, 'ANSWERED', JSON.stringify(view));
      const answer = await api('GET', `/v1/banciws/messages/${encodeURIComponent(res.json.id as string)}/answer.pdf`);
      assert.equal(answer.status, 200);
      return res.json.id as string;
    }),
    check('inbox sync Schedule: enabled, triggered, its run ends', async () => {
      const enable = await api('PUT', `/v1/organizations/${BUYER}/efactura/inbox-sync`, { json: { intervalMinutes: 60 } });
      assert.equal(enable.status, 200, enable.text);
      const before = ((await api('GET', `/v1/organizations/${BUYER}/efactura/inbox-sync`)).json.recentRuns ?? []).length as number;
      const triggered = await api('POST', `/v1/organizations/${BUYER}/efactura/inbox-sync/run`);
      assert.equal(triggered.status, 202, triggered.text);
      const schedule = await eventually(
        () => api('GET', `/v1/organizations/${BUYER}/efactura/inbox-sync`),
        (s) => s.status === 200 && Array.isArray(s.json.recentRuns) && s.json.recentRuns.length > before,
        "the triggered sync run is among the schedule's recent runs",
        60_000,
      );
      const run = schedule.json.recentRuns.at(-1).workflowId as string;
      workflows.push({ id: run, cif: BUYER });
      const synced = await result<{ started: number }>(run);
      return `${run}: ${JSON.stringify(synced).slice(0, 120)}`;
    }),
  ]);

  await check(`visibility: every workflow of this run found by AnafCif and AnafStage`, async () => {
    // The ones this run started, and whatever they started (OAuth, inbox items): all of these CIFs' since t0.
    const cifs = [SELLER, STUCK_SELLER, CARRIER, BUYER, DEV_BANCIWS_CUI];
    const since = `AnafCif IN (${cifs.map((c) => `'${c}'`).join(', ')}) AND StartTime >= '${new Date(t0).toISOString()}'`;
    const all = new Map(workflows.map((w) => [w.id, w.cif]));
    await eventually(
      async () => {
        for await (const x of client.workflow.list({ query: since })) all.set(x.workflowId, String(x.searchAttributes.AnafCif?.[0]));
        return all.size;
      },
      () => workflows.every((w) => all.get(w.id) === w.cif),
      `visibility lists this run's workflows (${since})`,
      30_000,
    );
    for (const [id, cif] of all) {
      const described = await within(10_000, `describe ${id}`, client.workflow.getHandle(id).describe());
      const stage = described.searchAttributes.AnafStage?.[0];
      assert.ok(stage, `${id} has no AnafStage`);
      const query = `WorkflowId = '${id}' AND AnafCif = '${cif}' AND AnafStage = '${String(stage)}'`;
      await eventually(
        async () => {
          const found: string[] = [];
          for await (const x of client.workflow.list({ query })) found.push(x.workflowId);
          return found;
        },
        (found) => found.includes(id),
        `visibility: ${query}`,
        30_000,
      );
    }
    return `${all.size} workflows`;
  });

  await client.connection.close();
  const failed = outcomes.filter((o) => !o.ok);
  process.stdout.write(`\ncluster:test on Temporal ${config.temporal.address} (mTLS), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const o of outcomes) process.stdout.write(`  ${o.ok ? 'ok  ' : 'FAIL'}  ${o.name} (${(o.ms / 1000).toFixed(1)} s): ${o.detail}\n`);
  process.stdout.write(`${outcomes.length - failed.length} passed, ${failed.length} failed\n`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stdout.write(`cluster:test could not run: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
