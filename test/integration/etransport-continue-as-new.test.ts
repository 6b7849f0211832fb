import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { prepareOperation } from '../../schemas/etransport-operation';
import { blobStoreFor } from '../../lib/storage/blob-store';
import type { etransportDeclaration } from '../../workflows/etransport/declaration';
import { followUpSignal } from '../../workflows/etransport/definitions';
import type { DeclarationInput, DeclarationView, OperationRecord, PreparedOperation } from '../../workflows/etransport/types';
import { TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { authorizeOrganization } from '../../devkit/oauth-walk';
import { today, transportXml } from '../../devkit/fixtures/transport';
import { declarationWhen } from '../../devkit/views';
import { type Stack, startStack } from '../../devkit/stack';

/**
 * A declaration continues as new after `operationsPerRun` operations, but only once every
 * webhook has settled — and a receiver may take days. Follow-ups accepted meanwhile (Update:
 * 202 with an operationId; signal from the Web UI) must be uploaded, not left QUEUED in a new
 * run that starts with an empty queue. The API fixes operationsPerRun at 25, so these
 * declarations are started directly with a small one.
 */

const CIF = '14399840';

describe('e-Transport continue-as-new while a webhook is slow', () => {
  let stack: Stack;
  let hooks: http.Server;
  let hookUrl: string;
  /** Deliveries of this operation's "finished" webhook hang until `release()`. */
  let holdOperation: string | undefined;
  let held: Array<() => void> = [];
  let heldSeen: () => void = () => undefined;
  let firstHeld = new Promise<void>((r) => (heldSeen = r));
  const release = () => {
    holdOperation = undefined;
    for (const respond of held.splice(0)) respond();
  };

  const api = (method: string, path: string, options?: Parameters<typeof callApi>[4]) =>
    callApi(stack, TENANT_A.key, method, path, options);
  const operations = (id: string) => `/v1/etransport/declarations/${encodeURIComponent(id)}/operations`;
  const op = (v: DeclarationView, id: string): OperationRecord | undefined => v.operations.find((o) => o.id === id);

  async function prepared(xml: string, requestKey?: string): Promise<PreparedOperation> {
    const p = await prepareOperation(blobStoreFor(stack.config.dataDir), TENANT_A.tenant, Buffer.from(xml, 'utf8'), requestKey);
    assert.ok(!('invalid' in p), JSON.stringify(p));
    return p;
  }

  async function start(
    key: string,
    input: Omit<DeclarationInput, 'tenant' | 'cif' | 'requestSha256' | 'receivedAt' | 'settings' | 'callbackUrl'>,
  ): Promise<string> {
    const id = `${TENANT_A.tenant}/etransport/${key}`;
    const e = stack.config.etransport;
    await stack.client.workflow.start<typeof etransportDeclaration>('etransportDeclaration', {
      workflowId: id,
      taskQueue: stack.config.temporal.taskQueue,
      args: [
        {
          tenant: TENANT_A.tenant,
          cif: CIF,
          requestSha256: key,
          callbackUrl: hookUrl,
          receivedAt: new Date().toISOString(),
          settings: {
            firstPollDelayMs: e.firstPollDelayMs,
            maxPollIntervalMs: e.maxPollIntervalMs,
            listingDelayMs: e.listingDelayMs,
            dailyStatusBudget: 90,
            expiryWarningMs: e.expiryWarningMs,
            operationsPerRun: 2,
          },
          ...input,
        },
      ],
    });
    return id;
  }

  before(async () => {
    hooks = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; data: { operation?: { id: string } } };
        if (holdOperation && body.event === 'etransport.operation.finished' && body.data.operation?.id === holdOperation) {
          held.push(() => res.writeHead(200).end('ok'));
          heldSeen();
          return;
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    stack = await startStack({ sandbox: { etransport: { processingDelayMs: 0 } } });
    await authorizeOrganization(stack, TENANT_A.key, CIF, 'ETRANSPORT');
  });
  after(async () => {
    release();
    await stack?.close();
    hooks?.closeAllConnections();
    hooks?.close();
  });

  test('follow-ups accepted while the run waits for a webhook before continuing as new are uploaded, then the run continues as new', async () => {
    const ref = `CAN-${process.pid}`;
    const id = await start(`can-${ref}`, { notification: await prepared(transportXml({ declarantCif: CIF, ref })) });
    const { uit } = await declarationWhen(stack.client, id, (v) => v.stage === 'ACTIVE');

    // op-2 fills the run (operationsPerRun 2); its webhook hangs, so the run cannot continue as new yet.
    holdOperation = 'op-2';
    held = [];
    firstHeld = new Promise<void>((r) => (heldSeen = r));
    const first = await api('POST', operations(id), {
      json: { type: 'VEHICLE_CHANGE', vehicle: 'B02BBB', date: today() },
      headers: { 'idempotency-key': `mvh1-${ref}` },
    });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.json.operationId, 'op-2');
    await firstHeld;

    try {
      // Meanwhile: one follow-up by the API (answered with its operationId), one by signal.
      const second = await api('POST', operations(id), {
        json: { type: 'VEHICLE_CHANGE', vehicle: 'B03CCC', date: today() },
        headers: { 'idempotency-key': `mvh2-${ref}` },
      });
      assert.equal(second.status, 202, second.text);
      assert.equal(second.json.operationId, 'op-3');
      await stack.client.workflow.getHandle(id).signal(followUpSignal, { type: 'VEHICLE_CHANGE', vehicle: 'B04DDD', date: today() });

      // Both are uploaded while the webhook still hangs: the declaration keeps serving.
      const served = await declarationWhen(stack.client, id, (v) => op(v, 'op-4')?.outcome !== undefined);
      assert.equal(served.run, 1, 'not continued as new while a webhook is pending');
      assert.deepEqual(
        served.operations.map((o) => [o.id, o.kind, o.outcome]),
        [
          ['op-1', 'NOTIFICATION', 'ACCEPTED'],
          ['op-2', 'VEHICLE_CHANGE', 'ACCEPTED'],
          ['op-3', 'VEHICLE_CHANGE', 'ACCEPTED'],
          ['op-4', 'VEHICLE_CHANGE', 'ACCEPTED'],
        ],
      );
    } finally {
      release();
    }

    // Once the webhook is delivered and nothing is left to do: the next run, with everything carried.
    const next = await declarationWhen(stack.client, id, (v) => v.run === 2);
    assert.equal(next.stage, 'ACTIVE');
    assert.equal(next.uit, uit);
    assert.ok(
      next.operations.every((o) => o.stage === 'DONE' && o.outcome === 'ACCEPTED'),
      JSON.stringify(next.operations),
    );
    assert.equal(next.decisions.filter((d) => d.decision === 'CONTINUED_AS_NEW').length, 1);
    assert.equal(stack.sandbox.etransport.state.followUpUploads(uit!, 'MVH'), 3, 'each vehicle change uploaded once');
    assert.equal(stack.sandbox.etransport.state.notification(uit!)?.vehicleChanges.at(-1)?.vehicle, 'B04DDD');

    // The next run serves follow-ups too.
    const third = await api('POST', operations(id), {
      json: { type: 'VEHICLE_CHANGE', vehicle: 'B05EEE', date: today() },
      headers: { 'idempotency-key': `mvh3-${ref}` },
    });
    assert.equal(third.status, 202, third.text);
    assert.equal(third.json.operationId, 'op-5');
    const done = await declarationWhen(stack.client, id, (v) => op(v, 'op-5')?.outcome !== undefined);
    assert.equal(op(done, 'op-5')!.outcome, 'ACCEPTED');
  });

  test('a run started with carried follow-ups uploads them; a QUEUED record nothing was carried for is marked not sent', async () => {
    const ref = `CAN-${process.pid}-carried`;
    const origin = await start(`can-${ref}-origin`, { notification: await prepared(transportXml({ declarantCif: CIF, ref })) });
    const active = await declarationWhen(stack.client, origin, (v) => v.stage === 'ACTIVE');
    const uit = active.uit!;
    await stack.client.workflow.getHandle(origin).terminate('replaced by a continued run in this test');

    // As a previous run would hand over: op-2 accepted by Update and carried, op-3 QUEUED but not carried, a signal not yet read.
    const carriedOp = await prepared(transportXml({ declarantCif: CIF, ref, correctsUit: uit, vehicle: 'CJ77CAR' }), `cor-${ref}`);
    const queued = (n: number, p: PreparedOperation): OperationRecord => ({
      id: `op-${n}`,
      kind: p.kind,
      document: p.document,
      ...(p.requestKey ? { requestKey: p.requestKey } : {}),
      stage: 'QUEUED',
      attempts: [],
      statusChecks: 0,
      errors: [],
      requestedAt: new Date().toISOString(),
    });
    const { requestKey: _key, ...lostOp } = carriedOp;
    const carried: DeclarationView = { ...active, operations: [...active.operations, queued(2, carriedOp), queued(3, lostOp)] };
    const id = await start(`can-${ref}`, {
      notification: await prepared(transportXml({ declarantCif: CIF, ref })),
      carried,
      pending: { queued: [{ operationId: 'op-2', prepared: carriedOp }], requests: [{ type: 'CONFIRMATION', confirmationType: '10' }] },
    });

    const view = await declarationWhen(stack.client, id, (v) => v.operations.length === 4 && v.operations.every((o) => o.stage === 'DONE'));
    assert.equal(view.run, active.run + 1);
    assert.deepEqual(
      view.operations.map((o) => [o.id, o.kind, o.outcome]),
      [
        ['op-1', 'NOTIFICATION', 'ACCEPTED'],
        ['op-2', 'CORRECTION', 'ACCEPTED'],
        ['op-3', 'CORRECTION', 'FAILED'],
        ['op-4', 'CONFIRMATION', 'ACCEPTED'],
      ],
    );
    assert.match(op(view, 'op-3')!.errors.join(' '), /not sent/);
    assert.equal(view.identity.vehicle, 'CJ77CAR');
    assert.equal(view.confirmed, true);
    assert.equal(stack.sandbox.etransport.state.followUpUploads(uit, 'COR'), 1, 'the carried correction uploaded once');
  });
});
