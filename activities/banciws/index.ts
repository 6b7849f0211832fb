import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { BlobRef, BlobStore } from '../../lib/storage/blob-store';
import type { BanciwsInstitution } from '../../lib/config/banciws-config';
import type { AppConfig } from '../../lib/config/config';
import type { Logger } from '../../lib/observability/logger';
import { banciwsUndatedReceipts } from '../../lib/observability/metrics';
import { parseAnafMinute } from '../../lib/anaf/romanian-time';
import { BanciwsUnexpectedAnswer, BanciwsXmlError, type ListAnswer, type ListedMessage } from '../../schemas/banciws/xml';
import { FAILURE_TYPES, type FailureContext, failureForError, failureForProblem, unexpectedAnswer } from '../anaf/failures';
import { BanciwsAnswerError, BanciwsClient } from './client';
import { BanciwsCredentialsError } from './credentials';
import { BanciwsGatewayError, BanciwsRedirectRefused } from './transport';

/**
 * BANCIWS activities, registered on the rate-limited ANAF task queue. One F5 session per
 * institution per worker process (sessions are process state, not workflow state: the
 * cookie jar is a credential and never enters a history).
 */

export const BANCIWS_FAILURES = {
  NOT_READY: 'BanciwsNotReady',
  NOT_CONFIGURED: 'BanciwsNotConfigured',
  INVALID_REQUEST: 'BanciwsInvalidRequest',
  MALFORMED_ANSWER: 'BanciwsMalformedAnswer',
  NO_RIGHTS: 'BanciwsNoRights',
  TECHNICAL: 'BanciwsTechnicalError',
  LIST_REFUSED: 'BanciwsListRefused',
  REDIRECT_REFUSED: 'BanciwsRedirectRefused',
} as const;

export interface BanciwsActivityDeps {
  config: Pick<AppConfig, 'anaf' | 'banciws'>;
  blobs: BlobStore;
  logger?: Logger;
}

export interface InstitutionRef {
  tenant: string;
  institutionId: string;
}

export type UploadResult = { accepted: true; uploadIndex: string; dateResponse: string } | { accepted: false; errors: string[] };
export type StatusResult = { code: 0; idPortal: string; attempt: number } | { code: 2 | 3 | 4; errors: string[]; attempt: number };

export interface ReconcileInput extends InstitutionRef {
  /** Epoch ms of the attempt whose answer was lost. */
  sinceMs: number;
  /** Upload indexes our other reports of this institution own: their receipts are not ours. Absent for runs from before upload turns. */
  ownedIndexes?: string[];
  /** Runs from before upload turns still send these; unused (no receipt ANAF lists names a digest). */
  sha256?: string;
  checkedIds?: string[];
}

/** A receipt ANAF lists that may be ours, as listaMesaje gives it. */
export interface ReceiptCandidate {
  idPortal: string;
  indexIncarcare?: string;
  dataMesaj: string;
  denumire: string;
  /** Its Data_mesaj is no calendar minute: it may be from before the attempt or after it, so only an operator can say it is ours. */
  undated?: true;
}

export interface ReconcileResult {
  /** Receipts (Tip_fisier "Recipisa") dated from the attempt's minute on, naming no index our other reports own. */
  candidates: ReceiptCandidate[];
  /** The one candidate, when there is exactly one, dated, and it names an index (what runs from before upload turns adopt). */
  match?: { uploadIndex: string; receiptId: string };
  newlyChecked: string[];
  /** Receipts listed since the attempt (ours or not). */
  receipts: number;
}

export interface InboxItem extends ListedMessage {
  institutionId: string;
}

/** Data_mesaj is a Romanian minute and ANAF's clock is not ours: a receipt from the minute before the attempt may be ours too. */
const RECEIPT_CLOCK_MARGIN_MS = 60_000;

/**
 * How ANAF answers an empty listaMesaje is not documented (Comunicare_ANAF_prin_WS_xml_v9 and
 * respListaMesaje.xsd: Mesaj_eroare is "the complete general error message", no wording); its
 * REST listings say "Nu exista mesaje…". Only that sentence, whole (optionally naming the
 * window), is read as empty; any other Mesaj_eroare, including one that starts the same way and
 * goes on ("…: acces interzis"), is an unknown answer: never "no receipt", so never a re-send.
 */
