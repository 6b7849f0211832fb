import { SeededRandom } from '../random';
import type { HostileArchiveKind } from './archive';
import { errorFile, signatureFile, type Stare } from './documents';
import type { InvoiceFacts, UploadStandard, Verdict } from './invoice-xml';
import type { EfacturaOptions } from './options';
import { romanianDay } from './time';

/**
 * The e-Factura service's memory: every upload (index), the answers it produced
 * (download ids and their archive files), the listing messages, and the quota counters.
 * Nothing here runs on a timer: an upload knows when it becomes ready (`readyAt`) and
 * when its messages become visible (`visibleAt`), and every read compares those with the
 * injected clock. Plain data, so tests can inspect it directly.
 */

export type EfacturaEnv = 'test' | 'prod';
export const EFACTURA_ENVS: readonly EfacturaEnv[] = ['test', 'prod'];

export type MessageType = 'FACTURA TRIMISA' | 'FACTURA PRIMITA' | 'ERORI FACTURA' | 'MESAJ CUMPARATOR PRIMIT' | 'MESAJ CUMPARATOR TRANSMIS';

/** The listing filter letters (filtru) and the message types each selects. */
export const FILTERS: Record<string, readonly MessageType[]> = {
  E: ['ERORI FACTURA'],
  T: ['FACTURA TRIMISA'],
  P: ['FACTURA PRIMITA'],
  R: ['MESAJ CUMPARATOR PRIMIT', 'MESAJ CUMPARATOR TRANSMIS'],
};

export type Outcome = 'ok' | 'nok' | 'xml-errors';

export interface UploadRecord {
  /** index_incarcare / id_solicitare. */
  index: string;
  env: EfacturaEnv;
  /** How it came in: the two upload routes, or made up by the sandbox as a received invoice. */
  source: 'upload' | 'uploadb2c' | 'received';
  standard: UploadStandard;
  /** The request's `cif` (for received invoices: the supplier). */
  requestCif: string;
  supplierCif?: string;
  buyerCif?: string;
  number?: string;
  issueDate?: string;
  extern: boolean;
  autofactura: boolean;
  executare: boolean;
  xml: Buffer;
  uploadedAt: number;
  /** From here stareMesaj answers the outcome instead of "in prelucrare". */
  readyAt: number;
  /** From here its messages are in the listings. */
  visibleAt: number;
  outcome: Outcome;
  errors: string[];
  /** id_descarcare, for ok and nok. */
  downloadId?: string;
  /** The earlier ok upload of the same invoice, when this one is a duplicate. */
  duplicateOf?: string;
  /** For RASP: the index of the invoice answered. */
  answersIndex?: string;
}

export interface MessageRecord {
  /** The download id. */
  id: string;
  env: EfacturaEnv;
  /** Whose list it is in. */
  cif: string;
  tip: MessageType;
  idSolicitare: string;
  detalii: string;
  createdAt: number;
  visibleAt: number;
}

export interface DownloadRecord {
  id: string;
  env: EfacturaEnv;
  index: string;
  readyAt: number;
  /** CIFs whose rights allow the download. */
  owners: string[];
  /** `<index>.xml` and `semnatura_<index>.xml`. */
  files: Record<string, Buffer>;
  /** Served instead of the archive (see serveHostileArchive); `remaining` downloads, unlimited when absent. */
  hostile?: { kind: HostileArchiveKind; remaining?: number };
}

export interface EfacturaCounters {
  /** Uploads given an index (upload + uploadb2c). */
  uploads: number;
  /** Upload requests answered ExecutionStatus="1" or 400. */
  uploadsRejected: number;
  stareQueries: number;
  downloads: number;
  simpleLists: number;
  paginatedLists: number;
  validations: number;
  transformations: number;
  /** Calls of the signature validation (POST /api/validate/signature). */
  signatureValidations: number;
  receivedInvoices: number;
  /** Answers refused by a daily quota, by quota name. */
  dailyLimitHits: Record<string, number>;
  /** 429s of the per-minute limit. */
  rateLimited: number;
}

function freshCounters(): EfacturaCounters {
  return {
    uploads: 0,
    uploadsRejected: 0,
    stareQueries: 0,
    downloads: 0,
    simpleLists: 0,
    paginatedLists: 0,
    validations: 0,
    transformations: 0,
    signatureValidations: 0,
    receivedInvoices: 0,
    dailyLimitHits: {},
    rateLimited: 0,
  };
}

export type DailyQuota = 'stare' | 'descarcare' | 'listaSimpla' | 'listaPaginata' | 'rasp';

