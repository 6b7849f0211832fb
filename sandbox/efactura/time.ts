/**
 * ANAF speaks Romanian local time: `dateResponse`/`data_creare` are "YYYYMMDDHHmm", the
 * listing titles and Spring error bodies "dd-MM-yyyy HH:mm:ss", and the daily quotas
 * reset at midnight in Bucharest. Everything here is computed from an epoch in ms (the
 * sandbox's injected clock), never from the process clock.
 */

interface LocalParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const formatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Bucharest',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function romanianParts(epochMs: number): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter.formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: parts.year ?? '0000',
    month: parts.month ?? '00',
    day: parts.day ?? '00',
    hour: parts.hour ?? '00',
    minute: parts.minute ?? '00',
    second: parts.second ?? '00',
  };
}

/** "202210311452": upload's dateResponse and the listings' data_creare. */
export function anafMinute(epochMs: number): string {
  const p = romanianParts(epochMs);
  return `${p.year}${p.month}${p.day}${p.hour}${p.minute}`;
}

/** "31-10-2022 14:52:07": listing titles, Spring error timestamps, listing validation messages. */
export function anafDateTime(epochMs: number): string {
  const p = romanianParts(epochMs);
  return `${p.day}-${p.month}-${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** "2022-10-31": the calendar day in Romania; the key of every daily quota. */
export function romanianDay(epochMs: number): string {
  const p = romanianParts(epochMs);
  return `${p.year}-${p.month}-${p.day}`;
}
