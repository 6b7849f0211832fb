import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  AnafCif,
  AnafNeedsAttention,
  AnafService,
  AnafStage,
  AnafTenant,
  AnafUploadIndex,
  type AnafServiceName,
} from '../../../lib/temporal/search-attributes';
import type { RecordingRules } from './recording';

/**
 * What a lifecycle records, the same way for every service: its stage (view + AnafStage),
 * whether it needs a person (view + AnafNeedsAttention), the decisions it took (the audit
 * trail in the view), the memo summary, and the operator's pending decision. The core
 * (workflows/shared/lifecycle) writes through this; each service keeps its own view type.
 * Workflow-safe: no I/O.
 */

/** Stages the core moves a lifecycle through; each service's stage type has those it reaches. */
export type CoreStage =
  'WAITING_FOR_AUTHORIZATION' | 'UPLOADING' | 'RECONCILING' | 'NEEDS_OPERATOR' | 'POLLING' | 'DOWNLOADING' | 'NOTIFYING' | 'DONE';

/** What an operator may decide about an uncertain upload (e-Transport's also names the UIT). */
export type OperatorAction =
  | { action: 'ADOPT_INDEX'; uploadIndex: string; uit?: string; note?: string }
  | { action: 'REUPLOAD'; note?: string }
  | { action: 'ABANDON'; note?: string };

export interface LedgerView {
  stage: string;
  needsAttention: boolean;
  attentionReason?: string;
  decisions: Array<{ at: string; decision: string; detail: string }>;
  updatedAt: string;
}

/** How the ledger records (recording.ts: the same for every service's new runs) and what it says. */
export interface LedgerPolicy extends RecordingRules {
  /** Decisions kept in the view (trimmed as RecordingRules.trimFrom says). */
  maxDecisions: number;
  /** The memo summary for `what`, prefixed with the service, the document and the CIF. */
  summary(what: string): string;
  /** Why the organization cannot call ANAF (its authorization): for the attention flag and the error. */
  noAuthorization?(why: string): string;
}

export const isoNow = (): string => new Date(Date.now()).toISOString();

export class Ledger<V extends LedgerView, A extends OperatorAction = OperatorAction> {
  /** The operator's decision, set by the service's resolve handlers, taken by the core. */
  pending: A | undefined;
  /** e-Factura's cancel Update: the reason, once asked. */
  cancelRequested: string | undefined;

  constructor(
    readonly view: V,
    private readonly policy: LedgerPolicy,
  ) {}

  touch(): void {
    this.view.updatedAt = isoNow();
  }

  get recordsSafeRetries(): boolean {
    return this.policy.recordSafeRetries;
  }

  setStage(stage: V['stage'] | CoreStage): void {
    if (this.view.stage === stage) return;
    this.view.stage = stage;
    this.touch();
    this.policy.attributes.set([{ key: AnafStage, value: stage }]);
  }

  attention(reason: string | undefined): void {
    const flag = reason !== undefined;
    if (this.policy.attentionWrites === 'on-change' && this.view.needsAttention === flag && this.view.attentionReason === reason) return;
    this.view.needsAttention = flag;
    if (reason) this.view.attentionReason = reason;
    else delete this.view.attentionReason;
    this.policy.attributes.set([{ key: AnafNeedsAttention, value: flag }]);
  }

  /** `extra` goes before the decision (e-Transport's operationId). */
  decide(decision: V['decisions'][number]['decision'], detail: string, extra: Record<string, unknown> = {}): void {
    const decisions = this.view.decisions;
    decisions.push({ at: isoNow(), ...extra, decision, detail });
    const { maxDecisions, trimFrom } = this.policy;
    if (decisions.length > maxDecisions) decisions.splice(trimFrom, decisions.length - maxDecisions);
    this.touch();
  }

  lastDecision(): string | undefined {
    return this.view.decisions.at(-1)?.decision;
  }

  takeAction(): A | undefined {
    const action = this.pending;
    this.pending = undefined;
    return action;
  }

  noAuthorization(why: string): string {
    return this.policy.noAuthorization?.(why) ?? why;
  }

  /**
   * The core's view of one thing being uploaded. The core records only decisions the service's
   * Decision type names (its policy passes them in), hence the cast.
   */
  subject(record: UploadRecord, extra?: Record<string, unknown>, mirrorStage?: Subject['mirrorStage']): Subject {
    return {
      record,
      decide: (decision, detail) => this.decide(decision as V['decisions'][number]['decision'], detail, extra),
      ...(mirrorStage ? { mirrorStage } : {}),
    };
  }

  /** The attributes every lifecycle starts with. */
  started(service: AnafServiceName, tenant: string, cif: string): void {
    this.set([
      { key: AnafTenant, value: tenant },
      { key: AnafService, value: service },
      { key: AnafCif, value: cif },
      { key: AnafStage, value: 'QUEUED' },
    ]);
  }

  /** ANAF's index for the upload: the attribute, and the memo says it. */
  indexed(index: string): void {
    this.set([{ key: AnafUploadIndex, value: index }]);
    this.summarize(`upload index ${index}`);
  }

  set(pairs: SearchAttributeUpdatePair[]): void {
    this.policy.attributes.set(pairs);
  }

  summarize(what: string): void {
    this.policy.attributes.memo({ summary: this.policy.summary(what) });
  }

  flush(): void {
    this.policy.attributes.flush();
  }
}

/** The record of one upload's attempts and status checks: the view itself, or e-Transport's operation. */
export interface UploadRecord {
  attempts: Array<{ n: number; startedAt: string; result: string; uploadIndex?: string; error?: string }>;
  statusChecks: number;
  anafState?: string;
}

/** One thing being uploaded: where its attempts go, how its decisions are tagged, where its stage shows. */
export interface Subject {
  record: UploadRecord;
  decide(decision: string, detail: string): void;
  /** e-Transport mirrors the stage onto the operation record. */
  mirrorStage?(stage: 'UPLOADING' | 'RECONCILING' | 'NEEDS_OPERATOR' | 'POLLING'): void;
}

/** What the core needs of a lifecycle: a Ledger, seen without its service's types. */
export interface Lifecycle {
  readonly pending: OperatorAction | undefined;
  readonly cancelRequested: string | undefined;
  /** Whether a safe re-send is recorded (a NOT_SENT attempt and a SAFE_RETRY decision). */
  readonly recordsSafeRetries: boolean;
  touch(): void;
  setStage(stage: CoreStage): void;
  attention(reason: string | undefined): void;
  lastDecision(): string | undefined;
  takeAction(): OperatorAction | undefined;
  noAuthorization(why: string): string;
}