export interface NewUpload {
  env: EfacturaEnv;
  source: UploadRecord['source'];
  standard: UploadStandard;
  requestCif: string;
  facts?: InvoiceFacts;
  extern?: boolean;
  autofactura?: boolean;
  executare?: boolean;
  xml: Buffer;
  verdict: Verdict;
  /** For RASP uploads: the invoice answered (already checked by the caller). */
  answers?: UploadRecord;
  /** Received invoices: when the message appears (default: now). */
  at?: number;
  /** Received invoices: the message (download) id, instead of the next one (sandbox only: see addReceivedInvoice). */
  downloadId?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const MINUTE_MS = 60_000;

export function duplicateMessage(first: UploadRecord): string {
  return `Factura a mai fost transmisa anterior cu index=${first.index} si data incarcare=${romanianDay(first.uploadedAt)}`;
}

function identityKey(env: string, cif: string, number: string, issueDate: string): string {
  return `${env}|${cif}|${number.trim()}|${issueDate.trim()}`;
}

function normalizeCif(cif: string): string {
  return cif.trim().toUpperCase().replace(/^RO/, '').trim();
}

export class EfacturaState {
  private uploadList: UploadRecord[] = [];
  private byIndex = new Map<string, UploadRecord>();
  /** By `${env}|${id}`: ANAF's test and prod number their messages apart, so one id may exist in both. */
  private downloadsById = new Map<string, DownloadRecord>();
  private messageList: MessageRecord[] = [];
  /** Accepted uploads per invoice identity (any env). */
  private perInvoice = new Map<string, number>();
  /** The first upload of an identity that ended ok, per env. */
  private firstOk = new Map<string, UploadRecord>();
  private known = new Map<EfacturaEnv, Set<string>>();
  private daily = { day: '', counts: new Map<string, number>() };
  private minute = { window: -1, count: 0 };
  private random: SeededRandom;
  private lastIndex: number;
  private lastDownloadId: number;
  private current: EfacturaCounters = freshCounters();

  constructor(
    private readonly options: EfacturaOptions,
    private readonly now: () => number,
  ) {
    this.random = new SeededRandom(options.seed);
    this.lastIndex = 5_000_000_000 + options.idOffset;
    this.lastDownloadId = 3_000_000_000 + options.idOffset;
    this.resetKnown();
  }

  // ------------------------------------------------------------ inspection (tests)

  get counters(): EfacturaCounters {
    return this.current;
  }

  /** Uploads of one invoice (supplier CIF, number, issue date) that were given an index, in every env. */
  uploadsFor(cif: string, number: string, issueDate: string): number {
    return this.perInvoice.get(identityKey('*', normalizeCif(cif), number, issueDate)) ?? 0;
  }

  /** Every upload given an index (upload and uploadb2c; received invoices excluded). */
  get totalUploads(): number {
    return this.current.uploads;
  }

  get uploads(): readonly UploadRecord[] {
    return this.uploadList;
  }

  get messages(): readonly MessageRecord[] {
    return this.messageList;
  }

  upload(index: string): UploadRecord | undefined {
    return this.byIndex.get(index);
  }

  download(id: string, env: EfacturaEnv): DownloadRecord | undefined {
    return this.downloadsById.get(`${env}|${id}`);
  }

  /** The downloads of `id` in every env (a hostile archive is set by id alone and applies to each). */
  private downloadsWithId(id: string): DownloadRecord[] {
    return EFACTURA_ENVS.flatMap((env) => this.download(id, env) ?? []);
  }

  /**
   * From now on `descarcare` of `downloadId` answers a hostile archive instead of the real
   * one: for the next `times` downloads, or for every one when `times` is absent.
   */
  serveHostileArchive(downloadId: string, kind: HostileArchiveKind, times?: number): void {
    const downloads = this.downloadsWithId(downloadId);
    if (downloads.length === 0) throw new Error(`no download with id ${downloadId}`);
    if (times !== undefined && (!Number.isInteger(times) || times < 1)) throw new Error('times must be an integer >= 1');
    for (const download of downloads) download.hostile = { kind, ...(times !== undefined ? { remaining: times } : {}) };
  }

  /** The hostile archive kind one download of `downloadId` gets (counting it), if any. */
  takeHostile(downloadId: string, env: EfacturaEnv): HostileArchiveKind | undefined {
    const download = this.download(downloadId, env);
    const hostile = download?.hostile;
    if (!download || !hostile) return undefined;
    if (hostile.remaining !== undefined) {
      hostile.remaining -= 1;
      if (hostile.remaining <= 0) delete download.hostile;
    }
    return hostile.kind;
  }

  knownCifs(env: EfacturaEnv): string[] {
    return [...(this.known.get(env) ?? [])];
  }

