import { SeededRandom } from '../random';
import { romanianDay } from '../efactura/time';

/**
 * The simulated e-Transport service's memory: every upload (index), the notifications
 * (UITs) the valid ones created, and the quota counters. Nothing runs on a timer: an
 * upload knows when ANAF has processed it (`readyAt`) and a UIT when it expires, and each
 * read compares them with the injected clock. Plain data, so tests inspect it directly.
 */

export type EtransportEnv = 'test' | 'prod';
export const ETRANSPORT_ENVS: readonly EtransportEnv[] = ['test', 'prod'];

export type EtransportKind = 'NOT' | 'COR' | 'DEL' | 'CON' | 'MVH';

export interface EtransportOptions {
  /** ms from upload until stareMesaj leaves "in prelucrare" (default 1000). */
  processingDelayMs: number;
  /** ms from processing until an upload shows in lista (default 0). */
  listingDelayMs: number;
  /** stareMesaj calls per index per Romanian day (ANAF: 100). */
  dailyStareLimit: number;
  /** lista calls per user per Romanian day (ANAF: 1000). */
  dailyListLimit: number;
  /** Calls per minute over every e-Transport route together; more answer 429 (1000). */
  perMinuteLimit: number;
  /** Days a UIT stays valid after the transport date: intra-community (10–24) and the rest. */
  validityDays: { intraCommunity: number; national: number };
  seed: number;
}

export const DEFAULT_ETRANSPORT_OPTIONS: EtransportOptions = {
  processingDelayMs: 1000,
  listingDelayMs: 0,
  dailyStareLimit: 100,
  dailyListLimit: 1000,
  perMinuteLimit: 1000,
  validityDays: { intraCommunity: 15, national: 5 },
  seed: 0xe7a5,
};

export function resolveEtransportOptions(partial: Partial<EtransportOptions> = {}): EtransportOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<EtransportOptions>;
  const o: EtransportOptions = { ...DEFAULT_ETRANSPORT_OPTIONS, ...defined };
  const problems: string[] = [];
  for (const key of ['processingDelayMs', 'listingDelayMs'] as const)
    if (!Number.isFinite(o[key]) || o[key] < 0) problems.push(`${key}: must be >= 0`);
  for (const key of ['dailyStareLimit', 'dailyListLimit', 'perMinuteLimit'] as const)
    if (!Number.isInteger(o[key]) || o[key] < 1) problems.push(`${key}: must be an integer >= 1`);
  if (problems.length) throw new Error(`invalid sandbox e-Transport options: ${problems.join('; ')}`);
  return o;
}

/** The parts of a notification lista and info report. */
export interface TransportFacts {
  operationType?: string;
  /** yyyy-mm-dd */
  transportDate?: string;
  partner?: { country?: string; code?: string; name?: string };
  carrier?: { country?: string; code?: string; name?: string };
  vehicle?: string;
  trailer1?: string;
  trailer2?: string;
  start?: Record<string, string>;
  end?: Record<string, string>;
  documents: string[];
  goodsLines: number;
  netWeight: number;
  grossWeight: number;
  value: number;
}

export interface EtransportUpload {
  index: string;
  env: EtransportEnv;
  /** The request's cif. */
  cif: string;
  kind: EtransportKind;
  declarantCif: string;
  refDeclarant?: string;
  /** For NOT: the UIT generated; for the others: the UIT referenced. */
  uit?: string;
  facts?: TransportFacts;
  confirmationType?: string;
  remarks?: string;
  vehicleChange?: { vehicle?: string; trailer1?: string; trailer2?: string; date?: string };
  xml: Buffer;
  uploadedAt: number;
  readyAt: number;
  outcome: 'ok' | 'nok' | 'xml-errors';
  errors: string[];
  traceId: string;
}

export interface Notification {
  uit: string;
  env: EtransportEnv;
  declarantCif: string;
  refDeclarant?: string;
  uploadIndex: string;
  createdAt: number;
  facts: TransportFacts;
  deletedAt?: number;
  corrections: string[];
  confirmation?: { type: string; remarks?: string; uploadIndex: string; at: number };
  vehicleChanges: Array<{
    vehicle?: string;
    trailer1?: string;
    trailer2?: string;
    date?: string;
    remarks?: string;
    declarantCif: string;
    uploadIndex: string;
    at: number;
  }>;
}

export interface EtransportCounters {
  uploads: number;
  uploadsRejected: number;
  stareQueries: number;
  lists: number;
  infos: number;
  rateLimited: number;
}

