import { createHash } from 'node:crypto';
import { inspectSignedPdf } from '../../schemas/banciws/signed-pdf';
import {
  type DownloadAnswer,
  type ListAnswer,
  type ListedMessage,
  type StatusAnswer,
  type UploadAnswer,
  ZILE_PATTERN,
} from '../../schemas/banciws/xml';
import { anafMinute } from '../efactura/time';
import type { BanciwsSandboxOptions } from './options';
import { signedPdf } from './signed-pdf';

/**
 * BANCIWS's memory behind the gateway: uploads (index_incarcare), and the messages of each
 * institution (id_portal: receipts, ANAF's answers, ANAF's requests) with the moment each
 * becomes visible. State moves with the injected clock; nothing runs on timers except the
 * optional inbox generator.
 *
 * A PDF whose text contains SANDBOX:SIGNATURE_ERRORS is answered ExecutionStatus 3.
 * An empty window is answered the way ANAF's list services answer it: no listaMesaje
 * elements and Mesaj_eroare NO_MESSAGES (the method document only says Mesaj_eroare is
 * "the complete general error message"; the wording is ANAF's usual one).
 */

export const MARKER_SIGNATURE_ERRORS = 'SANDBOX:SIGNATURE_ERRORS';
export const NO_MESSAGES = 'Nu exista mesaje';
export type TipFisier = 'Solicitare ANAF' | 'Raspuns ANAF' | 'Recipisa';

export interface BanciwsUpload {
  index: string;
  cui: string;
  sha256: string;
  uploadedAt: number;
  readyAt: number;
  errors: string[];
  answerId?: string;
}

export interface BanciwsMessage extends ListedMessage {
  tipFisier: TipFisier;
  createdAt: number;
  visibleAt: number;
  pdf: Buffer;
}

export interface BanciwsCounters {
  uploads: number;
  statusChecks: number;
  downloads: number;
  listings: number;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export function zileWindowMs(zile: string): number {
  const hours = /^(\d+)\/24$/.exec(zile);
  return hours ? Number(hours[1]) * HOUR : Number(zile) * DAY;
}

export class BanciwsService {
  readonly uploads = new Map<string, BanciwsUpload>();
  readonly messages = new Map<string, BanciwsMessage>();
  counters: BanciwsCounters = { uploads: 0, statusChecks: 0, downloads: 0, listings: 0 };
  private next = 4_100_000_001;
  /** Sandbox only (misdateReceipts): receipts still to be listed with a Data_mesaj that is no calendar minute. */
  private misdated = 0;

  constructor(
    private readonly options: BanciwsSandboxOptions,
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.uploads.clear();
    this.messages.clear();
    this.counters = { uploads: 0, statusChecks: 0, downloads: 0, listings: 0 };
    this.misdated = 0;
  }

  /**
   * Sandbox only (a fault): the next `times` receipts are listed with a Data_mesaj ANAF's pattern
   * admits but no calendar has (the 31st of February), so a client cannot tell when they were issued.
   */
  misdateReceipts(times = 1): void {
    this.misdated += times;
  }

  private id(): string {
    return String(this.next++);
  }

  private addMessage(
    cui: string,
    tip: TipFisier,
    denumire: string,
    pdf: Buffer,
    options: { index?: string; visibleAt?: number } = {},
  ): BanciwsMessage {
    const at = this.now();
    const message: BanciwsMessage = {
      idPortal: this.id(),
      cuiBanca: cui,
      tipFisier: tip,
      denumire,
      ...(options.index ? { indexIncarcare: options.index } : {}),
      dataMesaj: anafMinute(at),
      createdAt: at,
      visibleAt: options.visibleAt ?? at,
      pdf,
    };
    this.messages.set(message.idPortal, message);
    return message;
  }

  /** A request from ANAF to the institution (what the inbox schedule is for). */
  addRequest(cui: string, denumire = 'Solicitare informatii F3000'): BanciwsMessage {
    const pdf = signedPdf(
      { title: 'Solicitare ANAF', lines: [denumire, `Catre institutia cu CUI ${cui}`, `Emis ${new Date(this.now()).toISOString()}`] },
      'ANAF',
    );
    return this.addMessage(cui, 'Solicitare ANAF', denumire, pdf);
  }