  /** Plain JSON for an admin endpoint: counters and a short line per upload. */
  snapshot(): Record<string, unknown> {
    const now = this.now();
    return {
      counters: structuredClone(this.current),
      uploads: this.uploadList.map((u) => ({
        index: u.index,
        env: u.env,
        source: u.source,
        standard: u.standard,
        cif: u.requestCif,
        supplierCif: u.supplierCif ?? null,
        buyerCif: u.buyerCif ?? null,
        number: u.number ?? null,
        issueDate: u.issueDate ?? null,
        stare: this.stareOf(u, now),
        downloadId: u.downloadId ?? null,
        errors: u.errors,
      })),
      messages: this.messageList.length,
    };
  }

  reset(): void {
    this.uploadList = [];
    this.byIndex.clear();
    this.downloadsById.clear();
    this.messageList = [];
    this.perInvoice.clear();
    this.firstOk.clear();
    this.daily = { day: '', counts: new Map() };
    this.minute = { window: -1, count: 0 };
    this.random.reseed(this.options.seed);
    this.lastIndex = 5_000_000_000 + this.options.idOffset;
    this.lastDownloadId = 3_000_000_000 + this.options.idOffset;
    this.current = freshCounters();
    this.resetKnown();
  }

  private resetKnown(): void {
    this.known = new Map(EFACTURA_ENVS.map((env) => [env, new Set(this.options.knownCifs)]));
  }

  // ------------------------------------------------------------ quotas

  /** Calls counted today against a daily quota (tests: e.g. downloads of one message). */
  dailyUsed(quota: DailyQuota, key: string): number {
    return this.daily.day === romanianDay(this.now()) ? (this.daily.counts.get(`${quota}|${key}`) ?? 0) : 0;
  }

  /** Counts a call against a daily quota; false (and nothing counted) once `limit` calls were made today. */
  takeDaily(quota: DailyQuota, key: string, limit: number): boolean {
    const day = romanianDay(this.now());
    if (this.daily.day !== day) this.daily = { day, counts: new Map() };
    const k = `${quota}|${key}`;
    const used = this.daily.counts.get(k) ?? 0;
    if (used >= limit) {
      this.current.dailyLimitHits[quota] = (this.current.dailyLimitHits[quota] ?? 0) + 1;
      return false;
    }
    this.daily.counts.set(k, used + 1);
    return true;
  }