const NO_MESSAGES =
  /^\s*Nu (?:exista|există|sunt) (?:niciun |nici un )?mesaj(?:e|ul)?(?: (?:in|în) (?:ultimele \d+ (?:zile|ore)|intervalul selectat|perioada selectata))?\s*\.?\s*$/i;

export function isNoMessagesAnswer(error: string | undefined): boolean {
  return error !== undefined && NO_MESSAGES.test(error);
}

/** The listed messages, [] for ANAF's "no messages"; any other Mesaj_eroare is a typed, non-retryable failure. */
function listedMessages(answer: ListAnswer, operation: string): ListedMessage[] {
  if (answer.error && !isNoMessagesAnswer(answer.error)) {
    throw ApplicationFailure.create({ type: BANCIWS_FAILURES.LIST_REFUSED, message: `${operation}: ${answer.error}`, nonRetryable: true });
  }
  return answer.messages;
}

/**
 * Data_mesaj (YYYYMMDDHHMM) as an instant, or undefined when it is no calendar minute: ANAF's
 * pattern admits days no month has (31 February), which a lenient reading would move elsewhere.
 */
export function receiptMinute(text: string): number | undefined {
  const m = /^\s*(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})\s*$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day, hour, minute));
  const real =
    calendar.getUTCFullYear() === year &&
    calendar.getUTCMonth() === month - 1 &&
    calendar.getUTCDate() === day &&
    calendar.getUTCHours() === hour &&
    calendar.getUTCMinutes() === minute;
  return real ? parseAnafMinute(m.slice(1).join('')) : undefined;
}

/** Hours back to cover `sinceMs`, as a Zile value (up to 24/24, then days). */
export function zileSince(sinceMs: number, now = Date.now()): string {
  const hours = Math.max(1, Math.ceil((now - sinceMs) / 3600_000) + 1);
  return hours <= 24 ? `${hours}/24` : String(Math.min(999, Math.ceil(hours / 24)));
}

