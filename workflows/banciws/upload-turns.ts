import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
// Thrown by startChild when the turns workflow already runs: then it is only asked.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';

/**
 * One BANCIWS upload at a time per institution. ANAF's listaMesaje names no digest of the
 * document a receipt acknowledges, only its Index_incarcare and the minute (Data_mesaj); when an
 * upload's answer is lost, the only way to tell our receipt from another is that nothing else of
 * ours was being uploaded meanwhile and every index our other reports got is known. So each
 * institution has one `banciwsUploadTurns` workflow (a mutex): a report asks for the turn, uploads
 * and reconciles while it holds it, and gives it back with the index it got; the grant carries the
 * indexes the institution's reports own. A holder that was terminated never gives the turn back:
 * an operator sends `releaseUploadTurn {"workflowId": "<its id>"}` from the Web UI.
 * Workflow-safe: no I/O.
 */

export interface UploadTurnsInput {
  tenant: string;
  institutionId: string;
  holder?: string;
  queue?: string[];
  owned?: OwnedIndex[];
}

interface OwnedIndex {
  index: string;
  /** Epoch ms it was given back; indexes older than OWNED_KEPT_MS are dropped. */
  at: number;
}

export interface UploadTurnsView {
  holder?: string;
  queue: string[];
  owned: number;
}

export const requestUploadTurnSignal = defineSignal<[{ workflowId: string }]>('requestUploadTurn');
export const releaseUploadTurnSignal = defineSignal<[{ workflowId: string; uploadIndex?: string }]>('releaseUploadTurn');
export const uploadTurnGrantedSignal = defineSignal<[{ ownedIndexes: string[] }]>('uploadTurnGranted');
export const uploadTurnsQuery = defineQuery<UploadTurnsView>('uploadTurns');

/** A receipt can be listed days after its upload (Zile reaches back days); a week covers any reconciliation. */
const OWNED_KEPT_MS = 7 * 24 * 3600_000;
const OWNED_KEPT_MAX = 5_000;
/** Grants per run before continuing as new (each is a handful of history events). */
const GRANTS_PER_RUN = 400;

export function uploadTurnsId(tenant: string, institutionId: string): string {
  return `${tenant}/banciws-upload-turns/${institutionId}`;
}

export async function banciwsUploadTurns(input: UploadTurnsInput): Promise<void> {
  const queue = [...(input.queue ?? [])];
  let holder = input.holder;
  let owned = [...(input.owned ?? [])];
  let grants = 0;
  setHandler(requestUploadTurnSignal, ({ workflowId }) => {
    if (holder !== workflowId && !queue.includes(workflowId)) queue.push(workflowId);
  });
  setHandler(releaseUploadTurnSignal, ({ workflowId, uploadIndex }) => {
    if (uploadIndex && !owned.some((o) => o.index === uploadIndex)) owned.push({ index: uploadIndex, at: Date.now() });
    if (holder === workflowId) holder = undefined;
    else if (queue.includes(workflowId)) queue.splice(queue.indexOf(workflowId), 1);
  });
  setHandler(uploadTurnsQuery, () => ({ ...(holder ? { holder } : {}), queue: [...queue], owned: owned.length }));

  for (;;) {
    await condition(() => (holder === undefined && queue.length > 0) || grants >= GRANTS_PER_RUN || workflowInfo().continueAsNewSuggested);
    if (grants >= GRANTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const keptFrom = Date.now() - OWNED_KEPT_MS;
      owned = owned.filter((o) => o.at >= keptFrom).slice(-OWNED_KEPT_MAX);
      await continueAsNew<typeof banciwsUploadTurns>({
        tenant: input.tenant,
        institutionId: input.institutionId,
        ...(holder ? { holder } : {}),
        queue,
        owned,
      });
    }
    const next = queue.shift()!;
    holder = next;
    grants += 1;
    try {
      await getExternalWorkflowHandle(next).signal(uploadTurnGrantedSignal, { ownedIndexes: owned.map((o) => o.index) });
    } catch {
      // The report is gone (finished, terminated): nobody holds the turn; the next one gets it.
      if (holder === next) holder = undefined;
    }
  }
}

/**
 * The report's side: ask for the turn (starting the institution's turns workflow if it does not
 * run yet), wait for it, run `work`, give the turn back with the index it got, also when the
 * report is cancelled.
 */
export async function withUploadTurn<T>(
  ref: { tenant: string; institutionId: string },
  work: (ownedIndexes: string[]) => Promise<T>,
  indexOf: (result: T) => string | undefined,
): Promise<T> {
  const turnsId = uploadTurnsId(ref.tenant, ref.institutionId);
  const me = workflowInfo().workflowId;
  let granted: string[] | undefined;
  setHandler(uploadTurnGrantedSignal, ({ ownedIndexes }) => {
    granted = ownedIndexes;
  });
  try {
    await startChild(banciwsUploadTurns, {
      workflowId: turnsId,
      args: [{ tenant: ref.tenant, institutionId: ref.institutionId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const turns = getExternalWorkflowHandle(turnsId);
  let uploadIndex: string | undefined;
  try {
    await turns.signal(requestUploadTurnSignal, { workflowId: me });
    await condition(() => granted !== undefined);
    const result = await work(granted!);
    uploadIndex = indexOf(result);
    return result;
  } finally {
    await CancellationScope.nonCancellable(() =>
      turns.signal(releaseUploadTurnSignal, { workflowId: me, ...(uploadIndex ? { uploadIndex } : {}) }),
    );
  }
}
