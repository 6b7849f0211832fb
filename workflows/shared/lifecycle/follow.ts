import type { OperatorAction, Subject } from './ledger';
import type { Sent, UploadEnd, UploadResult } from './upload-once';
import { adoptedByOperator } from './waits';

/**
 * From an upload's index to ANAF's final answer: poll, and carry out what an operator
 * decided when polling could not go on (adopt another index, upload again, abandon).
 * Workflow-safe: no I/O.
 */

export type Followed<R> = { final: R; sent: Sent } | UploadEnd;

export interface Following<R> {
  upload(): Promise<UploadResult>;
  /** stareMesaj until final, or the operator's decision. */
  poll(uploadIndex: string): Promise<R | OperatorAction>;
  /** An index is ours now (from the upload, the listing, an operator or ANAF's duplicate answer). */
  indexed(sent: Sent): void;
}

export async function followToFinal<R extends object>(subject: Subject, spec: Following<R>, from: UploadResult): Promise<Followed<R>> {
  let result = from;
  for (;;) {
    if (!('sent' in result)) return result;
    const { sent } = result;
    spec.indexed(sent);
    const polled = await spec.poll(sent.uploadIndex);
    if (!('action' in polled)) return { final: polled, sent };
    if (polled.action === 'ADOPT_INDEX') {
      subject.decide('OPERATOR_ADOPTED_INDEX', adoptedByOperator(polled));
      result = { sent: { uploadIndex: polled.uploadIndex, ...(polled.uit ? { uit: polled.uit } : sent.uit ? { uit: sent.uit } : {}) } };
      continue;
    }
    if (polled.action === 'REUPLOAD') {
      subject.decide('OPERATOR_REUPLOAD', polled.note ?? 'operator chose to upload again');
      result = await spec.upload();
      continue;
    }
    subject.decide('OPERATOR_ABANDONED', polled.note ?? 'abandoned by an operator');
    return { ended: 'FAILED', errors: [polled.note ?? 'abandoned by an operator'] };
  }
}