  list(cui: string, zile: string): ListAnswer {
    this.counters.listings += 1;
    if (!ZILE_PATTERN.test(zile)) return { error: `Format incorect pentru Zile: ${zile}`, messages: [] };
    const now = this.now();
    const from = now - zileWindowMs(zile);
    const messages = [...this.messages.values()]
      .filter((m) => m.cuiBanca === cui && m.visibleAt <= now && m.createdAt >= from)
      .map(({ idPortal, cuiBanca, tipFisier, denumire, indexIncarcare, dataMesaj }) => ({
        idPortal,
        cuiBanca,
        tipFisier,
        denumire,
        ...(indexIncarcare ? { indexIncarcare } : {}),
        dataMesaj,
      }));
    return messages.length ? { messages } : { error: NO_MESSAGES, messages: [] };
  }

  upload(cui: string, pdf: Buffer): UploadAnswer {
    this.counters.uploads += 1;
    const dateResponse = anafMinute(this.now());
    const inspection = inspectSignedPdf(pdf);
    if (!inspection.ok && inspection.code !== 'PDF_NOT_SIGNED') {
      return { dateResponse, executionStatus: 1, errors: [`Fisierul nu poate fi preluat: ${inspection.message}`] };
    }
    const at = this.now();
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    const index = this.id();
    const errors = !inspection.ok
      ? ['Documentul nu este semnat digital']
      : pdf.toString('latin1').includes(MARKER_SIGNATURE_ERRORS)
        ? ['Semnatura nu este valida', 'Certificatul semnaturii nu apartine institutiei']
        : [];
    this.uploads.set(index, { index, cui, sha256, uploadedAt: at, readyAt: at + this.options.processingDelayMs, errors });
    // Only what ANAF documents: the receipt is listed with its Index_incarcare and Data_mesaj; it names no digest of the
    // document (the sha256 above is the sandbox's own bookkeeping, for tests through /__sandbox/banciws/state).
    const receipt = signedPdf({ title: 'Recipisa', lines: [`Index incarcare ${index}`, `CUI ${cui}`] }, 'ANAF');
    const listed = this.addMessage(cui, 'Recipisa', `Recipisa pentru incarcarea ${index}`, receipt, {
      index,
      visibleAt: at + this.options.listingDelayMs,
    });
    if (this.misdated > 0) {
      this.misdated -= 1;
      listed.dataMesaj = `${listed.dataMesaj.slice(0, 4)}0231${listed.dataMesaj.slice(8)}`;
    }
    return { dateResponse, executionStatus: 0, indexIncarcare: index, errors: [] };
  }

  status(cui: string, index: string): StatusAnswer {
    this.counters.statusChecks += 1;
    const upload = this.uploads.get(index);
    if (!upload || upload.cui !== cui) return { indexIncarcare: index, executionStatus: 2, errors: [] };
    if (this.now() < upload.readyAt) return { indexIncarcare: index, cuiBanca: cui, executionStatus: 1, errors: [] };
    if (upload.errors.length) return { indexIncarcare: index, cuiBanca: cui, executionStatus: 3, errors: upload.errors };
    if (!upload.answerId) {
      const pdf = signedPdf({ title: 'Raspuns ANAF', lines: [`Raspuns la incarcarea ${index}`, `CUI ${cui}`] }, 'ANAF');
      upload.answerId = this.addMessage(cui, 'Raspuns ANAF', `Raspuns ANAF la incarcarea ${index}`, pdf, { index }).idPortal;
    }
    return { indexIncarcare: index, cuiBanca: cui, executionStatus: 0, idPortal: upload.answerId, errors: [] };
  }

  download(cui: string, idPortal: string): DownloadAnswer {
    this.counters.downloads += 1;
    const message = this.messages.get(idPortal);
    if (!message || message.cuiBanca !== cui || message.visibleAt > this.now()) return { idPortal, errorCode: 1 };
    return { idPortal, pdfBase64: message.pdf.toString('base64') };
  }
}
