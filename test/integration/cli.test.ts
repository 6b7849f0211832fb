import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { withCheckDigit } from '../../schemas/cif';
import { OPERATOR, TENANT_A, TENANT_B } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { authorizeOrganization, walkAuthorizePage } from '../../devkit/oauth-walk';
import { finished, submissionWhen } from '../../devkit/views';
import { eventually } from '../../devkit/wait';
import { type Stack, startStack } from '../../devkit/stack';

/** The operator CLI as an operator runs it: a child process talking to the API over HTTP. */

const SELLER = '14399840';
const BUYER = '18547290';
/** Registered, never authorized: its submissions wait for an authorization, unsent. */
const UNAUTHORIZED_SELLER = withCheckDigit('3456789');
const UPLOAD = '/test/FCTEL/rest/upload';
const CLI = path.resolve(__dirname, '../../bin/anaf-flow.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('operator CLI (bin/anaf-flow.js) against the running stack', () => {
  let stack: Stack;
  let dir: string;

  const cli = (args: string[], key = TENANT_A.key, operatorKey: string | undefined = OPERATOR.key): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: {
          ...process.env,
          ANAF_FLOW_API: stack.apiUrl,
          ANAF_FLOW_API_KEY: key,
          ...(operatorKey ? { ANAF_FLOW_OPERATOR_KEY: operatorKey } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  const invoiceFile = (number: string, note?: string) => {
    const file = path.join(dir, `${number}.xml`);
    fs.writeFileSync(file, ublInvoice({ supplierCif: SELLER, buyerCif: BUYER, number, note }));
    return file;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-cli-'));
    // Messages reach ANAF's listing an hour late: a lost upload cannot be reconciled, so it waits for an operator.
    stack = await startStack({ sandbox: { efactura: { processingDelayMs: 1500, listingDelayMs: 3_600_000 } } });
    await authorizeOrganization(stack, TENANT_A.key, SELLER);
    const org = await callApi(stack, TENANT_A.key, 'POST', '/v1/organizations', {
      json: { cif: UNAUTHORIZED_SELLER, name: 'Not yet authorized' },
    });
    assert.equal(org.status, 201, org.text);
  });

  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One invoice submitted with --wait and accepted, made by whichever test needs it first, so each test also runs alone. */
  let accepted: Promise<{ file: string; run: Run; id: string }> | undefined;
  const acceptedSubmission = () =>
    (accepted ??= (async () => {
      const file = invoiceFile(`CLI-${process.pid}-1`);
      const run = await cli(['submit', file, '--cif', SELLER, '--wait']);
      // Every test that shares it relies on a finished, accepted case: say so here if it is not one.
      assert.equal(run.code, 0, `submit --wait: ${run.stderr}`);
      return { file, run, id: run.stdout.trim().split(/\s+/)[0]! };
    })());

  test('submit --wait follows the stages to ACCEPTED and exits 0; the same command again names the same submission', async () => {
    const { file, run, id: acceptedId } = await acceptedSubmission();
    assert.equal(run.code, 0, run.stderr);
    const stages = [...run.stderr.matchAll(/^\d\d:\d\d:\d\d (\w+)/gm)].map((m) => m[1]);
    assert.ok(stages.includes('POLLING'), run.stderr);
    assert.equal(stages.at(-1), 'DONE', run.stderr);
    const [id, outcome, , index] = run.stdout.trim().split(/\s+/);
    assert.match(id!, /^acme\/efactura\/cli-[0-9a-f]{40}$/);
    assert.equal(outcome, 'ACCEPTED');
    assert.match(index!, /^\d+$/);

    const again = await cli(['submit', file, '--cif', SELLER]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), acceptedId);
    assert.equal(stack.sandbox.efactura.state.uploadsFor(SELLER, `CLI-${process.pid}-1`, '2026-11-20'), 1);
  });

  test('status, list --outcome and download', async () => {
    const { id: acceptedId } = await acceptedSubmission();
    const status = await cli(['status', acceptedId, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).outcome, 'ACCEPTED');

    // The listing reads Temporal's visibility, which catches up with the workflow a moment later.
    const list = await eventually(
      () => cli(['list', '--cif', SELLER, '--outcome', 'ACCEPTED']),
      (r) => r.code !== 0 || r.stdout.split('\n').some((l) => l.endsWith(acceptedId)),
      'the accepted submission is listed',
    );
    assert.equal(list.code, 0, list.stderr);

    const zip = path.join(dir, 'answer.zip');
    const download = await cli(['download', acceptedId, '-o', zip]);
    assert.equal(download.code, 0, download.stderr);
    assert.equal(fs.readFileSync(zip).subarray(0, 2).toString(), 'PK');
  });

  test("a rejected invoice: --wait exits 1 and prints ANAF's errors", async () => {
    const run = await cli(['submit', invoiceFile(`CLI-${process.pid}-2`, 'SANDBOX:NOK'), '--cif', SELLER, '--wait']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /REJECTED/);
    assert.match(run.stdout, /ANAF: /);
  });

  test('authorize prints the URL the representative opens', async () => {
    const run = await cli(['authorize', '18547290', '--name', 'Buyer SRL', '--scope', 'EFACTURA']);
    assert.equal(run.code, 0, run.stderr);
    const url = new URL(run.stdout.trim());
    assert.ok(url.href.startsWith(stack.apiUrl) || url.href.startsWith(stack.sandbox.url), url.href);
  });

  test('authorize --companies prints one sign-in URL for several companies; authorizations lists it with them', async () => {
    await callApi(stack, TENANT_A.key, 'POST', '/v1/organizations', { json: { cif: '18547290', name: 'Buyer SRL' } });
    const run = await cli(['authorize', '--companies', `${SELLER},18547290`, '--scope', 'BOTH', '--label', 'Cabinet CLI']);
    assert.equal(run.code, 0, run.stderr);
    const id = /authorization (az_[A-Za-z0-9]{20})/.exec(run.stderr)?.[1];
    assert.ok(id, run.stderr);
    const go = await request(run.stdout.trim());
    await go.body.dump();
    const anafUrl = new URL(String(go.headers.location));
    const walked = await walkAuthorizePage(stack.sandbox.url, {
      clientId: anafUrl.searchParams.get('client_id')!,
      redirectUri: anafUrl.searchParams.get('redirect_uri')!,
      state: anafUrl.searchParams.get('state')!,
    });
    await (await request(walked.location.toString())).body.dump();
    const table = await eventually(
      () => cli(['authorizations']),
      (r) => r.stdout.split('\n').some((l) => l.startsWith(id) && l.includes(`${SELLER},18547290`)),
      'the sign-in listed with both companies',
    );
    const row = table.stdout.split('\n').find((l) => l.startsWith(id))!;
    assert.match(row, /Cabinet CLI\s+EFACTURA\+ETRANSPORT\s+\S+\s+ACTIVE\s+\d{4}-\d{2}-\d{2}\s+\d{4}-\d{2}-\d{2}$/);
    assert.match(table.stdout.split('\n')[0]!, /^ID\s+LABEL\s+SCOPES\s+COMPANIES\s+STATUS\s+ACCESS\s+REFRESH$/);
  });

  test('cancel: a submission not yet sent ends CANCELLED and is never uploaded; a sent one is refused with exit 2', async () => {
    const number = `CLI-${process.pid}-cancel`;
    const submitted = await cli(['submit', invoiceFile(number), '--cif', UNAUTHORIZED_SELLER]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    await submissionWhen(stack, id, (v) => v.stage === 'WAITING_FOR_AUTHORIZATION');

    const cancel = await cli(['cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /CANCELLED/);
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'CANCELLED', JSON.stringify(done));
    assert.equal(stack.sandbox.efactura.state.uploadsFor(UNAUTHORIZED_SELLER, number, '2026-11-20'), 0);

    const { id: acceptedId } = await acceptedSubmission();
    const tooLate = await cli(['cancel', acceptedId]);
    assert.equal(tooLate.code, 2);
    assert.match(tooLate.stderr, /TOO_LATE_TO_CANCEL \(HTTP 409\)/);
  });

  test('retry: a submission waiting for an operator is uploaded exactly once more and ends ACCEPTED, the decision recorded', async () => {
    const number = `CLI-${process.pid}-retry`;
    // Four uploads in a row reach ANAF, which files them, and the connection drops each time.
    stack.sandbox.faults.add({ route: UPLOAD, method: 'POST', times: 4, resetAfterReceive: true });
    const submitted = await cli(['submit', invoiceFile(number), '--cif', SELLER]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    await submissionWhen(stack, id, (v) => v.stage === 'NEEDS_OPERATOR', 90_000);
    const uploads = () => stack.sandbox.efactura.state.uploadsFor(SELLER, number, '2026-11-20');
    assert.equal(uploads(), 4);

    const retry = await cli(['retry', id]);
    assert.equal(retry.code, 0, retry.stderr);
    assert.ok(retry.stdout.startsWith(id), retry.stdout);
    const done = await finished(stack, id);
    assert.equal(done.outcome, 'ACCEPTED', JSON.stringify(done));
    assert.equal(uploads(), 5, 'exactly one more upload');
    assert.ok(
      done.decisions.some((d) => d.decision === 'OPERATOR_REUPLOAD' && d.detail === 'retry from the CLI'),
      JSON.stringify(done.decisions),
    );
  });

  test("usage and API errors exit 2: no action, a finished case, another tenant's case, a wrong key", async () => {
    const { id: acceptedId } = await acceptedSubmission();
    const noAction = await cli(['resolve', acceptedId]);
    assert.equal(noAction.code, 2);
    assert.match(noAction.stderr, /exactly one of/);

    const finishedCase = await cli(['resolve', acceptedId, '--abandon']);
    assert.equal(finishedCase.code, 2);
    assert.match(finishedCase.stderr, /HTTP 409/);

    // Resolve is an operator's decision: without an operator key the CLI refuses, and the tenant's key gets 403.
    const noOperatorKey = await cli(['resolve', acceptedId, '--abandon'], TENANT_A.key, '');
    assert.equal(noOperatorKey.code, 2);
    assert.match(noOperatorKey.stderr, /operator key is needed/);
    const tenantKeyAsOperator = await cli(['resolve', acceptedId, '--abandon'], TENANT_A.key, TENANT_A.key);
    assert.equal(tenantKeyAsOperator.code, 2);
    assert.match(tenantKeyAsOperator.stderr, /HTTP 403/);

    const foreign = await cli(['status', acceptedId], TENANT_B.key);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /HTTP 404/);

    const wrongKey = await cli(['list'], 'not-a-key-0123456789');
    assert.equal(wrongKey.code, 2);
    assert.match(wrongKey.stderr, /API_KEY_INVALID/);
    assert.ok(!wrongKey.stderr.includes('not-a-key-0123456789'));

    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
  });
});
