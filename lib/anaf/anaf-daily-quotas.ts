import { romanianDay } from './romanian-time';

/**
 * ANAF's per-CUI daily quotas (limiteApeluriAPI), kept by each worker process so it stops
 * calling once a quota is spent instead of collecting refusals: ANAF warns that ignoring its
 * "limit exceeded" answers repeatedly can get the API access blocked.
 *
 * Why per process and not shared: the budget every worker shares is the ANAF task queue's
 * rate limit (Temporal enforces it across all pollers), and it is per minute. These quotas
 * are per CUI per day, on another scale than that budget, and exact shared counts would need
 * shared storage on every call for little gain: what actually stops the repeated refused calls is the memory of ANAF's own refusal: after
 * the first one, nothing in this process calls that quota for that CUI again until the
 * Romanian day changes. So each worker process makes about one refused call per quota, CUI
 * and day (plus calls already in flight when it came); and when one process makes all of a
 * CUI's calls, counting ahead stops it at the limit before ANAF has to refuse anything.
 *
 * Pure (no Temporal, no I/O) and with an injected clock, so the activities decide how a
 * refusal is thrown and tests can walk across Romanian midnights.
 */

/**
 * The quotas anaf-flow's calls spend, with ANAF's published limits per CUI per Romanian day.
 * Not here: the simple listing (listaMesajeFactura, 1500/day/CUI), which no code path calls
 * (we list with listaMesajePaginatieFactura); stareMesaj and descarcare, whose quotas are
 * per message (the submission workflow budgets those).
 */
export const ANAF_PUBLISHED_DAILY_QUOTAS = {
  /** upload with standard=RASP (the buyer's message about an invoice). */
  RASP_UPLOAD: 1000,
  /** listaMesajePaginatieFactura, every page a call. */
  PAGINATED_LIST: 100_000,
} as const;

export type AnafDailyQuota = keyof typeof ANAF_PUBLISHED_DAILY_QUOTAS;
export type DailyQuotaLimits = Record<AnafDailyQuota, number>;

export type QuotaDecision =
  | { allowed: true; /** The Romanian day the call is counted in. */ day: string }
  | {
      allowed: false;
      /** LIMIT_REACHED: this process made `limit` calls today; REFUSED_BY_ANAF: ANAF already said the quota is spent. */
      reason: 'LIMIT_REACHED' | 'REFUSED_BY_ANAF';
      quota: AnafDailyQuota;
      cif: string;
      /** The Romanian day (yyyy-mm-dd) the refusal holds for. */
      day: string;
      used: number;
      limit: number;
    };

export type QuotaRefusal = Extract<QuotaDecision, { allowed: false }>;

interface QuotaUse {
  used: number;
  refusedByAnaf: boolean;
}

export class DailyQuotaGuard {
  /** Romanian day → `${quota}|${cif}` → what was spent that day. Days before today are dropped when a new day starts. */
  private readonly days = new Map<string, Map<string, QuotaUse>>();

  constructor(
    private readonly limits: DailyQuotaLimits = ANAF_PUBLISHED_DAILY_QUOTAS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Asks to make one call now. Allowed calls are counted before they are made (a call that
   * then never reaches ANAF still counts: erring on the side of fewer calls is the point).
   */
  take(quota: AnafDailyQuota, cif: string): QuotaDecision {
    const day = romanianDay(this.now());
    const use = this.useOf(day, quota, cif);
    const limit = this.limits[quota];
    if (use.refusedByAnaf) return { allowed: false, reason: 'REFUSED_BY_ANAF', quota, cif, day, used: use.used, limit };
    if (use.used >= limit) return { allowed: false, reason: 'LIMIT_REACHED', quota, cif, day, used: use.used, limit };
    use.used += 1;
    return { allowed: true, day };
  }

  /**
   * ANAF answered that the quota is spent: no call of this process spends it again until the
   * Romanian day changes. `day`: the one the refused call was counted in (take's answer); a
   * refusal of a call made before midnight says nothing about the day that has begun since.
   */
  markRefusedByAnaf(quota: AnafDailyQuota, cif: string, day = romanianDay(this.now())): void {
    if (day < romanianDay(this.now())) return;
    this.useOf(day, quota, cif).refusedByAnaf = true;
  }

  /** Calls counted today for a quota and CUI (tests, diagnostics). */
  usedToday(quota: AnafDailyQuota, cif: string): number {
    return this.days.get(romanianDay(this.now()))?.get(`${quota}|${cif}`)?.used ?? 0;
  }

  /** How many (day, quota, CUI) entries are held: bounded by one day's CUIs. */
  get size(): number {
    let n = 0;
    for (const uses of this.days.values()) n += uses.size;
    return n;
  }

  private useOf(day: string, quota: AnafDailyQuota, cif: string): QuotaUse {
    let uses = this.days.get(day);
    if (!uses) {
      // A new day: the days before it will never be asked about again (yyyy-mm-dd sorts as dates).
      for (const past of this.days.keys()) if (past < day) this.days.delete(past);
      uses = new Map();
      this.days.set(day, uses);
    }
    const key = `${quota}|${cif}`;
    let use = uses.get(key);
    if (!use) {
      use = { used: 0, refusedByAnaf: false };
      uses.set(key, use);
    }
    return use;
  }
}
