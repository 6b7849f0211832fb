/** Shapes shared by the e-Transport workflows, their activities and the API. Workflow-safe: no I/O. */
import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import type { BlobRef } from '../../lib/storage/blob-store';
import type { DeclarationIdentity, OperationKind } from '../../schemas/etransport-declaration';
import {
  type LifecycleSettings,
  type LifecycleStatus,
  type ListingDecisionName,
  UPLOAD_STAGES,
  type UploadAttempt,
  type WebhookStatus as FinalWebhookStatus,
} from '../shared/lifecycle/types';

export type { UploadAttempt };

/** The stages and outcomes as values too: the API's list filters are these, never a copy. */
export const DECLARATION_STAGES = [
  ...UPLOAD_STAGES,
  /** The UIT is valid; follow-up operations are accepted. */
  'ACTIVE',
  /** Valid, not confirmed, and close to expiry. */
  'EXPIRING_UNCONFIRMED',
  'NOTIFYING',
  'DONE',
] as const;
export type DeclarationStage = (typeof DECLARATION_STAGES)[number];

/** The initial notification's outcome, then the UIT's end. */
export const DECLARATION_OUTCOMES = ['ACCEPTED', 'REJECTED', 'FAILED', 'DELETED', 'EXPIRED'] as const;
export type DeclarationOutcome = (typeof DECLARATION_OUTCOMES)[number];
export type OperationOutcome = 'ACCEPTED' | 'REJECTED' | 'FAILED' | 'INVALID';

export interface DeclarationSettings extends LifecycleSettings {
  /** Warn this long before an unconfirmed UIT expires. */
  expiryWarningMs: number;
  /** continueAsNew after this many operations (keeps the history short on a busy UIT). */
  operationsPerRun: number;
}

/** A checked, stored operation document, ready to upload. */
export interface PreparedOperation {
  kind: OperationKind;
  document: BlobRef;
  identity: DeclarationIdentity;
  /** The UIT a follow-up refers to. */
  uit?: string;
  confirmationType?: string;
  /** The caller's Idempotency-Key: the same key names the same operation. */
  requestKey?: string;
}

/** What an operator may send by signal from the Web UI (the workflow prepares the document). */
export type FollowUpRequest = { requestKey?: string } & (
  | { type: 'DELETION' }
  | { type: 'CONFIRMATION'; confirmationType: '10' | '20' | '30'; remarks?: string }
  | { type: 'VEHICLE_CHANGE'; vehicle: string; date: string; trailer1?: string; trailer2?: string; remarks?: string }
  | { type: 'XML'; xml: string }
);

export interface Decision {
  at: string;
  operationId: string;
  decision:
    | ListingDecisionName
    | 'FOLLOW_UP_REFUSED'
    | 'EXPIRY_WARNING'
    | 'UIT_EXPIRED'
    | 'CONTINUED_AS_NEW'
    /** A resolve signal that arrived while nothing waited for a decision (patched: dropped, not kept for later). */
    | 'RESOLVE_SIGNAL_DROPPED';
  detail: string;
}

export interface OperationRecord {
  /** `op-<n>`; op-1 is the notification itself. */
  id: string;
  kind: OperationKind;
  document: BlobRef;
  requestKey?: string;
  confirmationType?: string;
  stage: 'QUEUED' | 'UPLOADING' | 'RECONCILING' | 'NEEDS_OPERATOR' | 'POLLING' | 'DONE';
  outcome?: OperationOutcome;
  uploadIndex?: string;
  /** ANAF's last stareMesaj answer. */
  anafState?: string;
  attempts: UploadAttempt[];
  statusChecks: number;
  errors: string[];
  requestedAt: string;
  finishedAt?: string;
}

/** Webhooks go out through the UIT's life: the last one's event, too. */
export interface WebhookStatus extends FinalWebhookStatus {
  lastEvent?: string;
}

export interface DeclarationView extends LifecycleStatus<WebhookStatus> {
  tenant: string;
  cif: string;
  identity: DeclarationIdentity;
  /** ANAF's /test or /prod where every call of this lifecycle went (absent: started before it was recorded; the global default). */
  anafEnvironment?: AnafApiEnvironment;
  stage: DeclarationStage;
  outcome?: DeclarationOutcome;
  uit?: string;
  /** ISO: from when ANAF counts the UIT as expired. */
  uitExpiresAt?: string;
  confirmed: boolean;
  confirmationExpected: boolean;
  expiryWarned: boolean;
  /** The notification's upload index. */
  uploadIndex?: string;
  operations: OperationRecord[];
  /** The notification's errors (ANAF's messages), or why it failed. */
  errors: string[];
  decisions: Decision[];
  /** Runs so far (continueAsNew). */
  run: number;
}

export interface DeclarationInput {
  tenant: string;
  cif: string;
  notification: PreparedOperation;
  /** sha256 of the normalized request: the same key with another body is a conflict. */
  requestSha256: string;
  callbackUrl?: string;
  receivedAt: string;
  settings: DeclarationSettings;
  /**
   * ANAF's /test or /prod for every call of this declaration, chosen by the API at start (the
   * organization's ETRANSPORT setting) and carried across continueAsNew. Absent (started before
   * it existed): the global default.
   */
  anafEnvironment?: AnafApiEnvironment;
  /** Set by continueAsNew: the state so far. */
  carried?: DeclarationView;
  /**
   * Set by continueAsNew: follow-ups the previous run accepted but had not uploaded yet (their
   * records are in `carried.operations`, stage QUEUED) and follow-up signals it had not read.
   */
  pending?: { queued: Array<{ operationId: string; prepared: PreparedOperation }>; requests: FollowUpRequest[] };
}

export interface ReconcileDeclarationInput {
  tenant: string;
  cif: string;
  kind: OperationKind;
  identity: DeclarationIdentity;
  uit?: string;
  knownIndexes: string[];
  sinceMs: number;
  anafEnvironment?: AnafApiEnvironment;
}

export interface ReconcileDeclarationResult {
  listed: number;
  match?: { uploadIndex: string; uit?: string; valid: boolean; errors: string[] };
}

export type ResolveAction =
  | { action: 'ADOPT_INDEX'; uploadIndex: string; uit?: string; note?: string }
  | { action: 'REUPLOAD'; note?: string }
  | { action: 'ABANDON'; note?: string };

export type LookupInput =
  | { tenant: string; cif: string; kind: 'lista'; days: number }
  | {
      tenant: string;
      cif: string;
      kind: 'info';
      query: { carrierCif: string; declarantCif?: string; uit?: string; refDeclarant?: string };
    };
