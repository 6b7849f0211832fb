import { parseAnafMinute } from '../lib/anaf/romanian-time';

/**
 * The rules of a UIT's life that workflows need too (so: no XML parser here, workflow-safe):
 * the operations, how long a UIT stays valid, and who is expected to confirm it.
 */

export type OperationKind = 'NOTIFICATION' | 'CORRECTION' | 'DELETION' | 'CONFIRMATION' | 'VEHICLE_CHANGE';
export const FOLLOW_UP_KINDS: readonly OperationKind[] = ['CORRECTION', 'DELETION', 'CONFIRMATION', 'VEHICLE_CHANGE'];

/** Goods entering Romania from the EU: the Romanian recipient is expected to confirm their arrival. */
const CONFIRMED_BY_RECIPIENT = new Set(['10', '12', '14']);
/** Intra-community movements keep their UIT longer than national ones. */
const LONG_VALIDITY = new Set(['10', '12', '14', '20', '22', '24']);
export const UIT_VALIDITY_DAYS = { intraCommunity: 15, national: 5 } as const;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function confirmationExpected(operationType: string | undefined): boolean {
  return operationType !== undefined && CONFIRMED_BY_RECIPIENT.has(operationType);
}

export function uitValidityDays(operationType: string | undefined): number {
  return operationType !== undefined && LONG_VALIDITY.has(operationType) ? UIT_VALIDITY_DAYS.intraCommunity : UIT_VALIDITY_DAYS.national;
}

/**
 * From when the UIT counts as expired (ANAF's `data_exp_uit`): midnight in Bucharest,
 * `uitValidityDays` after the declared transport date.
 */
export function uitExpiresAt(transportDate: string, operationType: string | undefined): number {
  const m = ISO_DATE.exec(transportDate);
  if (!m) throw new Error(`not a date: ${transportDate}`);
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + uitValidityDays(operationType)));
  return parseAnafMinute(`${day.toISOString().slice(0, 10).replace(/-/g, '')}0000`)!;
}