  /** The overall per-minute limit (fixed one-minute windows on the sandbox clock). */
  takeMinuteSlot(): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const window = Math.floor(now / MINUTE_MS);
    if (window !== this.minute.window) this.minute = { window, count: 0 };
    if (this.minute.count >= this.options.perMinuteLimit) {
      this.current.rateLimited += 1;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * MINUTE_MS - now) / 1000)) };
    }
    this.minute.count += 1;
    return { ok: true };
  }

  // ------------------------------------------------------------ writes

  noteCif(env: EfacturaEnv, cif: string): void {
    this.known.get(env)?.add(cif);
  }

  private nextIndex(): string {
    this.lastIndex += 1 + Math.floor(this.random.next() * 7);
    return String(this.lastIndex);
  }

  private nextDownloadId(): string {
    this.lastDownloadId += 1 + Math.floor(this.random.next() * 5);
    return String(this.lastDownloadId);
  }

  /** Stores an accepted upload (or a made-up received invoice) and everything it will produce. */
  record(input: NewUpload): UploadRecord {
    const now = this.now();
    const facts = input.facts;
    const index = this.nextIndex();
    const received = input.source === 'received';
    const uploadedAt = received ? (input.at ?? now) : now;
    const readyAt = received ? uploadedAt : uploadedAt + this.options.processingDelayMs;
    const visibleAt = received ? uploadedAt : Math.max(readyAt, uploadedAt + this.options.listingDelayMs);
    let outcome: Outcome = input.verdict.outcome;
    const errors = input.verdict.outcome === 'nok' ? [...input.verdict.errors] : [];

    const identityCif = facts?.supplierCif ?? input.requestCif;
    let duplicateOf: UploadRecord | undefined;
    if (!received && facts?.number && facts.issueDate) {
      const anyEnv = identityKey('*', identityCif, facts.number, facts.issueDate);
      this.perInvoice.set(anyEnv, (this.perInvoice.get(anyEnv) ?? 0) + 1);
      const key = identityKey(input.env, identityCif, facts.number, facts.issueDate);
      const first = this.firstOk.get(key);
      // The first ok upload is remembered at once although it is "ok" only from its readyAt:
      // every later upload has the same processing delay, so by the time it is processed the
      // first one is done. Outcomes are fixed at upload time, which keeps reads pure.
      if (first && outcome !== 'xml-errors') {
        duplicateOf = first;
        outcome = 'nok';
        errors.push(duplicateMessage(first));
      }
    }

    const record: UploadRecord = {
      index,
      env: input.env,
      source: input.source,
      standard: input.standard,
      requestCif: input.requestCif,
      ...(facts?.supplierCif ? { supplierCif: facts.supplierCif } : {}),
      ...(facts?.buyerCif ? { buyerCif: facts.buyerCif } : {}),
      ...(facts?.number ? { number: facts.number } : {}),
      ...(facts?.issueDate ? { issueDate: facts.issueDate } : {}),
      extern: input.extern === true,
      autofactura: input.autofactura === true,
      executare: input.executare === true,
      xml: input.xml,
      uploadedAt,
      readyAt,
      visibleAt,
      outcome,
      errors,
      ...(duplicateOf ? { duplicateOf: duplicateOf.index } : {}),
      ...(input.answers ? { answersIndex: input.answers.index } : {}),
    };
    if (facts?.number && facts.issueDate && !received && outcome === 'ok') {
      const key = identityKey(input.env, identityCif, facts.number, facts.issueDate);
      if (!this.firstOk.has(key)) this.firstOk.set(key, record);
    }
    this.uploadList.push(record);
    this.byIndex.set(index, record);
    if (received) this.current.receivedInvoices += 1;
    else this.current.uploads += 1;
    if (outcome !== 'xml-errors') this.produceAnswer(record, input.answers, input.downloadId);
    return record;
  }

  private produceAnswer(u: UploadRecord, answers: UploadRecord | undefined, downloadId?: string): void {
    const id = downloadId ?? this.nextDownloadId();
    u.downloadId = id;
    const issuer = u.supplierCif ?? u.requestCif;
    const content = u.outcome === 'ok' ? u.xml : Buffer.from(errorFile(u.index, issuer, u.errors), 'utf8');
    const owners = new Set([u.requestCif, ...(u.supplierCif ? [u.supplierCif] : [])]);
    const message = (cif: string, tip: MessageType, detalii: string) =>
      this.messageList.push({ id, env: u.env, cif, tip, idSolicitare: u.index, detalii, createdAt: u.readyAt, visibleAt: u.visibleAt });

    if (u.outcome === 'nok') {
      message(u.requestCif, 'ERORI FACTURA', `Erori de validare identificate la factura primita cu id_incarcare=${u.index}`);
    } else if (u.standard === 'RASP' && answers) {
      const supplier = answers.supplierCif ?? answers.requestCif;
      owners.add(supplier);
      const detalii = `Mesaj cumparator cu id_incarcare=${u.index} pentru factura cu id_incarcare=${answers.index} emisa de cif_emitent=${supplier} pentru cif_beneficiar=${u.requestCif}`;
      message(u.requestCif, 'MESAJ CUMPARATOR TRANSMIS', detalii);
      if (supplier !== u.requestCif) message(supplier, 'MESAJ CUMPARATOR PRIMIT', detalii);
    } else {
      const buyer = u.buyerCif;
      const detalii = `Factura cu id_incarcare=${u.index} emisa de cif_emitent=${issuer} pentru cif_beneficiar=${buyer ?? ''}`;
      if (u.source !== 'received') message(u.requestCif, 'FACTURA TRIMISA', detalii);
      const buyerGetsIt =
        buyer !== undefined && !u.extern && u.source !== 'uploadb2c' && (u.source === 'received' || buyer !== u.requestCif);
      if (buyerGetsIt) {
        owners.add(buyer);
        message(buyer, 'FACTURA PRIMITA', detalii);
      }
    }
    this.downloadsById.set(`${u.env}|${id}`, {
      id,
      env: u.env,
      index: u.index,
      readyAt: u.readyAt,
      owners: [...owners],
      files: {
        [`${u.index}.xml`]: content,
        [`semnatura_${u.index}.xml`]: Buffer.from(signatureFile(content, id, u.readyAt), 'utf8'),
      },
    });
  }

  // ------------------------------------------------------------ reads

  stareOf(u: UploadRecord, now = this.now()): Stare {
    if (now < u.readyAt) return 'in prelucrare';
    return u.outcome === 'xml-errors' ? 'XML cu erori nepreluat de sistem' : u.outcome;
  }

  /** Visible messages of one CIF created in [from, to], newest first. */
  list(env: EfacturaEnv, cif: string, from: number, to: number, types?: readonly MessageType[]): MessageRecord[] {
    const now = this.now();
    return this.messageList
      .filter(
        (m) =>
          m.env === env &&
          m.cif === cif &&
          m.visibleAt <= now &&
          m.createdAt >= from &&
          m.createdAt <= to &&
          (!types || types.includes(m.tip)),
      )
      .sort((a, b) => b.createdAt - a.createdAt || Number(b.id) - Number(a.id) || b.tip.localeCompare(a.tip));
  }

  static readonly DAY_MS = DAY_MS;
}
