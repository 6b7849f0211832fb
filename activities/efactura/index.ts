import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { BlobRef } from '../../lib/storage/blob-store';
import { isValidCif } from '../../schemas/cif';
import { inspectInvoiceXml, sameInvoice } from '../../schemas/efactura-invoice';
import { efacturaCalls } from './calls';
import { AnswerArchiveError, archiveFailure, readAnswerZip } from './answer-zip';
import type { AnafMessage, AnswerArchive, EfacturaStandard, FinalStare, InvoiceIdentity, UploadAnswer, UploadParams } from './types';
import { type AnafApiEnvironment, defaultApiEnvironment } from '../../lib/anaf/anaf-environments';

export interface DownloadedAnswer {
  zip: BlobRef;
  kind: 'ok' | 'nok';
  signedInvoice?: BlobRef;
  signature?: BlobRef;
  errorXml?: BlobRef;
  errors: string[];
  duplicateOfIndex?: string;
}

export interface ReconcileInput extends EfacturaTarget {
  standard: EfacturaStandard;
  identity: InvoiceIdentity;
  /** Epoch ms of the attempt whose answer was lost: only messages since then can be it. */
  sinceMs: number;
  /** Message ids already downloaded and compared by earlier rounds (each download costs quota). */
  checkedMessageIds: string[];
}

export interface ReconcileResult {
  match?: { uploadIndex: string; messageId: string };
  newlyChecked: string[];
  listed: number;
  /** Candidates left unchecked (this round's download cap reached, or an archive arrived truncated): call again. */
  more: boolean;
}

export const NOT_READY = 'EfacturaNotReady';
export const STATUS_REFUSED = 'EfacturaStatusRefused';
export { ARCHIVE_MALFORMED, ARCHIVE_REFUSED } from './answer-zip';
import type { EfacturaActivityDeps, EfacturaTarget } from './deps';

export type { EfacturaActivityDeps, EfacturaTarget } from './deps';

/** Clock skew and ANAF's minute-granular timestamps: look a little before the attempt. */
const RECONCILE_MARGIN_MS = 5 * 60_000;
/** Downloads per reconcile round: one activity task should stay close to one ANAF call of budget. */
const RECONCILE_DOWNLOADS_PER_ROUND = 5;

/**
 * The stored copy of ANAF's archive for a download id (a message id in the listings). ANAF's test
 * and prod number their messages apart, so the non-default environment's copies are named apart.
 */
function archiveName(downloadId: string, env: AnafApiEnvironment, defaultEnv: AnafApiEnvironment): string {
  return env === defaultEnv ? `efactura-download-${downloadId}` : `efactura-download-${env}-${downloadId}`;
}

/**
 * The listing's cif_emitent / cif_beneficiar (read by the client): rules out most messages without a
 * download. A buyer's CNP (B2C) rules nothing out: how ANAF writes an individual there is not
 * documented, and a wrong "not ours" would end in a second filing.
 */
export function couldBeOurs(message: Pick<AnafMessage, 'supplierCif' | 'buyerCif'>, identity: InvoiceIdentity): boolean {
  if (message.supplierCif && identity.supplierCif && message.supplierCif !== identity.supplierCif) return false;
  const buyerIsCompany = identity.buyerCif !== undefined && isValidCif(identity.buyerCif);
  if (message.buyerCif && buyerIsCompany && message.buyerCif !== identity.buyerCif) return false;
  return true;
}

