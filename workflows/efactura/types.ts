/** Shapes shared by the e-Factura workflows, their activities and the API. Workflow-safe: no I/O. */
import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import type { BlobRef } from '../../lib/storage/blob-store';
import type { EfacturaStandard, InvoiceIdentity, SignatureCheckFields } from '../../activities/efactura/types';
import {
  type LifecycleSettings,
  type LifecycleStatus,
  type ListingDecisionName,
  UPLOAD_STAGES,
  type UploadAttempt,
  type WebhookStatus,
} from '../shared/lifecycle/types';

export type { UploadAttempt, WebhookStatus };

/** The stages and outcomes as values too: the API's list filters are these, never a copy. */
export const SUBMISSION_STAGES = [...UPLOAD_STAGES, 'DOWNLOADING', 'NOTIFYING', 'DONE'] as const;
export type SubmissionStage = (typeof SUBMISSION_STAGES)[number];

export const SUBMISSION_OUTCOMES = ['ACCEPTED', 'REJECTED', 'REJECTED_AT_UPLOAD', 'FAILED', 'CANCELLED'] as const;
export type SubmissionOutcome = (typeof SUBMISSION_OUTCOMES)[number];

export interface SubmissionFlags {
  extern: boolean;
  autofactura: boolean;
  executare: boolean;
  /** ANAF's uploadb2c. */
  b2c: boolean;
}

/** Timing the workflow follows; fixed at start (from config) so replays see the same values. */
export type SubmissionSettings = LifecycleSettings;

export interface SubmissionInput {
  tenant: string;
  cif: string;
  standard: EfacturaStandard;
  flags: SubmissionFlags;
  invoice: BlobRef;
  identity: InvoiceIdentity;
  /** sha256 of the normalized request (XML + parameters): same key with another body is a conflict. */
  requestSha256: string;
  callbackUrl?: string;
  receivedAt: string;
  settings: SubmissionSettings;
  /**
   * ANAF's /test or /prod for every call of this submission (upload, stareMesaj, descarcare,
   * reconcile), chosen by the API at start from the organization's EFACTURA setting: a later
   * change never moves it. Absent (started before it existed): the global default.
   */
  anafEnvironment?: AnafApiEnvironment;
}

/** Every choice the workflow makes about a possibly-duplicate upload, for the audit trail. */
export interface Decision {
  at: string;
  decision: ListingDecisionName | 'LINKED_TO_EARLIER_UPLOAD' | 'CANCELLED' | 'RESOLVE_SIGNAL_DROPPED';
  detail: string;
}

export interface SubmissionFiles {
  invoice: BlobRef;
  zip?: BlobRef;
  signedInvoice?: BlobRef;
  signature?: BlobRef;
  errorXml?: BlobRef;
}

export interface SubmissionView extends LifecycleStatus, SignatureCheckFields {
  tenant: string;
  cif: string;
  standard: EfacturaStandard;
  flags: SubmissionFlags;
  identity: InvoiceIdentity;
  /** ANAF's /test or /prod where every call of this lifecycle went (absent: started before it was recorded; the global default). */
  anafEnvironment?: AnafApiEnvironment;
  stage: SubmissionStage;
  outcome?: SubmissionOutcome;
  /** The index the result belongs to (after a duplicate link: the earlier upload's). */
  uploadIndex?: string;
  downloadId?: string;
  /** ANAF's last stareMesaj answer. */
  anafState?: string;
  /** When ANAF answered "already sent with index=N" to our upload, our rejected upload's index. */
  duplicateUploadIndex?: string;
  attempts: UploadAttempt[];
  statusChecks: number;
  /** ANAF's messages: upload errors, validation errors, or why it failed. */
  errors: string[];
  decisions: Decision[];
  files: SubmissionFiles;
}

export type ResolveAction =
  | { action: 'ADOPT_INDEX'; uploadIndex: string; note?: string }
  | { action: 'REUPLOAD'; note?: string }
  | { action: 'ABANDON'; note?: string };

export function submissionWorkflowId(tenant: string, idempotencyKey: string): string {
  return `${tenant}/efactura/${idempotencyKey}`;
}
