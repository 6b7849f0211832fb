import { condition, isCancellation, patched } from '@temporalio/workflow';
import { failureMessage } from '../anaf-failures';
import type { Lifecycle, OperatorAction, Subject } from './ledger';
import { waitForOperator } from './waits';

/**
 * After an upload's answer was lost: did it reach ANAF? Look for it in ANAF's listing and
 * ADOPT its index, or REUPLOAD once the listing delay has passed without it (until then "not
 * listed" proves nothing). An operator's decision wins at every round. Workflow-safe: no I/O.
 */

export interface ListingAnswer {
  match?: { uploadIndex: string; uit?: string; /** The decision's detail: where ANAF lists it. */ detail: string };
  /** Candidates compared this round, not to be fetched again (e-Factura's messages, BANCIWS's receipts). */
  newlyChecked?: string[];
  /** Look again: at once when this round compared something new, otherwise after a round (patched). */
  more?: boolean;
  /** Entries compared, when the service counts them itself (e-Transport); otherwise all checked so far. */
  compared?: number;
  /** The listing cannot tell which entry is ours (BANCIWS: several unowned receipts): an operator decides, told this. */
  ambiguous?: string;
}

/** How a service finds a lost upload in ANAF's listing, and its policy for looking. */
export interface Listing {
  find(sinceMs: number, checked: string[]): Promise<ListingAnswer>;
  listingDelayMs: number;
  /** Between rounds, at most. */
  roundEveryMs: number;
  /** The decisions recorded when the listing has it / proves it absent. */
  adopted: string;
  reupload: string;
  absentDetail(secondsSinceAttempt: number, compared: number): string;
  /** Said to the operator when the listing cannot be read: "could not check ANAF's listing for the lost upload". */
  unreadable: string;
  /** The listing delay counts from when the loss was noticed, not from the attempt's start (e-Factura, patched). */
  delayFromLoss?(): boolean;
  /** An operator's decision that arrived while the listing was read wins over what it found (e-Factura, patched). */
  operatorWinsOverListing?(): boolean;
  /**
   * Why "not listed" proves nothing for this upload, when it does not (e-Transport's corrections
   * and deletions: ANAF's lista never shows a valid one): then, the delay passed, an operator
   * decides instead of a re-send.
   */
  absenceProvesNothing?(): string | undefined;
}

/**
 * Before this patch a round that asked to look again went on at once even when it compared
 * nothing (an archive ANAF kept serving truncated): a loop without a timer that would fill the
 * history. Patched runs wait a round and, past MAX_STALLED_ROUNDS, ask an operator.
 */
const PATCH_LOOK_AGAIN_AFTER_A_ROUND = 'reconcile-look-again-after-a-round';
/**
 * Before this patch "not listed" counted as proof once the workflow got the listing's answer
 * after the deadline, however early the listing was read: an answer held up (a backlogged ANAF
 * queue, a Temporal or PostgreSQL restart between the read and its completion) could prove
 * absence with a listing read seconds after the upload, and the invoice went twice (the cluster
 * chaos run, 7 of 1,000). Patched runs count the round by when it was ASKED: the listing is read
 * at or after that, so only a round asked after the deadline proves the upload absent.
 */
const PATCH_ABSENCE_FROM_ROUNDS_ASKED_AFTER_DEADLINE = 'reconcile-absence-from-rounds-asked-after-deadline';
const MAX_STALLED_ROUNDS = 12;

/**
 * The REST services' listing policy (e-Factura's listing, e-Transport's lista): a lost upload is
 * adopted from the listing or re-sent once the listing delay has passed, with the same decisions.
 */
export function restListingPolicy(
  listingDelayMs: number,
  roundFloorMs: number,
  names: { listing: string; compared: string },
): Pick<Listing, 'listingDelayMs' | 'roundEveryMs' | 'adopted' | 'reupload' | 'absentDetail' | 'unreadable'> {
  return {
    listingDelayMs,
    roundEveryMs: listingRoundMs(listingDelayMs, roundFloorMs),
    adopted: 'ADOPTED_LISTED_INDEX',
    reupload: 'REUPLOAD_AFTER_LISTING_DELAY',
    absentDetail: (seconds, compared) =>
      `not in ANAF's ${names.listing} ${seconds} s after the attempt (${compared} ${names.compared} compared)`,
    unreadable: `could not check ANAF's ${names.listing} for the lost upload`,
  };
}

