import type { BlobRef } from '../../lib/storage/blob-store';
import type { LifecycleStatus } from '../shared/lifecycle/types';

export type BanciwsStage = 'QUEUED' | 'UPLOADING' | 'RECONCILING' | 'NEEDS_OPERATOR' | 'POLLING' | 'DOWNLOADING' | 'NOTIFYING' | 'DONE';
export type BanciwsOutcome = 'ANSWERED' | 'REJECTED' | 'FAILED';

export interface BanciwsSettings {
  firstPollDelayMs: number;
  maxPollIntervalMs: number;
  listingDelayMs: number;
}

export interface BanciwsMessageInput {
  tenant: string;
  institutionId: string;
  cui: string;
  /** The signed PDF, in the blob store. */
  document: BlobRef;
  fileName?: string;
  callbackUrl?: string;
  receivedAt: string;
  settings: BanciwsSettings;
}

export interface BanciwsDecision {
  at: string;
  decision:
    | 'SAFE_RETRY'
    | 'ADOPTED_RECEIPT_INDEX'
    | 'REUPLOAD_PROVEN_ABSENT'
    | 'WAITING_FOR_OPERATOR'
    | 'OPERATOR_ADOPTED_INDEX'
    | 'OPERATOR_REUPLOAD'
    | 'OPERATOR_ABANDONED'
    /** A resolve signal that arrived while nothing waited for a decision (patched: dropped, not kept for later). */
    | 'RESOLVE_SIGNAL_DROPPED';
  detail: string;
}

export interface BanciwsAttempt {
  n: number;
  startedAt: string;
  result: 'ACCEPTED' | 'REFUSED' | 'ANSWER_LOST' | 'NOT_SENT' | 'FAILED';
  uploadIndex?: string;
  error?: string;
}

export type BanciwsResolveAction =
  | { action: 'ADOPT_INDEX'; uploadIndex: string; note?: string }
  | { action: 'REUPLOAD'; note?: string }
  | { action: 'ABANDON'; note?: string };

export interface BanciwsMessageView extends LifecycleStatus {
  tenant: string;
  institutionId: string;
  cui: string;
  stage: BanciwsStage;
  outcome?: BanciwsOutcome;
  /** REJECTED: 'UPLOAD_REFUSED', or stareMesaj's ExecutionStatus 2/3/4. */
  code?: string;
  errors: string[];
  uploadIndex?: string;
  idPortal?: string;
  statusChecks: number;
  attempts: BanciwsAttempt[];
  decisions: BanciwsDecision[];
  document: BlobRef;
  fileName?: string;
  answer?: BlobRef;
  /** Receipts that could be this report's when its upload answer was lost and ANAF's listing could not tell (the operator adopts one). */
  receiptCandidates?: ReceiptCandidate[];
}

/** A receipt ANAF lists (listaMesaje) that may acknowledge a lost upload. */
export interface ReceiptCandidate {
  idPortal: string;
  indexIncarcare?: string;
  dataMesaj: string;
  denumire: string;
  /** Its Data_mesaj is no calendar minute: it may predate the attempt, so it is never adopted without an operator. */
  undated?: true;
}

export interface BanciwsInboxInput {
  tenant: string;
  institutionId: string;
  cui: string;
  zile: string;
  callbackUrl?: string;
}

export interface BanciwsInboxItemInput {
  tenant: string;
  institutionId: string;
  cui: string;
  idPortal: string;
  tipFisier: string;
  denumire: string;
  indexIncarcare?: string;
  dataMesaj: string;
  callbackUrl?: string;
}

export interface BanciwsInboxItemView extends BanciwsInboxItemInput {
  document?: BlobRef;
  error?: string;
  downloadedAt?: string;
}

export interface BanciwsInboxRunResult {
  listed: number;
  started: number;
  alreadyKnown: number;
}
