import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterDeleteUpdateFailed } from '../../api/organization-routes';
import { UPDATE_SENDS as DELETE_SENDS } from '../../lib/temporal/update-failures';
import { ApiError } from '../../api/errors';
import { LINKS_REMAIN } from '../../workflows/organization';

/**
 * What DELETE /v1/organizations/{cif} does with each failure of the organization's deleteOrganization
 * update. The server's "wasn't processed by worker" (an update racing a workflow task in flight) cannot
 * be made to happen on demand with real parts, so the sorting is tested here; the refusal and the
 * unknown update come from a real server in test/integration/organization-delete-race.test.ts.
 */
const CIF = '14399840';
const failed = (cause: Error) => new WorkflowUpdateFailedError('Workflow Update failed', cause);
// The server's text for an update dropped unprocessed (as activities/oauth/token-provider.ts matches it).
const unprocessed = () =>
  failed(new Error("update wasn't processed by worker. Probably, Workflow Task was completed by another worker or the workflow was reset"));

test('LinksRemain: unlink again; an update the workflow lacks: the old signal', () => {
  const linksRemain = failed(ApplicationFailure.create({ type: LINKS_REMAIN, message: 'still linked', details: [['EFACTURA']] }));
  assert.deepEqual(afterDeleteUpdateFailed(linksRemain, CIF, 1), { next: 'unlink-again' });
  const unknown = failed(new Error('No registered handler for update: deleteOrganization'));
  assert.deepEqual(afterDeleteUpdateFailed(unknown, CIF, 1), { next: 'signal' });
});

test(`an update the server dropped unprocessed is sent again, up to ${DELETE_SENDS} times with a growing pause`, () => {
  const pauses: number[] = [];
  for (let sent = 1; sent < DELETE_SENDS; sent++) {
    const failure = afterDeleteUpdateFailed(unprocessed(), CIF, sent);
    assert.equal(failure.next, 'resend', `send ${sent}`);
    if (failure.next === 'resend') pauses.push(failure.afterMs);
  }
  assert.deepEqual(pauses, [50, 100, 150, 200]);
  const last = afterDeleteUpdateFailed(unprocessed(), CIF, DELETE_SENDS);
  assert.equal(last.next, 'answer');
  assert.ok(last.next === 'answer' && last.error instanceof ApiError);
  assert.equal(last.error.status, 503);
  assert.equal(last.error.code, 'ORGANIZATION_DELETE_NOT_CONFIRMED');
});

test('any other update failure: 503 ORGANIZATION_DELETE_NOT_CONFIRMED naming the CIF, the cause for the log only', () => {
  const cause = new Error('Workflow Update failed because the Workflow completed before the Update completed.');
  const failure = afterDeleteUpdateFailed(failed(cause), CIF, 1);
  assert.ok(failure.next === 'answer' && failure.error instanceof ApiError, JSON.stringify(failure));
  assert.equal(failure.error.status, 503);
  assert.equal(failure.error.code, 'ORGANIZATION_DELETE_NOT_CONFIRMED');
  assert.deepEqual(failure.error.details, { cif: CIF });
  assert.doesNotMatch(JSON.stringify(failure.error.toBody()), /completed before/, 'the server text stays out of the answer');
  assert.equal((failure.error.cause as WorkflowUpdateFailedError).cause, cause);
});

test('not an update failure: a gone workflow is 404 ORGANIZATION_NOT_FOUND; anything else as thrown', () => {
  const gone = afterDeleteUpdateFailed(new WorkflowNotFoundError('gone', `t/org/${CIF}`, undefined), CIF, 1);
  assert.ok(gone.next === 'answer' && gone.error instanceof ApiError);
  assert.equal(gone.error.status, 404);
  assert.equal(gone.error.code, 'ORGANIZATION_NOT_FOUND');
  const other = new Error('connection refused');
  assert.deepEqual(afterDeleteUpdateFailed(other, CIF, 1), { next: 'answer', error: other });
});
