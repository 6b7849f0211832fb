/**
 * ANAF speaks Romanian local time: `dateResponse`/`data_creare` are "YYYYMMDDHHmm", the
 * listing titles and Spring error bodies "dd-MM-yyyy HH:mm:ss", and the daily quotas
 * reset at midnight in Bucharest. Everything here is computed from an epoch in ms (the
 * sandbox's injected clock), never from the process clock.
 */

import { romanianParts } from '../../lib/anaf/romanian-time';

// The sandbox counts its daily quotas by the same Romanian day as the product.
export { romanianDay, romanianParts } from '../../lib/anaf/romanian-time';

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