/** e-Factura activities that call ANAF: registered on the rate-limited ANAF task queue. */
export function createEfacturaAnafActivities(deps: EfacturaActivityDeps) {
  const { lifecycleAnaf, withToken } = efacturaCalls(deps);
  const { blobs } = deps;
  const defaultEnv = defaultApiEnvironment(deps.config.anaf.apiBaseUrl);

  const storeXml = (tenant: string, bytes: Buffer) => blobs.put(tenant, bytes, 'application/xml');

  /**
   * ANAF's archive for a download id, fetched once per tenant: every reconciling submission of an
   * organization compares the same messages, and ANAF allows 10 downloads per message per day
   * (the message's own submission still needs one). Readable archives are kept by download id;
   * concurrent fetches in this worker share one download. The archive is read here once and the
   * outcome handed to the caller, which does not read it again.
   */
  type FetchedArchive = { bytes: Buffer; read: { archive: AnswerArchive } | { error: unknown }; downloaded: boolean };
  const fetching = new Map<string, Promise<FetchedArchive>>();
  const fetchArchive = (target: EfacturaTarget, downloadId: string): Promise<FetchedArchive> => {
    const env = target.anafEnvironment ?? defaultEnv;
    const name = archiveName(downloadId, env, defaultEnv);
    const key = `${target.tenant}|${name}`;
    const pending = fetching.get(key);
    if (pending) return pending.then((r) => ({ ...r, downloaded: false }));
    const fetch = (async (): Promise<FetchedArchive> => {
      const kept = await blobs.getNamed(target.tenant, name);
      const bytes = kept ?? (await withToken(target, 'e-Factura descarcare', (token) => lifecycleAnaf(target).download(token, downloadId)));
      const read = await readAnswerZip(bytes).then(
        (archive) => ({ archive }),
        (error: unknown) => ({ error }),
      );
      if (!kept && 'archive' in read) await blobs.putNamed(target.tenant, name, bytes, 'application/zip');
      return { bytes, read, downloaded: !kept };
    })().finally(() => fetching.delete(key));
    fetching.set(key, fetch);
    return fetch;
  };

  return {
    /**
     * One upload. Not idempotent at ANAF: a lost answer surfaces as a non-retryable
     * AnafAnswerLost and the workflow reconciles instead of sending it again.
     */
    async uploadInvoice(input: EfacturaTarget & { params: UploadParams; invoiceKey: string }): Promise<UploadAnswer> {
      const xml = await blobs.get(input.invoiceKey);
      return await withToken(input, 'e-Factura upload', (token) => lifecycleAnaf(input).upload(token, input.params, xml));
    },

    /**
     * One stareMesaj check. "in prelucrare" is thrown as a benign, retryable failure: Temporal
     * retries it with the workflow's backoff, and no poll leaves an event in the history.
     */
    async checkUploadStatus(
      input: EfacturaTarget & { uploadIndex: string },
    ): Promise<{ state: FinalStare; downloadId?: string; attempt: number }> {
      const attempt = Context.current().info.attempt;
      const answer = await withToken(input, 'e-Factura stareMesaj', (token) => lifecycleAnaf(input).status(token, input.uploadIndex));
      if (answer.state === 'in prelucrare') {
        throw ApplicationFailure.create({
          type: NOT_READY,
          message: `upload ${input.uploadIndex} is still being processed (check ${attempt})`,
          details: [{ attempt }],
          category: ApplicationFailureCategory.BENIGN,
        });
      }
      if (answer.state === 'error') {
        throw ApplicationFailure.create({
          type: STATUS_REFUSED,
          message: `ANAF refused the status of upload ${input.uploadIndex}: ${answer.errors.join('; ')}`,
          details: [{ errors: answer.errors }],
          nonRetryable: true,
        });
      }
      return { state: answer.state, ...('downloadId' in answer && answer.downloadId ? { downloadId: answer.downloadId } : {}), attempt };
    },

    /** Downloads ANAF's answer ZIP, keeps it and its files in the blob store, reads the result. */
    async downloadAnswer(input: EfacturaTarget & { downloadId: string }): Promise<DownloadedAnswer> {
      const { bytes, read } = await fetchArchive(input, input.downloadId);
      if ('error' in read) throw archiveFailure(read.error, `answer ${input.downloadId}`);
      const { archive } = read;
      const zip = await blobs.put(input.tenant, bytes, 'application/zip');
      if (archive.kind === 'ok') {
        return {
          zip,
          kind: 'ok',
          signedInvoice: await storeXml(input.tenant, archive.invoiceXml),
          signature: await storeXml(input.tenant, archive.signatureXml),
          errors: [],
        };
      }
      return {
        zip,
        kind: 'nok',
        errorXml: await storeXml(input.tenant, archive.errorXml),
        errors: archive.errors.map((e) => e.message),
        ...(archive.duplicateOfIndex ? { duplicateOfIndex: archive.duplicateOfIndex } : {}),
      };
    },

    /**
     * Did an upload whose answer was lost reach ANAF after all? Lists the organization's
     * sent invoices since the attempt and compares each unseen one with ours (supplier CIF,
     * number, issue date). Only sent invoices matter: a rejected upload filed nothing, so
     * sending again cannot duplicate it.
     */
    async findUploadedInvoice(input: ReconcileInput): Promise<ReconcileResult> {
      const checked = new Set(input.checkedMessageIds);
      const newlyChecked: string[] = [];
      const endTime = Date.now() - 1_000;
      const startTime = Math.min(input.sinceMs - RECONCILE_MARGIN_MS, endTime - 60_000);
      let listed = 0;
      let downloads = 0;
      let lookAgain = false;
      for (let page = 1; ; page++) {
        const result = await withToken(input, 'e-Factura listaMesajePaginatieFactura', (token) =>
          lifecycleAnaf(input).listPage(token, { cif: input.cif, startTime, endTime, page, filter: 'T' }),
        );
        listed += result.messages.length;
        for (const message of result.messages) {
          if (checked.has(message.id)) continue;
          if (!couldBeOurs(message, input.identity)) continue;
          if (downloads >= RECONCILE_DOWNLOADS_PER_ROUND) return { newlyChecked, listed, more: true };
          Context.current().heartbeat({ page, checking: message.id });
          const { read, downloaded } = await fetchArchive(input, message.id);
          if (downloaded) downloads += 1;
          if ('error' in read && read.error instanceof AnswerArchiveError && read.error.code === 'ZIP_MALFORMED') {
            // A truncated transfer proves nothing either way: this message may be our invoice, and
            // skipping it for good would end in a re-upload. Download it again in the next round.
            lookAgain = true;
            continue;
          }
          checked.add(message.id);
          newlyChecked.push(message.id);
          if (!('archive' in read)) continue;
          const { archive } = read;
          if (archive.kind !== 'ok') continue;
          const inspected = inspectInvoiceXml(archive.invoiceXml, input.standard);
          if (inspected.ok && sameInvoice(inspected.identity, input.identity)) {
            return { match: { uploadIndex: message.uploadIndex, messageId: message.id }, newlyChecked, listed, more: false };
          }
        }
        if (page >= result.totalPages) break;
      }
      return { newlyChecked, listed, more: lookAgain };
    },
  };
}

export type EfacturaAnafActivities = ReturnType<typeof createEfacturaAnafActivities>;
