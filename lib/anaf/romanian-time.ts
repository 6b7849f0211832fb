/**
 * ANAF's daily quotas reset at midnight in Romania. Pure arithmetic, so workflows use it too:
 * given the same instant it always gives the same answer, which is all replay needs.
 *
 * Romania keeps EET (UTC+2) with the EU's summer time: UTC+3 from 01:00 UTC on the last Sunday
 * of March to 01:00 UTC on the last Sunday of October (since 1997). Computed, not asked of
 * Intl: building an `Intl.DateTimeFormat` cost ≈ 0.4 ms per workflow run (workflow modules are
 * evaluated afresh for each run), and a rule in code cannot answer differently on a worker whose
 * Node carries other time-zone data. test/unit/romanian-time.test.ts checks it against Intl
 * from 1997 to 2037; a change of the EU rule is a change here.
 */

const HOUR_MS = 3600_000;

/** 01:00 UTC on the last Sunday of a month (0-based): when EU summer time starts or ends. */
function lastSundayOneUtc(year: number, month: number): number {
  const lastDay = Date.UTC(year, month + 1, 0);
  return lastDay - new Date(lastDay).getUTCDay() * 24 * HOUR_MS + HOUR_MS;
}

/** Romania's offset from UTC at an instant, in ms (EET +2h / EEST +3h). */
function offsetMs(epochMs: number): number {
  const year = new Date(epochMs).getUTCFullYear();
  const summer = epochMs >= lastSundayOneUtc(year, 2) && epochMs < lastSundayOneUtc(year, 9);
  return (summer ? 3 : 2) * HOUR_MS;
}

/** The calendar and clock fields of an instant in Romania, two digits each (four for the year). */
export interface RomanianParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

export function romanianParts(epochMs: number): RomanianParts {
  const local = new Date(epochMs + offsetMs(epochMs));
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    year: String(local.getUTCFullYear()).padStart(4, '0'),
    month: two(local.getUTCMonth() + 1),
    day: two(local.getUTCDate()),
    hour: two(local.getUTCHours()),
    minute: two(local.getUTCMinutes()),
    second: two(local.getUTCSeconds()),
  };
}

/** yyyy-mm-dd of the instant in Romania: the key of a daily quota. */
export function romanianDay(now: number): string {
  const p = romanianParts(now);
  return `${p.year}-${p.month}-${p.day}`;
}

/**
 * Milliseconds until the next calendar day in Romania. Days of 23 and 25 hours included: local
 * midnight is 21:00 or 22:00 UTC, hours away from a change (01:00 UTC), so the offset three hours
 * before that local midnight, read as UTC, is the offset at it.
 */
export function msUntilNextRomanianDay(now: number): number {
  const p = romanianParts(now);
  const nextMidnightLocal = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day) + 1);
  return nextMidnightLocal - offsetMs(nextMidnightLocal - 3 * HOUR_MS) - now;
}

/** ANAF's "yyyyMMddHHmm" (Romanian local time, as in `data_creare`) as epoch ms; undefined if malformed. */
export function parseAnafMinute(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const local = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  // The offset depends on the instant; two rounds settle it, DST edges included.
  let guess = local - offsetMs(local);
  guess = local - offsetMs(guess);
  return guess;
}