export function createBanciwsActivities(deps: BanciwsActivityDeps) {
  const clients = new Map<string, BanciwsClient>();
  const institutions = new Map(deps.config.banciws.institutions.map((i) => [i.id, i]));

  function institution(ref: InstitutionRef): BanciwsInstitution {
    const found = institutions.get(ref.institutionId);
    if (!found || found.tenant !== ref.tenant) {
      throw ApplicationFailure.create({
        type: BANCIWS_FAILURES.NOT_CONFIGURED,
        message: `BANCIWS institution ${ref.institutionId} is not configured for tenant ${ref.tenant}`,
        nonRetryable: true,
      });
    }
    return found;
  }

  function clientFor(ref: InstitutionRef): BanciwsClient {
    const inst = institution(ref);
    let client = clients.get(inst.id);
    if (!client) {
      const defaults = deps.config.banciws;
      const own = Boolean(inst.pfx || inst.clientCert);
      try {
        client = new BanciwsClient({
          baseUrl: deps.config.anaf.banciwsBaseUrl,
          label: `BANCIWS institution ${inst.id} (CUI ${inst.cui})`,
          ...(defaults.tlsMaxVersion ? { tlsMaxVersion: defaults.tlsMaxVersion } : {}),
          credentials: own
            ? {
                clientCert: inst.clientCert,
                clientKey: inst.clientKey,
                pfx: inst.pfx,
                passphrase: inst.passphrase,
                ca: inst.ca ?? defaults.ca,
              }
            : {
                clientCert: defaults.clientCert,
                clientKey: defaults.clientKey,
                pfx: defaults.pfx,
                passphrase: defaults.passphrase,
                ca: inst.ca ?? defaults.ca,
              },
          ...(deps.logger ? { logger: deps.logger } : {}),
        });
      } catch (err) {
        if (err instanceof BanciwsCredentialsError)
          throw ApplicationFailure.create({ type: BANCIWS_FAILURES.NOT_CONFIGURED, message: err.message, nonRetryable: true });
        throw err;
      }
      clients.set(inst.id, client);
    }
    return client;
  }

  /** Every BANCIWS error as the ApplicationFailure the workflows key on; classification stays in failures.ts. */
  function failure(err: unknown, ctx: FailureContext): unknown {
    if (err instanceof BanciwsGatewayError || err instanceof BanciwsAnswerError) return failureForProblem(err.problem, ctx);
    // Nothing was sent past the login; following it elsewhere would hand our certificate's session to another host.
    if (err instanceof BanciwsRedirectRefused)
      return ApplicationFailure.create({
        type: BANCIWS_FAILURES.REDIRECT_REFUSED,
        message: `${ctx.operation}: ${err.message}`,
        nonRetryable: true,
      });
    // A read answered outside ANAF's documented shape goes to the operator with ANAF's text; an upload's may have been filed (below).
    if (err instanceof BanciwsUnexpectedAnswer && ctx.idempotent)
      return unexpectedAnswer(ctx.operation, err.problems.slice(0, 3).join('; '), err.anafText);
    if (err instanceof BanciwsXmlError) {
      if (err.document.endsWith('Request')) {
        return ApplicationFailure.create({
          type: BANCIWS_FAILURES.INVALID_REQUEST,
          message: `${ctx.operation}: ${err.message}`,
          nonRetryable: true,
        });
      }
      // ANAF answered something we cannot read: for an upload that is an answer lost after sending.
      return ApplicationFailure.create({
        type: ctx.idempotent ? BANCIWS_FAILURES.MALFORMED_ANSWER : FAILURE_TYPES.ANSWER_LOST,
        message: `${ctx.operation}: ANAF's answer is not valid BANCIWS XML: ${err.problems.slice(0, 3).join('; ')}`,
        nonRetryable: !ctx.idempotent,
      });
    }
    return failureForError(err, ctx);
  }

  async function guarded<T>(ctx: FailureContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      throw failure(err, ctx);
    }
  }

  async function storePdf(tenant: string, base64: string | undefined, what: string): Promise<BlobRef> {
    const pdf = Buffer.from(base64 ?? '', 'base64');
    if (!pdf.subarray(0, 1024).toString('latin1').includes('%PDF-')) {
      throw ApplicationFailure.create({
        type: BANCIWS_FAILURES.MALFORMED_ANSWER,
        message: `${what}: the downloaded document is not a PDF`,
      });
    }
    return deps.blobs.put(tenant, pdf, 'application/pdf');
  }

  return {
    /** One uploadMesaj. Not idempotent at ANAF: a lost answer is a non-retryable AnafAnswerLost and the workflow reconciles. */
    async uploadBanciwsMessage(input: InstitutionRef & { pdfKey: string }): Promise<UploadResult> {
      const pdf = await deps.blobs.get(input.pdfKey);
      const client = clientFor(input);
      const answer = await guarded({ operation: 'BANCIWS uploadMesaj', idempotent: false }, () => client.upload(pdf));
      if (answer.executionStatus === 0 && answer.indexIncarcare)
        return { accepted: true, uploadIndex: answer.indexIncarcare, dateResponse: answer.dateResponse };
      return { accepted: false, errors: answer.errors.length ? answer.errors : ['ANAF refused the upload without a message'] };
    },

    /** One stareMesaj. "Processing" (1) is a benign failure retried by Temporal: no history event per poll. */
    async checkBanciwsStatus(input: InstitutionRef & { uploadIndex: string }): Promise<StatusResult> {
      const attempt = Context.current().info.attempt;
      const client = clientFor(input);
      const answer = await guarded({ operation: 'BANCIWS stareMesaj', idempotent: true }, () => client.status(input.uploadIndex));
      if (answer.executionStatus === 1) {
        throw ApplicationFailure.create({
          type: BANCIWS_FAILURES.NOT_READY,
          message: `upload ${input.uploadIndex} is still being processed (check ${attempt})`,
          details: [{ attempt }],
          category: ApplicationFailureCategory.BENIGN,
        });
      }
      if (answer.executionStatus === 0) {
        // ANAF documents Id_portal as present if and only if ExecutionStatus is 0.
        if (!answer.idPortal)
          throw unexpectedAnswer(
            'BANCIWS stareMesaj',
            `ExecutionStatus 0 without Id_portal for index ${input.uploadIndex}`,
            JSON.stringify(answer),
          );
        return { code: 0, idPortal: answer.idPortal, attempt };
      }
      return { code: answer.executionStatus, errors: answer.errors, attempt };
    },

    /** descarcare: ANAF's signed PDF, kept in the blob store (workflows carry the reference). */
    async downloadBanciwsDocument(input: InstitutionRef & { idPortal: string }): Promise<{ pdf: BlobRef }> {
      const client = clientFor(input);
      const answer = await guarded({ operation: 'BANCIWS descarcare', idempotent: true }, () => client.download(input.idPortal));
      if (answer.errorCode === 2)
        throw ApplicationFailure.create({
          type: BANCIWS_FAILURES.TECHNICAL,
          message: `descarcare ${input.idPortal}: ANAF reports a technical error (2)`,
        });
      if (answer.errorCode === 1) {
        throw ApplicationFailure.create({
          type: BANCIWS_FAILURES.NO_RIGHTS,
          message: `descarcare ${input.idPortal}: no right to download this id, or it does not exist (1)`,
          nonRetryable: true,
        });
      }
      if (answer.errorCode === 3)
        throw ApplicationFailure.create({
          type: BANCIWS_FAILURES.INVALID_REQUEST,
          message: `descarcare ${input.idPortal}: ANAF calls the request malformed (3)`,
          nonRetryable: true,
        });
      return { pdf: await storePdf(input.tenant, answer.pdfBase64, `descarcare ${input.idPortal}`) };
    },

    /** listaMesaje for the inbox. */
    async listBanciwsMessages(input: InstitutionRef & { zile: string }): Promise<InboxItem[]> {
      const client = clientFor(input);
      const answer = await guarded({ operation: 'BANCIWS listaMesaje', idempotent: true }, () => client.list(input.zile));
      return listedMessages(answer, 'listaMesaje').map((m) => ({ ...m, institutionId: input.institutionId }));
    },

    /**
     * Did an upload whose answer was lost reach ANAF? ANAF's listaMesaje gives, per message,
     * id_portal, cui_banca, Tip_fisier, denumire, Index_incarcare and Data_mesaj: no digest of
     * the document. Uploads of an institution go one at a time (workflows/banciws/upload-turns.ts),
     * so a receipt dated from the attempt on that names an index none of our other reports owns
     * is a candidate; the workflow adopts a single one and hands several to an operator.
     */
    async findBanciwsUpload(input: ReconcileInput): Promise<ReconcileResult> {
      const client = clientFor(input);
      const ctx = { operation: 'BANCIWS reconcile (listaMesaje)', idempotent: true };
      const listed = await guarded(ctx, () => client.list(zileSince(input.sinceMs)));
      const from = Math.floor(input.sinceMs / 60_000) * 60_000 - RECEIPT_CLOCK_MARGIN_MS;
      // A refused listing proves nothing: it must not pass for "no receipt" (that would re-send the upload).
      // Nor may a receipt whose minute cannot be read: it may be ours, so it stays, marked undated (an operator decides).
      const receipts = listedMessages(listed, 'reconcile (listaMesaje)')
        .filter((m) => /recipis/i.test(m.tipFisier))
        .map((m) => ({ m, at: receiptMinute(m.dataMesaj) }))
        .filter(({ at }) => at === undefined || at >= from);
      const owned = new Set(input.ownedIndexes ?? []);
      const candidates: ReceiptCandidate[] = receipts
        .filter(({ m }) => !m.indexIncarcare || !owned.has(m.indexIncarcare))
        .map(({ m: { idPortal, indexIncarcare, dataMesaj, denumire }, at }) => ({
          idPortal,
          ...(indexIncarcare ? { indexIncarcare } : {}),
          dataMesaj,
          denumire,
          ...(at === undefined ? { undated: true as const } : {}),
        }));
      const undated = candidates.filter((c) => c.undated).length;
      if (undated) banciwsUndatedReceipts.inc({ institution: input.institutionId }, undated);
      const only = candidates.length === 1 ? candidates[0] : undefined;
      return {
        candidates,
        ...(only?.indexIncarcare && !only.undated ? { match: { uploadIndex: only.indexIncarcare, receiptId: only.idPortal } } : {}),
        newlyChecked: [],
        receipts: receipts.length,
      };
    },
  };
}

export type BanciwsActivities = ReturnType<typeof createBanciwsActivities>;
