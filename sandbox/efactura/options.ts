/**
 * How the simulated e-Factura service behaves. Defaults follow ANAF's published limits
 * (limiteApeluriAPI: 1000 calls/min overall, 100 status queries and 10 downloads per
 * message per day, 1500 simple and 100 000 paginated listings per CUI per day, 1000 RASP
 * uploads per CUI per day) and its listing page of 500 messages.
 */
export interface EfacturaOptions {
  /** ms from upload until stareMesaj leaves "in prelucrare" (default 2000; tests use 0 or small). */
  processingDelayMs: number;
  /** ms from upload until its messages appear in the listings (ANAF: ~15 min; default 0). */
  listingDelayMs: number;
  /** stareMesaj calls per upload index per Romanian day (100). */
  dailyStareLimit: number;
  /** descarcare calls per download id per Romanian day (10). */
  dailyDownloadLimit: number;
  /** Calls per minute over every e-Factura route together; more answer 429 (1000). */
  perMinuteLimit: number;
  /** listaMesajeFactura calls per CUI per Romanian day (1500). */
  simpleListDailyLimit: number;
  /** listaMesajePaginatieFactura calls per CUI per Romanian day (100 000). */
  paginatedListDailyLimit: number;
  /** RASP (buyer message) uploads per CUI per Romanian day (1000). */
  raspDailyLimit: number;
  /** Messages per page of the paginated listing, and the most the simple listing returns (500). */
  listPageSize: number;
  /** Generate one received invoice (FACTURA PRIMITA) per known CIF every this many ms, for demos; 0 = off. */
  receivedEveryMs: number;
  /** CIFs known from the start (for receivedEveryMs); CIFs seen in requests are added as they come. */
  knownCifs: string[];
  /** Seed of the index/id sequences (they advance by small seeded steps, like a busy real system). */
  seed: number;
  /**
   * Added to where the upload index and download id sequences start. ANAF never hands out an
   * id twice; a sandbox process started after another (`npm run dev`, `npm run cluster` after a
   * restart) must not either, since the product keeps what it downloaded by download id.
   */
  idOffset: number;
  /**
   * Sandbox only (tests): answer this as `index_pagina_curenta` on every page of the paginated
   * listing instead of the page asked for. Integrators report ANAF's value as unreliable; the
   * product must page by its own counter and `numar_total_pagini`, and this lets a test prove it.
   */
  misreportedPageIndex?: number;
}

export const DEFAULT_EFACTURA_OPTIONS: EfacturaOptions = {
  processingDelayMs: 2000,
  listingDelayMs: 0,
  dailyStareLimit: 100,
  dailyDownloadLimit: 10,
  perMinuteLimit: 1000,
  simpleListDailyLimit: 1500,
  paginatedListDailyLimit: 100_000,
  raspDailyLimit: 1000,
  listPageSize: 500,
  receivedEveryMs: 0,
  knownCifs: [],
  seed: 0x5eed,
  idOffset: 0,
};

export function resolveEfacturaOptions(partial: Partial<EfacturaOptions> = {}): EfacturaOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<EfacturaOptions>;
  const o: EfacturaOptions = { ...DEFAULT_EFACTURA_OPTIONS, ...defined, knownCifs: [...(defined.knownCifs ?? [])] };
  const problems: string[] = [];
  for (const key of ['processingDelayMs', 'listingDelayMs', 'receivedEveryMs'] as const) {
    if (!Number.isFinite(o[key]) || o[key] < 0) problems.push(`${key}: must be a number of ms >= 0`);
  }
  for (const key of [
    'dailyStareLimit',
    'dailyDownloadLimit',
    'perMinuteLimit',
    'simpleListDailyLimit',
    'paginatedListDailyLimit',
    'raspDailyLimit',
    'listPageSize',
  ] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) problems.push(`${key}: must be an integer >= 1`);
  }
  if (o.misreportedPageIndex !== undefined && (!Number.isInteger(o.misreportedPageIndex) || o.misreportedPageIndex < 0)) {
    problems.push('misreportedPageIndex: must be an integer >= 0');
  }
  if (!Number.isSafeInteger(o.idOffset) || o.idOffset < 0 || o.idOffset > 4_000_000_000)
    problems.push('idOffset: must be an integer from 0 to 4e9');
  for (const cif of o.knownCifs) if (!/^[0-9]{1,13}$/.test(cif)) problems.push(`knownCifs: ${cif} is not numeric`);
  if (problems.length) throw new Error(`invalid sandbox e-Factura options: ${problems.join('; ')}`);
  return o;
}