const fresh = (): EtransportCounters => ({ uploads: 0, uploadsRejected: 0, stareQueries: 0, lists: 0, infos: 0, rateLimited: 0 });
const DAY_MS = 24 * 3600 * 1000;
const UIT_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

export class EtransportState {
  counters: EtransportCounters = fresh();
  private uploadList: EtransportUpload[] = [];
  private byIndex = new Map<string, EtransportUpload>();
  private notifications = new Map<string, Notification>();
  private daily = { day: '', counts: new Map<string, number>() };
  private minute = { window: -1, count: 0 };
  private readonly random: SeededRandom;
  private lastIndex = 7_000_000_000;

  constructor(
    readonly options: EtransportOptions,
    private readonly now: () => number,
  ) {
    this.random = new SeededRandom(options.seed);
  }

  reset(): void {
    this.counters = fresh();
    this.uploadList = [];
    this.byIndex.clear();
    this.notifications.clear();
    this.daily = { day: '', counts: new Map() };
    this.minute = { window: -1, count: 0 };
    this.random.reseed(this.options.seed);
    this.lastIndex = 7_000_000_000;
  }

  takeMinuteSlot(): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    const window = Math.floor(now / 60_000);
    if (window !== this.minute.window) this.minute = { window, count: 0 };
    if (this.minute.count >= this.options.perMinuteLimit) {
      this.counters.rateLimited += 1;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)) };
    }
    this.minute.count += 1;
    return { ok: true };
  }

  takeDaily(quota: string, key: string, limit: number): boolean {
    const day = romanianDay(this.now());
    if (this.daily.day !== day) this.daily = { day, counts: new Map() };
    const k = `${quota}|${key}`;
    const used = this.daily.counts.get(k) ?? 0;
    if (used >= limit) return false;
    this.daily.counts.set(k, used + 1);
    return true;
  }

  nextIndex(): string {
    this.lastIndex += 1 + Math.floor(this.random.next() * 7);
    return String(this.lastIndex);
  }

  nextUit(): string {
    let uit = '';
    for (let i = 0; i < 16; i++) uit += UIT_ALPHABET[Math.floor(this.random.next() * UIT_ALPHABET.length)];
    return uit;
  }

  record(upload: EtransportUpload): EtransportUpload {
    this.uploadList.push(upload);
    this.byIndex.set(upload.index, upload);
    this.counters.uploads += 1;
    return upload;
  }

  upload(index: string): EtransportUpload | undefined {
    return this.byIndex.get(index);
  }

  uploads(): readonly EtransportUpload[] {
    return this.uploadList;
  }

  addNotification(n: Notification): void {
    this.notifications.set(n.uit, n);
  }

  notification(uit: string): Notification | undefined {
    return this.notifications.get(uit);
  }

  allNotifications(): Notification[] {
    return [...this.notifications.values()];
  }

  expiresAt(n: Pick<Notification, 'facts'>): number {
    const type = n.facts.operationType ?? '';
    const days = ['10', '12', '14', '20', '22', '24'].includes(type)
      ? this.options.validityDays.intraCommunity
      : this.options.validityDays.national;
    const date = n.facts.transportDate ? Date.parse(`${n.facts.transportDate}T00:00:00+02:00`) : 0;
    return date + days * DAY_MS;
  }

  /** Why a follow-up on `uit` cannot be applied at `at`, or undefined when it can. */
  followUpProblem(env: EtransportEnv, uit: string, at: number): string | undefined {
    const n = this.notifications.get(uit);
    if (!n || n.env !== env || (n.deletedAt !== undefined && n.deletedAt <= at))
      return 'Nu a fost identificat UIT-ul printre notificarile valide anterioare.';
    if (at >= this.expiresAt(n)) return `UIT-ul ${uit} a expirat.`;
    return undefined;
  }

  /** Uploads of a new notification with this refDeclarant (how tests prove "never twice"). */
  notificationUploads(cif: string, refDeclarant: string): number {
    return this.uploadList.filter((u) => u.kind === 'NOT' && u.cif === cif && u.refDeclarant === refDeclarant).length;
  }

  /** Uploads of one kind of follow-up for one UIT. */
  followUpUploads(uit: string, kind: Exclude<EtransportKind, 'NOT'>): number {
    return this.uploadList.filter((u) => u.kind === kind && u.uit === uit).length;
  }
}
