import { type ActivityOptions, isCancellation, patched, sleep } from '@temporalio/workflow';
import { msUntilNextRomanianDay, romanianDay } from '../../../lib/anaf/romanian-time';
import { ANAF_FAILURE, attemptOf, AUTH_FAILURE_TYPES, failureMessage, failureType } from '../anaf-failures';
import { statusCheckOptions } from './activity-options';
import type { Lifecycle, OperatorAction, Subject } from './ledger';
import { waitForAuthorization, waitForOperator } from './waits';

/**
 * stareMesaj until ANAF's answer is final, within the daily budget ANAF allows per index
 * (100 checks a Romanian day): the checks one activity made count against it, and when it is
 * spent the workflow sleeps into the next Romanian day. Workflow-safe: no I/O.
 */

/**
 * An operator's ABANDON that ended the wait for an authorization while polling is used up here
 * (as uploadOnce does). Before this patch it stayed pending, and the next upload of the lifecycle
 * whose answer was lost (an e-Transport follow-up) was abandoned at once, without an operator.
 */
const PATCH_GAVE_UP_TAKES_ACTION = 'poll-authorization-gave-up-takes-action';

export interface StatusPolling<R extends { state: string; attempt: number }> {
  taskQueue: string;
  settings: { firstPollDelayMs: number; maxPollIntervalMs: number; dailyStatusBudget: number };
  /** "Not processed yet" after every retry the activity made: look again (budget allowing). */
  notReadyType: string;
  /** ANAF refused to tell this index's status: no retry helps. */
  statusRefusedType: string;
  /** One stareMesaj activity with these options. */
  check(options: ActivityOptions, uploadIndex: string): Promise<R>;
}

export async function pollWithinDailyBudget<R extends { state: string; attempt: number }>(
  life: Lifecycle,
  subject: Subject,
  spec: StatusPolling<R>,
  index: string,
): Promise<R | OperatorAction> {
  const { settings } = spec;
  const record = subject.record;
  life.setStage('POLLING');
  subject.mirrorStage?.('POLLING');
  await sleep(settings.firstPollDelayMs);
  let day = romanianDay(Date.now());
  let usedToday = 0;
  for (;;) {
    const today = romanianDay(Date.now());
    if (today !== day) {
      day = today;
      usedToday = 0;
    }
    const remaining = settings.dailyStatusBudget - usedToday;
    if (remaining <= 0) {
      await sleep(msUntilNextRomanianDay(Date.now()) + 60_000);
      continue;
    }
    const nonRetryable = [ANAF_FAILURE.NOT_AUTHORIZED, ANAF_FAILURE.UNAUTHORIZED, spec.statusRefusedType];
    try {
      const answer = await spec.check(statusCheckOptions(spec.taskQueue, settings, remaining, nonRetryable), index);
      record.statusChecks += answer.attempt;
      record.anafState = answer.state;
      life.touch();
      return answer;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const type = failureType(err);
      const attempt = attemptOf(err);
      record.statusChecks += attempt ?? 1;
      usedToday += attempt ?? remaining;
      life.touch();
      if (type === spec.notReadyType) {
        record.anafState = 'in prelucrare';
        continue;
      }
      if (type === ANAF_FAILURE.DAILY_LIMIT) {
        usedToday = settings.dailyStatusBudget;
        continue;
      }
      if (type !== undefined && AUTH_FAILURE_TYPES.has(type)) {
        if ((await waitForAuthorization(life, Date.now(), failureMessage(err))) === 'GAVE_UP') {
          const taken = patched(PATCH_GAVE_UP_TAKES_ACTION) ? life.takeAction() : undefined;
          return { action: 'ABANDON', note: taken?.note ?? 'no usable authorization while polling' };
        }
        life.setStage('POLLING');
        continue;
      }
      return waitForOperator(life, subject, `ANAF cannot tell the status of upload ${index}: ${failureMessage(err)}`);
    }
  }
}