/** A round every quarter of the listing delay, within [floorMs, 5 min]. */
export function listingRoundMs(listingDelayMs: number, floorMs: number): number {
  return Math.min(5 * 60_000, Math.max(floorMs, Math.floor(listingDelayMs / 4)));
}

export async function reconcile(life: Lifecycle, subject: Subject, listing: Listing, attemptStartedAt: number): Promise<OperatorAction> {
  life.setStage('RECONCILING');
  subject.mirrorStage?.('RECONCILING');
  // The upload may have reached ANAF at any moment until we gave up on its answer (a heartbeat
  // timeout can come well after the attempt started), so where patched the delay counts from now.
  const deadline = (listing.delayFromLoss?.() ? Date.now() : attemptStartedAt) + listing.listingDelayMs;
  const checked: string[] = [];
  /** Rounds in a row that asked to look again without comparing anything (an archive that keeps arriving unreadable). */
  let stalledRounds = 0;
  for (;;) {
    const operator = life.takeAction();
    if (operator) return operator;
    let found: ListingAnswer;
    const askedAt = Date.now();
    try {
      found = await listing.find(attemptStartedAt, checked);
    } catch (err) {
      if (isCancellation(err)) throw err;
      return waitForOperator(life, subject, `${listing.unreadable}: ${failureMessage(err)}`);
    }
    checked.push(...(found.newlyChecked ?? []));
    if (life.pending !== undefined && listing.operatorWinsOverListing?.()) return life.takeAction()!;
    if (found.ambiguous !== undefined) return waitForOperator(life, subject, found.ambiguous);
    if (found.match) {
      subject.decide(listing.adopted, found.match.detail);
      return { action: 'ADOPT_INDEX', uploadIndex: found.match.uploadIndex, ...(found.match.uit ? { uit: found.match.uit } : {}) };
    }
    if (found.more) {
      const progressed = (found.newlyChecked?.length ?? 0) > 0;
      if (progressed || !patched(PATCH_LOOK_AGAIN_AFTER_A_ROUND)) {
        stalledRounds = 0;
        continue;
      }
      // Nothing compared: a candidate could not be read. It may be ours, so the listing delay
      // proves nothing while it stays unread (no re-send); look again a round later, and after
      // MAX_STALLED_ROUNDS hand it to an operator instead of downloading it forever.
      stalledRounds += 1;
      if (stalledRounds > MAX_STALLED_ROUNDS) {
        return waitForOperator(
          life,
          subject,
          `a message ANAF lists since the lost upload could not be read in ${MAX_STALLED_ROUNDS} rounds; it may be ours`,
        );
      }
      await condition(() => life.pending !== undefined, listing.roundEveryMs);
      continue;
    }
    if (listedAfter(askedAt, deadline)) {
      const unprovable = listing.absenceProvesNothing?.();
      if (unprovable !== undefined) return waitForOperator(life, subject, unprovable);
      subject.decide(
        listing.reupload,
        listing.absentDetail(Math.round((Date.now() - attemptStartedAt) / 1000), found.compared ?? checked.length),
      );
      return { action: 'REUPLOAD' };
    }
    await condition(() => life.pending !== undefined, Math.min(listing.roundEveryMs, Math.max(1_000, deadline - Date.now())));
  }
}

/** Did this round's listing prove the upload absent, i.e. was it read once the listing delay had passed? */
function listedAfter(askedAt: number, deadline: number): boolean {
  if (Date.now() < deadline) return false;
  return patched(PATCH_ABSENCE_FROM_ROUNDS_ASKED_AFTER_DEADLINE) ? askedAt >= deadline : true;
}
