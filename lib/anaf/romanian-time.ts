/**
 * ANAF's daily quotas reset at midnight in Romania. Pure (Intl only), so workflows use it
 * too: given the same instant it always gives the same answer, which is all replay needs.
 */

// Built on first use: workflow code evaluates its modules once per workflow run (the SDK's
// sandbox), and most runs never ask what day it is in Romania.
let parts: Intl.DateTimeFormat | undefined;
const romanianFormatter = () =>
  (parts ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Bucharest',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }));

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
  const parts: Record<string, string> = {};
  for (const p of romanianFormatter().formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: parts.year ?? '0000',
    month: parts.month ?? '00',
    day: parts.day ?? '00',
    hour: parts.hour ?? '00',
    minute: parts.minute ?? '00',
    second: parts.second ?? '00',
  };
}

/** yyyy-mm-dd of the instant in Romania: the key of a daily quota. */
export function romanianDay(now: number): string {
  const p = romanianParts(now);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Milliseconds until the next calendar day in Romania. */
export function msUntilNextRomanianDay(now: number): number {
  const p = romanianParts(now);
  const elapsed = (Number(p.hour) * 3600 + Number(p.minute) * 60 + Number(p.second)) * 1000 + (now % 1000);
  return 24 * 3600 * 1000 - elapsed;
}

/** Romania's offset from UTC at an instant, in ms (EET +2h / EEST +3h). */
function offsetMs(epochMs: number): number {
  const p = romanianParts(epochMs);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - Math.floor(epochMs / 1000) * 1000;
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
