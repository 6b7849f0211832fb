import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import { LISTING_MAX_DAYS, lastDaysWindow } from './listing-window';

/**
 * Where the inbox sync's window starts on each ANAF environment. ANAF's /test and /prod are two inboxes:
 * a cursor carried from one to the other would skip every message the other holds from before it (the
 * usual test-to-prod onboarding), so each environment resumes its own cursor and one never listed looks
 * back as a first sync does. The listing activity decides, since the environment is resolved there.
 */

/** Epoch ms where each environment's next inbox window starts; an environment absent was never listed. */
export type InboxCursors = Partial<Record<AnafApiEnvironment, number>>;

/**
 * What the previous sync left (its result): `cursors` since syncs kept one per environment; before, a bare
 * `cursor` of the environment it names, or of the global default when it names none.
 */
export interface PreviousInboxSync {
  cursor?: number;
  anafEnvironment?: AnafApiEnvironment;
  cursors?: InboxCursors;
}

/**
 * The previous sync's cursors by environment. Behind a proxy base URL there is one environment, whatever
 * the label: the latest cursor is the listed environment's.
 */
export function previousInboxCursors(
  previous: PreviousInboxSync | undefined,
  defaultEnv: AnafApiEnvironment,
  listed: AnafApiEnvironment,
  oneEnvironment: boolean,
): InboxCursors {
  const cursors: InboxCursors =
    previous?.cursors ?? (previous?.cursor !== undefined ? { [previous.anafEnvironment ?? defaultEnv]: previous.cursor } : {});
  if (!oneEnvironment) return { ...cursors };
  const known = Object.values(cursors).filter((c): c is number => typeof c === 'number');
  return known.length ? { [listed]: Math.max(...known) } : {};
}

/** Where the inbox window on an environment starts: its cursor, else the first sync's lookback; inside ANAF's 60 days, before `endTime`. */
export function inboxWindowStart(cursor: number | undefined, lookbackMs: number, endTime: number, now: number): number {
  const earliest = lastDaysWindow(LISTING_MAX_DAYS, now).startTime;
  return Math.min(Math.max(earliest, cursor ?? endTime - lookbackMs), endTime - 1_000);
}
